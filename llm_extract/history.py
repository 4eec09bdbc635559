"""Year over year for a unit with reports from several years: what an auditor asks first.

- Recurring problems: a problem of year N+1 whose wording is close to a problem of year N.
- Follow-ups: each measure a unit announced in year N against its achievements of year N+1 —
  evidenced (an achievement says it was done, cited) or not evidenced.

Reports are grouped by the unit name they state (whitespace ignored); a unit with one year has no
history. Years compare with the closest earlier year the digest holds, so a gap is shown, not
bridged silently. Wording is compared with the digest's weighted character bigrams over the
unit's own items, so phrases every report of that unit repeats count little.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Iterable, Optional

from pydantic import BaseModel, Field, computed_field

from .similarity import BigramWeights, bigrams

if TYPE_CHECKING:
    from .digest import Entry

#: Wording overlap (0..1) at which a problem counts as last year's problem again.
RECUR_MIN = 0.2
#: Wording overlap at which an achievement counts as evidence that last year's measure was done.
EVIDENCE_MIN = 0.25


class Recurrence(BaseModel):
    problem_id: str = Field(description="This year's problem.")
    earlier_id: str = Field(description="The closest problem of the earlier year.")
    score: float


class FollowUp(BaseModel):
    measure_id: str = Field(description="A measure announced in the earlier year.")
    evidence_id: Optional[str] = Field(None, description="This year's achievement that reports it done.")
    score: float = 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def evidenced(self) -> bool:
        return self.evidence_id is not None


class YearStep(BaseModel):
    """One unit from an earlier year to the next year it has a report for."""

    year: int
    earlier_year: int
    doc_ids: list[str]
    earlier_doc_ids: list[str]
    recurring: list[Recurrence] = Field(default_factory=list)
    follow_ups: list[FollowUp] = Field(default_factory=list)


class UnitHistory(BaseModel):
    unit: str
    years: list[int]
    steps: list[YearStep] = Field(default_factory=list)


def unit_key(unit: Optional[str]) -> str:
    return "".join((unit or "").split())


def year_over_year(problems: Iterable["Entry"], measures: Iterable["Entry"],
                   achievements: Iterable["Entry"]) -> list[UnitHistory]:
    """One history per unit that has reports for two or more years, units in name order."""
    by_unit: dict[str, dict[int, dict[str, list]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    names: dict[str, str] = {}
    for kind, entries in (("problem", problems), ("measure", measures), ("achievement", achievements)):
        for e in entries:
            key = unit_key(e.unit)
            if key and e.year is not None:
                by_unit[key][e.year][kind].append(e)
                names.setdefault(key, e.unit or key)
    out = []
    for key in sorted(by_unit):
        years = sorted(by_unit[key])
        if len(years) < 2:
            continue
        per_year = by_unit[key]
        everything = [e for y in years for group in per_year[y].values() for e in group]
        grams = {e.id: bigrams(e.key) for e in everything}
        weights = _Compare(BigramWeights(grams.values()), grams)
        hist = UnitHistory(unit=names[key], years=years)
        for earlier, year in zip(years, years[1:]):
            before, now = per_year[earlier], per_year[year]
            hist.steps.append(YearStep(
                year=year, earlier_year=earlier,
                doc_ids=_docs(now), earlier_doc_ids=_docs(before),
                recurring=_recurring(now["problem"], before["problem"], weights),
                follow_ups=_follow_ups(before["measure"], now["achievement"], weights),
            ))
        out.append(hist)
    return out


def _docs(groups: dict[str, list]) -> list[str]:
    return sorted({e.doc_id for g in groups.values() for e in g})


class _Compare:
    """Wording similarity of a unit's items, each item's bigrams and their weight computed once."""

    def __init__(self, weights: BigramWeights, grams: dict[str, set[str]]):
        self.weights, self.grams = weights, grams
        self.totals = {i: weights.total(g) for i, g in grams.items()}

    def __call__(self, a: "Entry", b: "Entry") -> float:
        return self.weights.similarity(self.grams[a.id], self.grams[b.id], self.totals[a.id], self.totals[b.id])


def _best(item: "Entry", candidates: list["Entry"], similarity: "_Compare") -> tuple[Optional["Entry"], float]:
    best, score = None, 0.0
    for c in candidates:
        s = similarity(item, c)
        if s > score:
            best, score = c, s
    return best, score


def _recurring(now: list["Entry"], before: list["Entry"], weights: "_Compare") -> list[Recurrence]:
    out = []
    for p in now:
        earlier, score = _best(p, before, weights)
        if earlier is not None and score >= RECUR_MIN:
            out.append(Recurrence(problem_id=p.id, earlier_id=earlier.id, score=round(score, 3)))
    return out


def _follow_ups(measures: list["Entry"], achievements: list["Entry"], weights: "_Compare") -> list[FollowUp]:
    out = []
    for m in measures:
        evidence, score = _best(m, achievements, weights)
        found = evidence is not None and score >= EVIDENCE_MIN
        out.append(FollowUp(measure_id=m.id, evidence_id=evidence.id if found else None, score=round(score, 3)))
    return out

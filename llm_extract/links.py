"""Problem → measure links inside one report: document structure first, then theme and wording.

A reader pairs a problem with its measure by where the two stand before what they say: the remedy
half of a 偏差原因 cell sits right after its shortfall half, a 整改措施 follows its 问题 in the
same (sub)section, a measure repeats the words of the problem it answers. Keyword themes and
wording overlap only fill in where the layout is silent (a 存在的问题 list far from its 下一步
打算 list). Every link records why it was made (`reason`, strongest first in REASONS), so a
reader can tell a structural pairing from a topical guess.

Links never cross reports, and a report's links depend only on that report (wording weights are
computed over its own items), so adding a report to a digest never changes another's links.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Optional, Sequence, Union

from .headings import split_title
from .similarity import BigramWeights, bigrams, match_key

if TYPE_CHECKING:
    from .digest import Entry
    from .models import Report
    from .themes import Taxonomy

LinkReason = Literal["same_cell", "follows", "same_section", "names", "theme+wording", "theme", "wording"]
#: Strongest first; a pair found by several rules keeps the first.
REASONS: tuple[LinkReason, ...] = ("same_cell", "follows", "same_section", "names", "theme+wording", "theme",
                                    "wording")
STRUCTURAL: frozenset[str] = frozenset({"same_cell", "follows", "same_section", "names"})

#: A remedy starting at most this many characters after its shortfall ends (one "；" or "，") is the
#: second half of the same cell or sentence.
CELL_GAP = 2
#: A measure "names" a problem when it repeats this many characters of its wording in a row
#: (figures folded), or this share of the problem's title phrase when the title is long enough.
NAME_CHARS_ANYWHERE = 10
NAME_TITLE_SHARE = 0.7
NAME_TITLE_MIN = 5
#: Characters of unextracted text allowed between a problem and the measures that follow it.
FOLLOW_GAP = 40
#: Wording overlap (0..1) needed with a shared secondary theme / with no theme at all.
WORDING_WITH_THEME = 0.15
WORDING_ALONE = 0.3

_SENTENCE_END = ("。", "！", "？", "!", "?")
_STRUCTURE_SCORE = {"same_cell": 1.0, "follows": 0.95, "same_section": 0.9, "names": 0.85}


@dataclass(frozen=True)
class Link:
    """Measure `measure` (index into the measures) addresses problem `problem` (index), because `reason`."""

    problem: int
    measure: int
    reason: LinkReason
    score: float


def link_items(problems: Sequence[Linkable], measures: Sequence[Linkable], fallback: str) -> list[Link]:
    """Every (problem, measure) pair of one report that is linked, with its strongest reason."""
    if not problems or not measures:
        return []
    found: dict[tuple[int, int], tuple[LinkReason, float]] = {}

    def add(i: int, j: int, reason: LinkReason, score: float) -> None:
        if (i, j) not in found:
            found[(i, j)] = (reason, score)

    for i, j in _headed_by(problems, measures):
        add(i, j, "same_section", _STRUCTURE_SCORE["same_section"])
    for i, j in _same_cell(problems, measures):
        add(i, j, "same_cell", _STRUCTURE_SCORE["same_cell"])
    for i, j in _follows(problems, measures):
        add(i, j, "follows", _STRUCTURE_SCORE["follows"])
    for i, j in _names(problems, measures):
        add(i, j, "names", _STRUCTURE_SCORE["names"])
    structured = {i for i, _ in found}
    placed = {j for _, j in found}
    by_problem: dict[int, list[tuple[int, LinkReason, float]]] = {}
    for i, j, reason, score in _topical(problems, measures, fallback):
        if reason == "theme" and j in placed:
            continue  # the layout already says which problem this measure answers
        by_problem.setdefault(i, []).append((j, reason, score))
    for i, cands in by_problem.items():
        worded = [c for c in cands if c[1] != "theme"]
        if worded or i in structured:
            keep = worded  # a bare theme match only speaks where nothing better does
        else:
            best = max(score for _, _, score in cands)
            keep = [c for c in cands if c[2] >= best - 1e-9]
        for j, reason, score in keep:
            add(i, j, reason, score)
    links = [Link(i, j, reason, round(score, 3)) for (i, j), (reason, score) in found.items()]
    return sorted(links, key=lambda l: (l.problem, REASONS.index(l.reason), -l.score, l.measure))


@dataclass
class ThemedItem:
    """A report item with its themes: what `report_links` links when there is no digest (the
    digest links its own Entry objects, which read the same way)."""

    text: str
    section: str
    start: Optional[int]
    end: Optional[int]
    theme: str
    themes: list[str]

    @property
    def key(self) -> str:
        return match_key(self.text)


#: What linking reads of a problem or measure: text, section, start, end, theme(s) and key.
Linkable = Union["Entry", ThemedItem]


def report_links(report: "Report", taxonomy: "Taxonomy") -> list[Link]:
    """The links the digest makes for this report's problems and measures (indices into
    report.problems / report.measures), themes from the result file or the keyword rules."""
    from .themes import item_themes

    def themed(items) -> list[ThemedItem]:
        out = []
        for it in items:
            text = it.text or it.quote
            themes, _ = item_themes(text, it.theme, taxonomy)
            out.append(ThemedItem(text, it.section, it.start, it.end, themes[0], themes))
        return out

    return link_items(themed(report.problems), themed(report.measures), taxonomy.fallback.id)


def theme_affinity(problem: Linkable, measure: Linkable, fallback: str) -> float:
    """How strongly the themes say a measure addresses a problem.

    1.0 same primary theme; 0.75 the measure's primary theme is among the problem's first three
    (long problems name several topics) or the problem's among the measure's first two — both link
    on themes alone; 0.5 they share a secondary theme (needs similar wording too); 0 otherwise.
    """
    if problem.theme == fallback and measure.theme == fallback:
        return 0.0
    if problem.theme == measure.theme:
        return 1.0
    if (measure.theme != fallback and measure.theme in problem.themes[:3]) or (
            problem.theme != fallback and problem.theme in measure.themes[:2]):
        return 0.75
    if (set(problem.themes[:2]) & set(measure.themes[:2])) - {fallback}:
        return 0.5
    return 0.0


# --------------------------------------------------------------------------- structure


def _placed(x: Linkable) -> bool:
    return x.start is not None and x.end is not None


def _same_cell(problems: Sequence[Linkable], measures: Sequence[Linkable]):
    """A remedy that starts where a shortfall ends, the shortfall cut mid-sentence (at "；" or "，",
    not after a full stop): the two halves of one 偏差原因 cell, or of one sentence."""
    ends = {p.end: i for i, p in enumerate(problems)
            if _placed(p) and not p.text.rstrip().endswith(_SENTENCE_END)}
    for j, m in enumerate(measures):
        if not _placed(m):
            continue
        for gap in range(CELL_GAP + 1):
            i = ends.get(m.start - gap)  # type: ignore[operator]
            if i is not None:
                yield i, j
                break


def _headed_by(problems: Sequence[Linkable], measures: Sequence[Linkable]):
    """A measure in the subsection whose heading is the problem itself (**（一）预算执行进度偏慢**
    … 措施：…)."""
    heads = {_heading_key(p.text): i for i, p in enumerate(problems) if len(_heading_key(p.text)) >= 4}
    if heads:
        for j, m in enumerate(measures):
            for part in m.section.split(" > ")[1:]:
                i = heads.get(_heading_key(part))
                if i is not None:
                    yield i, j


def _follows(problems: Sequence[Linkable], measures: Sequence[Linkable]):
    """In the problem's own (sub)section, the measures that come right after it, each within
    FOLLOW_GAP characters of the item before (问题：…措施：…); never after a run of problems listed
    together, which a later list of measures answers item by item. Items without a section path
    are left to the other rules."""
    sections: dict[str, list[tuple[int, int, str, int]]] = {}
    for i, p in enumerate(problems):
        if _placed(p) and p.section:
            sections.setdefault(p.section, []).append((p.start, p.end, "P", i))  # type: ignore[arg-type]
    for j, m in enumerate(measures):
        if _placed(m) and m.section in sections:
            sections[m.section].append((m.start, m.end, "M", j))  # type: ignore[arg-type]
    for seq in sections.values():
        seq.sort()
        run: list[int] = []
        prev_end = None
        after_measure = False
        for start, end, kind, k in seq:
            close = prev_end is not None and start - prev_end <= FOLLOW_GAP
            if kind == "P":
                run = run if (close and not after_measure) else []
                run.append(k)
                after_measure = False
            elif not close:
                run = []
            else:
                after_measure = True
                if len(run) == 1:
                    yield run[0], k
            prev_end = end


def _heading_key(text: str) -> str:
    return match_key(text.strip().strip("*#").strip())


def _names(problems: Sequence[Linkable], measures: Sequence[Linkable]):
    """A measure that repeats the problem's own title phrase (the words before its first 。/：), or
    NAME_CHARS_ANYWHERE characters of its wording in a row (compared as sets of character runs:
    a shared run of n characters is a shared n-gram)."""
    wants = []  # per problem: (its n-grams anywhere, title run length k, the title's k-grams)
    for p in problems:
        pk = p.key
        title = match_key(split_title(p.text.strip())[0])
        k = math.ceil(NAME_TITLE_SHARE * len(title))
        use_title = len(title) >= NAME_TITLE_MIN and title != pk
        wants.append((_grams(pk, NAME_CHARS_ANYWHERE), k, _grams(title, k) if use_title else set()))
    for j, m in enumerate(measures):
        mk = m.key
        cache: dict[int, set[str]] = {}

        def grams(n: int) -> set[str]:
            if n not in cache:
                cache[n] = _grams(mk, n)
            return cache[n]

        for i, (anywhere, k, title_grams) in enumerate(wants):
            if (anywhere and not anywhere.isdisjoint(grams(NAME_CHARS_ANYWHERE))) or (
                    title_grams and not title_grams.isdisjoint(grams(k))):
                yield i, j


def _grams(s: str, n: int) -> set[str]:
    return {s[i:i + n] for i in range(len(s) - n + 1)} if n > 0 and len(s) >= n else set()


# --------------------------------------------------------------------------- theme and wording


def _topical(problems: Sequence[Linkable], measures: Sequence[Linkable], fallback: str):
    weights = BigramWeights(bigrams(x.key) for x in (*problems, *measures))
    mgrams = [bigrams(m.key) for m in measures]
    mtotals = [weights.total(g) for g in mgrams]
    for i, p in enumerate(problems):
        pg = bigrams(p.key)
        ptotal = weights.total(pg)
        for j, (m, mg, mt) in enumerate(zip(measures, mgrams, mtotals)):
            affinity = theme_affinity(p, m, fallback)
            wording = weights.similarity(pg, mg, ptotal, mt)
            if affinity and wording >= WORDING_WITH_THEME:
                reason: LinkReason = "theme+wording"
            elif affinity >= 0.75:
                reason = "theme"
            elif wording >= WORDING_ALONE:
                reason = "wording"
            else:
                continue
            yield i, j, reason, 0.6 * affinity + 0.4 * wording

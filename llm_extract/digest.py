"""Cross-report digest: what goes wrong across units, in their own words, and what they plan about it.

`digest()` reads result files (or Report objects) one at a time, keeps only the compact rows a
digest needs, and returns a `Digest` — a pydantic model a notebook user can work with. It builds
and returns only; `render.write_digest` writes it as .md/.html/.xlsx/.csv/.json, so this module
never imports the renderers (they import it). Every problem and measure keeps its citation (doc,
section, quote, offsets) so each line of the digest can be checked against its source.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Literal, Optional, Sequence, Union

from pydantic import BaseModel, Field, PrivateAttr

from .history import UnitHistory, year_over_year
from .links import LinkReason, link_items
from .models import CATEGORIES, CATEGORY_TAG, Category, Indicator, Item, Report
from .results import Skipped, Source, iter_reports
from .similarity import fold_near_duplicates, match_key
from .themes import Taxonomy, Theme, item_themes, llm_summary, llm_themes, load_taxonomy

DIGEST_VERSION = 1
#: Card bullets are cut to this many characters (the full quote stays attached).
BULLET_CHARS = 60
#: Bullets per category on a report card: a card is one page, and memory stays flat per report
#: (every problem and measure is still in Digest.problems / Digest.measures).
CARD_BULLETS = 10
#: Problems sent to the model for one theme summary.
SUMMARY_MAX_PROBLEMS = 30


class DigestError(Exception):
    """Nothing to digest (empty folder, every file unusable, filters match nothing)."""


class DigestUsageError(DigestError):
    """A bad argument: unknown theme/category or output format."""


# --------------------------------------------------------------------------- data model


class Cited(BaseModel):
    """Something shown to a reader with its citation: the source's words and where they stand."""

    text: str
    quote: str
    section: str = ""
    start: Optional[int] = None
    end: Optional[int] = None


class MeasureLink(BaseModel):
    """A measure of the same report judged to address a problem, with why (see links.py). Held by
    id only: the measure itself is in Digest.measures once (`Digest.entry(measure_id)`), never
    copied into every problem it addresses."""

    measure_id: str
    score: float
    reason: LinkReason = Field(description="Why: same_cell, follows, same_section, names (structure), "
                               "theme+wording, theme, wording (topic).")


class Entry(Cited):
    """One item with its report, theme(s) and citation: a problem or measure (linked), or a goal or
    achievement (kept for the long export, `Digest.other_items`)."""

    id: str
    category: Category
    doc_id: str
    unit: Optional[str] = None
    year: Optional[int] = None
    theme: str
    themes: list[str] = Field(default_factory=list, description="Every matching theme, primary first.")
    theme_source: Literal["report", "keywords", "llm"] = "keywords"
    cluster: Optional[str] = Field(None, description="Problems: id of the near-duplicate cluster's first problem.")
    measures: list[MeasureLink] = Field(default_factory=list, description="Problems: measures addressing it.")
    problems: list[str] = Field(default_factory=list, description="Measures: ids of problems it addresses.")
    _key: str = PrivateAttr("")

    @property
    def key(self) -> str:
        """The text reduced for matching (computed once; see similarity.match_key)."""
        if not self._key:
            self._key = match_key(self.text)
        return self._key

    @property
    def addressed(self) -> bool:
        return bool(self.measures)

    @property
    def cite(self) -> str:
        where = f"{self.doc_id}" + (f" · {self.section}" if self.section else "")
        return where + (f" · {self.start}–{self.end}" if self.start is not None else "")


class Bullet(Cited):
    """A short line on a report card, linked to the quote it stands for."""

    id: str
    category: str


class IndicatorRow(Indicator):
    """An indicator row of the contract, with the report it came from and whether it missed."""

    doc_id: str
    unit: Optional[str] = None
    year: Optional[int] = None
    missed: bool = False
    missed_reason: str = ""


class ReportRow(BaseModel):
    """The overview line of one report."""

    doc_id: str
    source: str
    unit: Optional[str] = None
    year: Optional[int] = None
    self_score: Optional[float] = None
    grade: Optional[str] = None
    budget: Optional[float] = Field(None, description="Full-year budget as stated (usually 万元).")
    spent: Optional[float] = None
    execution_rate: Optional[float] = Field(None, description="Budget execution rate in percent.")
    counts: dict[str, int] = Field(default_factory=dict)
    indicators: int = 0
    missed_indicators: int = 0
    unaddressed_problems: int = 0
    backend: str = ""

    @property
    def label(self) -> str:
        return self.unit or self.doc_id

    @property
    def no_items(self) -> bool:
        """Nothing was extracted: flagged in the overview, since it usually means a bad input."""
        return not any(self.counts.values())


class Card(BaseModel):
    """One report on one page: figures, short bullets per category, indicators that missed."""

    report: ReportRow
    budget_lines: dict[str, Union[float, str]] = Field(default_factory=dict)
    bullets: dict[str, list[Bullet]] = Field(default_factory=dict, description=f"First {CARD_BULLETS} per category.")
    more: dict[str, int] = Field(default_factory=dict, description="Items per category not shown as bullets.")
    missed: list[IndicatorRow] = Field(default_factory=list)

    def add(self, category: str, bullets: list[Bullet]) -> None:
        self.bullets[category] = bullets[:CARD_BULLETS]
        self.more[category] = max(0, len(bullets) - CARD_BULLETS)


class Cluster(BaseModel):
    """Near-duplicate problems folded together; `id` is its first problem (the representative)."""

    id: str
    members: list[str]
    reports: int


class ThemeGroup(BaseModel):
    id: str
    name: str
    name_en: str = ""
    reports: int = 0
    problems: int = 0
    clusters: list[Cluster] = Field(default_factory=list)
    summary: Optional[str] = None
    summary_cites: list[str] = Field(default_factory=list, description="Problem ids the summary draws on.")


class Filters(BaseModel):
    year: Optional[int] = None
    unit: Optional[str] = None
    themes: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=lambda: list(CATEGORIES))


class SkippedFile(BaseModel):
    path: str
    reason: str


class Digest(BaseModel):
    """Everything a digest shows; renderers only format it."""

    digest_version: int = DIGEST_VERSION
    filters: Filters = Field(default_factory=Filters)
    theme_source: Literal["keywords", "llm"] = "keywords"
    taxonomy: list[Theme] = Field(default_factory=list)
    reports: list[ReportRow] = Field(default_factory=list)
    themes: list[ThemeGroup] = Field(default_factory=list)
    problems: list[Entry] = Field(default_factory=list)
    measures: list[Entry] = Field(default_factory=list)
    other_items: list[Entry] = Field(default_factory=list, description="Goals and achievements (the long export).")
    indicators: list[IndicatorRow] = Field(default_factory=list)
    cards: list[Card] = Field(default_factory=list)
    history: list[UnitHistory] = Field(default_factory=list, description="Year over year, per unit with several years.")
    skipped: list[SkippedFile] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    _index: dict[str, Entry] = PrivateAttr(default_factory=dict)

    def entry(self, entry_id: str) -> Entry:
        """A problem or measure by id (KeyError if the digest does not hold it)."""
        if entry_id not in self._index:
            self._index = {e.id: e for e in (*self.problems, *self.measures, *self.other_items)}
        return self._index[entry_id]

    def unaddressed(self) -> list[Entry]:
        """Problems no measure of their report is linked to, by structure, theme or wording
        (what auditors ask for)."""
        return [p for p in self.problems if not p.measures]

    def theme_only(self) -> list[Entry]:
        """Problems whose only links are bare theme matches, the weakest reason: on the labelled
        corpora most are right, but most problems a reader would call unaddressed are among them,
        so the digest lists them for checking beside the unaddressed ones."""
        return [p for p in self.problems if p.measures and all(l.reason == "theme" for l in p.measures)]

    def theme_name(self, theme_id: str) -> str:
        t = next((t for t in self.taxonomy if t.id == theme_id), None)
        return t.name if t else theme_id

    def shows(self, category: str) -> bool:
        return category in self.filters.categories


# --------------------------------------------------------------------------- building


def digest(
    paths_or_reports: Union[Source, Iterable[Source]],
    *,
    year: Optional[int] = None,
    unit: Optional[str] = None,
    theme: Union[str, Sequence[str], None] = None,
    category: Union[str, Sequence[str], None] = None,
    model: Any = None,
    taxonomy: Union[Taxonomy, str, Path, None] = None,
) -> Digest:
    """Build a digest from result folders/files or Report objects (write it with
    `render.write_digest(d, out)`).

    `model`: optional LangChain chat model (anything with `.with_structured_output(schema).invoke`)
    used to assign themes and write one grounded summary per theme; keyword rules otherwise.
    Raises DigestUsageError for bad arguments and DigestError when there is nothing to digest.
    """
    tax = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
    filters = Filters(
        year=year, unit=unit, themes=_resolve_themes(theme, tax), categories=_resolve_categories(category)
    )
    # an iterable is consumed lazily: one report in memory at a time
    inputs = [paths_or_reports] if isinstance(paths_or_reports, (str, Path, Report)) else paths_or_reports

    d = Digest(filters=filters, taxonomy=list(tax.themes))
    per_report: list[tuple[ReportRow, list[Entry], list[Entry]]] = []
    seen: set[str] = set()
    by_sha: dict[str, tuple[str, str]] = {}  # sha256 → (doc_id, source) of the first copy
    read = 0
    for rep in iter_reports(inputs):
        if isinstance(rep, Skipped):
            d.skipped.append(SkippedFile(path=rep.path, reason=rep.reason))
            continue
        read += 1
        if rep.doc_id in seen:
            d.warnings.append(f"doc_id '{rep.doc_id}' appears more than once; later copy skipped")
            continue
        seen.add(rep.doc_id)
        twin = by_sha.get(rep.sha256) if rep.sha256 else None
        if twin is not None:
            d.warnings.append(f"'{rep.doc_id}' ({rep.source}) is the same file as '{twin[0]}' ({twin[1]}) "
                              f"(same sha256); counted once, as '{twin[0]}'")
            continue
        if rep.sha256:
            by_sha[rep.sha256] = (rep.doc_id, rep.source)
        if not _keep_report(rep, filters):
            continue
        row, probs, meas, inds, card = _condense(rep, tax, filters)
        if row.no_items:
            d.warnings.append(f"'{rep.doc_id}' ({rep.source}) has no items at all: check the file "
                              "(a scan without text, a wrong document, or a failed extraction)")
        per_report.append((row, probs, meas))
        d.other_items.extend(
            _entry(rep, it, CATEGORY_TAG[cat], n, tax)
            for cat in ("goal", "achievement") if cat in filters.categories
            for n, it in enumerate(rep.items_of(cat), 1))
        d.indicators.extend(inds)
        d.cards.append(card)
    if not read:
        reasons = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in d.skipped) or "no inputs given"
        raise DigestError(f"no readable result files ({reasons})")
    if not per_report:
        raise DigestError(f"no report matches the filters ({_describe(filters)})")

    if model is not None:
        _llm_themes(per_report, model, tax, d)
    _link(per_report, tax.fallback.id)
    _apply_theme_filter(per_report, d, filters)
    for row, probs, meas in per_report:
        row.unaddressed_problems = sum(1 for p in probs if not p.measures)
        d.reports.append(row)
        d.problems.extend(probs)
        d.measures.extend(meas)
    _fill_card_items(d, per_report)
    if d.shows("problem") or d.shows("measure"):
        achievements = [e for e in d.other_items if e.category == "achievement"]
        # without achievements in the digest (--category) no measure could be evidenced: leave follow-ups out
        d.history = year_over_year(d.problems, d.measures if d.shows("achievement") else [], achievements)
    d.themes = _theme_groups(d.problems, tax)
    if model is not None:
        d.theme_source = "llm"
        _llm_summaries(d, model, tax)
    if not d.shows("problem"):
        d.problems, d.themes = [], []
    if not d.shows("measure"):
        d.measures = []
    return d


def _resolve_themes(theme: Union[str, Sequence[str], None], tax: Taxonomy) -> list[str]:
    names = [theme] if isinstance(theme, str) else list(theme or [])
    ids = []
    for n in names:
        t = tax.resolve(n)
        if t is None:
            raise DigestUsageError(f"unknown theme '{n}' (choose from: {', '.join(tax.ids)})")
        ids.append(t.id)
    return ids


def _resolve_categories(category: Union[str, Sequence[str], None]) -> list[str]:
    names = [category] if isinstance(category, str) else list(category or [])
    if not names:
        return list(CATEGORIES)
    out = []
    for n in names:
        c = n.strip().lower().rstrip("s")  # accept "problems" as well as "problem"
        c = {"achievment": "achievement"}.get(c, c)
        if c not in CATEGORIES:
            raise DigestUsageError(f"unknown category '{n}' (choose from: {', '.join(CATEGORIES)})")
        out.append(c)
    return [c for c in CATEGORIES if c in out]


def _describe(f: Filters) -> str:
    parts = [f"year={f.year}" if f.year is not None else "", f"unit={f.unit}" if f.unit else "",
             f"theme={','.join(f.themes)}" if f.themes else ""]
    return ", ".join(p for p in parts if p) or "none"


def _keep_report(rep: Report, f: Filters) -> bool:
    if f.year is not None and rep.meta.year != f.year:
        return False
    if f.unit:
        needle = f.unit.strip().lower()
        if needle not in (rep.meta.unit_name or "").lower() and needle not in rep.doc_id.lower():
            return False
    return True


def _condense(rep: Report, tax: Taxonomy, f: Filters):
    """Everything the digest keeps of one report, so the Report itself can be dropped."""
    meta = rep.meta
    budget, spent, rate = budget_figures(meta.budget)
    inds = [_indicator_row(rep, ind) for ind in rep.indicators]
    row = ReportRow(
        doc_id=rep.doc_id, source=rep.source, unit=meta.unit_name, year=meta.year,
        self_score=meta.self_score, grade=meta.grade, budget=budget, spent=spent, execution_rate=rate,
        counts=rep.counts(), indicators=len(inds), missed_indicators=sum(i.missed for i in inds),
        backend=rep.backend,
    )
    probs = [_entry(rep, it, CATEGORY_TAG["problem"], n, tax) for n, it in enumerate(rep.problems, 1)]
    meas = [_entry(rep, it, CATEGORY_TAG["measure"], n, tax) for n, it in enumerate(rep.measures, 1)]
    card = Card(report=row, budget_lines=dict(meta.budget), missed=[i for i in inds if i.missed])
    for cat in ("goal", "achievement"):
        tag = CATEGORY_TAG[cat]
        if cat in f.categories:
            card.add(cat, [_bullet(f"{rep.doc_id}/{tag}{n}", it) for n, it in enumerate(rep.items_of(cat)[:CARD_BULLETS], 1)])
            card.more[cat] = max(0, len(rep.items_of(cat)) - CARD_BULLETS)
    return row, probs, meas, inds, card


def _entry(rep: Report, it: Item, tag: str, n: int, tax: Taxonomy) -> Entry:
    themes, source = item_themes(it.text or it.quote, it.theme, tax)
    return Entry(
        id=f"{rep.doc_id}/{tag}{n}", category=it.category, doc_id=rep.doc_id, unit=rep.meta.unit_name,
        year=rep.meta.year, text=it.text or it.quote, quote=it.quote, section=it.section, start=it.start,
        end=it.end, theme=themes[0], themes=themes, theme_source=source,
    )


def _bullet(bid: str, it: Item | Entry) -> Bullet:
    return Bullet(id=bid, category=it.category, text=shorten(it.text or it.quote), quote=it.quote,
                  section=it.section, start=it.start, end=it.end)


def shorten(text: str, limit: int = BULLET_CHARS) -> str:
    """One line of at most `limit` characters, cut at a clause end when one is near."""
    t = " ".join(text.split())
    if len(t) <= limit:
        return t
    cut = max(t.rfind(p, 0, limit) for p in "。；;，,")
    return (t[: cut + 1] if cut >= limit // 2 else t[:limit]).rstrip("，,；;") + "…"


# --------------------------------------------------------------------------- figures


_NUM = re.compile(r"[-+]?\d+(?:,\d{3})*(?:\.\d+)?")


def to_number(value: Union[float, int, str, None]) -> Optional[float]:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    m = _NUM.search(str(value))
    return float(m.group().replace(",", "")) if m else None


def budget_figures(budget: dict[str, Union[float, str]]) -> tuple[Optional[float], Optional[float], Optional[float]]:
    """(full-year budget, amount spent, execution rate %) from a report's budget dict, whatever
    its keys are called (全年预算数 / 调整后预算数 / 年初预算数, 执行数 / 支出数, 执行率)."""

    def find(*preds) -> Optional[float]:
        for pred in preds:
            for k, v in budget.items():
                if pred(k):
                    n = to_number(v)
                    if n is not None:
                        return n
        return None

    rate_key = next((k for k in budget if "执行率" in k or "rate" in k.lower()), None)
    rate = to_number(budget[rate_key]) if rate_key else None
    if rate is not None and isinstance(budget[rate_key], (int, float)) and rate <= 1.0:
        rate *= 100  # stored as a fraction, not a percentage
    spent = find(lambda k: "执行数" in k or "支出数" in k or "决算数" in k or "spent" in k.lower())
    budget_total = find(
        lambda k: "全年预算" in k or "调整后预算" in k,
        lambda k: "预算" in k and "年初" not in k and "执行" not in k and "率" not in k,
        lambda k: "年初预算" in k,
        lambda k: k.lower() in ("budget", "total"),
    )
    if rate is None and spent is not None and budget_total:
        rate = round(spent / budget_total * 100, 2)
    return budget_total, spent, rate


_OPS = (
    (re.compile(r"≥|>=|＞=|不低于|不少于|至少|以上|及以上"), ">="),
    (re.compile(r"≤|<=|＜=|不高于|不超过|不多于|以下|以内|控制在"), "<="),
    (re.compile(r"＞|>|高于|超过"), ">"),
    (re.compile(r"＜|<|低于|少于"), "<"),
)
_SCALE = {"万": 1e4, "亿": 1e8, "千": 1e3}
_NOT_MET = re.compile(r"未完成|未达到|未达标|未实现|没有完成|未能完成|未能达到")


def _quantity(s: str) -> Optional[tuple[float, bool]]:
    """(value, is_percent) of the first figure in a cell, with 万/亿 applied."""
    m = re.search(r"([-+]?\d+(?:,\d{3})*(?:\.\d+)?)\s*([万亿千]?)\s*(%|％)?", s)
    if not m:
        return None
    v = float(m.group(1).replace(",", "")) * _SCALE.get(m.group(2), 1)
    return v, bool(m.group(3))


def missed_target(ind: Indicator) -> Optional[str]:
    """Why an indicator row missed its target, or None when it did not (or cannot be told)."""
    if _NOT_MET.search(ind.actual) or _NOT_MET.search(ind.note):
        return "stated as not met"
    t, a = _quantity(ind.target), _quantity(ind.actual)
    if t and a and t[1] == a[1]:
        op = next((o for rx, o in _OPS if rx.search(ind.target)), ">=" if t[1] else None)
        if op:
            tv, av = t[0], a[0]
            ok = {">=": av >= tv, "<=": av <= tv, ">": av > tv, "<": av < tv}[op]
            if not ok:
                return f"actual {ind.actual.strip()} vs target {ind.target.strip()}"
    w, s = to_number(ind.weight), to_number(ind.score)
    if w is not None and s is not None and s < w:
        return f"scored {ind.score.strip()} of {ind.weight.strip()}"
    return None


def _indicator_row(rep: Report, ind: Indicator) -> IndicatorRow:
    reason = missed_target(ind)
    return IndicatorRow(
        **ind.model_dump(include=set(Indicator.model_fields) - {"table", "start", "end"}),
        doc_id=rep.doc_id, unit=rep.meta.unit_name, year=rep.meta.year,
        missed=reason is not None, missed_reason=reason or "",
    )


# --------------------------------------------------------------------------- themes, links, clusters


def _llm_themes(per_report, model: Any, tax: Taxonomy, d: Digest) -> None:
    entries = [e for _, probs, meas in per_report for e in (*probs, *meas) if e.theme_source != "report"]
    answers, warnings = llm_themes([e.text for e in entries], model, tax)
    d.warnings.extend(warnings)
    for e, tid in zip(entries, answers):
        if tid is not None:
            e.themes = [tid, *[t for t in e.themes if t != tid and t != tax.fallback.id]]
            e.theme, e.theme_source = tid, "llm"


def _link(per_report, fallback: str) -> None:
    """Attach to each problem the measures of its own report that address it (links.link_items)."""
    for _, probs, meas in per_report:
        for l in link_items(probs, meas, fallback):
            p, m = probs[l.problem], meas[l.measure]
            p.measures.append(MeasureLink(measure_id=m.id, score=l.score, reason=l.reason))
            m.problems.append(p.id)


def _apply_theme_filter(per_report, d: Digest, f: Filters) -> None:
    if not f.themes:
        return
    wanted = set(f.themes)
    kept = []
    for row, probs, meas in per_report:
        probs = [p for p in probs if p.theme in wanted]
        linked = {l.measure_id for p in probs for l in p.measures}
        meas = [m for m in meas if m.id in linked or m.theme in wanted]
        if probs or meas:
            kept.append((row, probs, meas))
    keep_ids = {row.doc_id for row, _, _ in kept}
    per_report[:] = kept
    d.cards = [c for c in d.cards if c.report.doc_id in keep_ids]
    d.indicators = [i for i in d.indicators if i.doc_id in keep_ids]
    d.other_items = [e for e in d.other_items if e.doc_id in keep_ids]
    if not kept:
        raise DigestError(f"no report matches the filters ({_describe(f)})")


def _fill_card_items(d: Digest, per_report) -> None:
    by_doc = {row.doc_id: (probs, meas) for row, probs, meas in per_report}
    for card in d.cards:
        probs, meas = by_doc[card.report.doc_id]
        if d.shows("problem"):
            card.add("problem", [_bullet(p.id, p) for p in probs])
        if d.shows("measure"):
            card.add("measure", [_bullet(m.id, m) for m in meas])
        card.bullets = {c: card.bullets[c] for c in CATEGORIES if c in card.bullets}


def _theme_groups(problems: list[Entry], tax: Taxonomy) -> list[ThemeGroup]:
    """Problems grouped by primary theme, near-duplicates folded, most widespread first."""
    by_theme: dict[str, list[Entry]] = defaultdict(list)
    for p in problems:
        by_theme[p.theme].append(p)
    groups = []
    order = {tid: i for i, tid in enumerate(tax.ids)}
    for tid, items in by_theme.items():
        t = tax.get(tid)
        leaders = fold_near_duplicates([p.key for p in items])
        members: dict[int, list[Entry]] = defaultdict(list)
        for p, li in zip(items, leaders):
            p.cluster = items[li].id
            members[li].append(p)
        clusters = [
            Cluster(id=items[li].id, members=[m.id for m in ms], reports=len({m.doc_id for m in ms}))
            for li, ms in members.items()
        ]
        clusters.sort(key=lambda c: (-c.reports, -len(c.members)))
        groups.append(ThemeGroup(
            id=tid, name=t.name if t else tid, name_en=t.name_en if t else "",
            reports=len({p.doc_id for p in items}), problems=len(items), clusters=clusters,
        ))
    fb = tax.fallback.id
    groups.sort(key=lambda g: (g.id == fb, -g.reports, -g.problems, order.get(g.id, 99)))
    return groups


def _llm_summaries(d: Digest, model: Any, tax: Taxonomy) -> None:
    for g in d.themes:
        t = tax.get(g.id)
        if t is None:
            continue
        reps = [d.entry(c.id) for c in g.clusters[:SUMMARY_MAX_PROBLEMS]]
        text, cited, warning = llm_summary(t, [r.quote for r in reps], model)
        if warning:
            d.warnings.append(warning)
        if text:
            g.summary, g.summary_cites = text, [reps[i].id for i in cited]

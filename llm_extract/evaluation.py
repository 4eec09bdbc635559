"""Score predictions against gold exactly as LABELING.md "Scoring" defines; pure functions only.

Every number depends on these conventions, so they live here in one place:

- Only content characters count (``textview.is_content_char``: letters, digits, CJK — never
  whitespace or punctuation). Covered positions are *sets*, so overlapping quotes never count a
  character twice.
- Precision with no predictions is 0.0 when there is gold; recall with no gold is 0.0 when there are
  predictions; F1 is then 0.0. When both sides are empty there is nothing to score: P, R and F1 are
  ``None`` and the category (or indicator set, or meta) is left out of every average.
- An item with no content characters (a quote of punctuation only) is left out of item scoring.
- A predicted item whose quote cannot be placed in the text (offsets invalid and the quote not found,
  even ignoring whitespace and punctuation width) adds its content characters to the predicted
  total, all wrong, and counts as one incorrect predicted item.
- Meta: unit_name, year, self_score and execution_rate are compared over the fields the gold
  states; a trailing 分 or % is ignored and values that read as numbers are compared as numbers.
- Indicator rows are compared on (name, target, actual) as multisets, each cell with all whitespace
  removed (a cell of a Chinese table wraps at arbitrary points; a space there carries no meaning).
- Links (problem → measure) are scored on the predicted items: a predicted item stands for every
  gold item of its category with which it shares at least half of either side's content
  characters; a predicted link is right when one of the gold pairs it stands for is a gold link,
  and a gold link is found when some predicted link stands for it. Only gold that states `links`
  is scored (an empty list states that nothing is addressed).
- Unaddressed problems (no link of any kind) are scored like a list: a listed problem is right when
  every gold problem it stands for is unaddressed in the gold; a gold one is found when listed.
- Themes are scored on the gold problems' own quotes (the theme rules, not the extraction): the
  share whose primary theme equals the labelled one, and the share that fell to the fallback.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from statistics import fmean
from typing import Any, Optional

from pydantic import BaseModel, Field, computed_field

from .models import CATEGORIES, Indicator, Meta, Report
from .textview import is_content_char, make_view, normalize

#: Compared when the gold states them (a gold file without execution_rate scores as before).
META_FIELDS: tuple[str, ...] = ("unit_name", "year", "self_score", "execution_rate")


# ---------------------------------------------------------------------------------------------
# result models


def _ratio(num: int, den: int, other_side: int) -> Optional[float]:
    if den:
        return num / den
    return 0.0 if other_side else None


class Counts(BaseModel):
    """Gold vs. predicted units (characters, items or rows) and how many of each were right."""

    gold: int = 0
    pred: int = 0
    gold_found: int = Field(0, description="Gold units matched by the prediction (recall numerator).")
    pred_correct: int = Field(0, description="Predicted units that are right (precision numerator).")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def precision(self) -> Optional[float]:
        return _ratio(self.pred_correct, self.pred, self.gold)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def recall(self) -> Optional[float]:
        return _ratio(self.gold_found, self.gold, self.pred)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def f1(self) -> Optional[float]:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(
            gold=self.gold + other.gold,
            pred=self.pred + other.pred,
            gold_found=self.gold_found + other.gold_found,
            pred_correct=self.pred_correct + other.pred_correct,
        )


class CategoryScore(BaseModel):
    span: Counts = Field(default_factory=Counts, description="Content characters.")
    items: Counts = Field(default_factory=Counts, description="Items, by the half-coverage rule.")

    def __add__(self, other: "CategoryScore") -> "CategoryScore":
        return CategoryScore(span=self.span + other.span, items=self.items + other.items)


class MetaField(BaseModel):
    field: str
    gold: Any = None
    pred: Any = None
    correct: bool = False


class MetaScore(BaseModel):
    fields: list[MetaField] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def correct(self) -> int:
        return sum(f.correct for f in self.fields)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> int:
        return len(self.fields)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def accuracy(self) -> Optional[float]:
        return self.correct / self.total if self.total else None


def _macro(values: Iterable[Optional[float]]) -> Optional[float]:
    vals = [v for v in values if v is not None]
    return fmean(vals) if vals else None


class _Macro(BaseModel):
    """Macro averages over `categories` (a document's own, or the set's pooled ones); categories
    with nothing to score on either side are left out."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def macro_span_f1(self) -> Optional[float]:
        return _macro(c.span.f1 for c in self.categories.values())  # type: ignore[attr-defined]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def macro_item_f1(self) -> Optional[float]:
        return _macro(c.items.f1 for c in self.categories.values())  # type: ignore[attr-defined]


class ThemeCounts(BaseModel):
    """Gold problems with a labelled theme, how many got that theme, how many fell to the fallback."""

    total: int = 0
    correct: int = 0
    other: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def accuracy(self) -> Optional[float]:
        return self.correct / self.total if self.total else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def other_share(self) -> Optional[float]:
        return self.other / self.total if self.total else None

    def __add__(self, other: "ThemeCounts") -> "ThemeCounts":
        return ThemeCounts(total=self.total + other.total, correct=self.correct + other.correct,
                           other=self.other + other.other)


class DocScore(_Macro):
    doc_id: str
    categories: dict[str, CategoryScore] = Field(default_factory=dict)
    meta: MetaScore = Field(default_factory=MetaScore)
    indicators: Counts = Field(default_factory=Counts)
    links: Optional[Counts] = Field(None, description="Problem→measure links; None when the gold states none.")
    unaddressed: Optional[Counts] = Field(None, description="Problems listed as unaddressed vs the gold's.")
    themes: Optional[ThemeCounts] = Field(None, description="Problem themes; None when the gold labels none.")
    unlocated: int = Field(0, description="Predicted items whose quote could not be placed in the text.")
    missing_prediction: bool = False
    warnings: list[str] = Field(default_factory=list)


class RunInfo(BaseModel):
    """Where a result came from, so two JSON results can be told apart when compared."""

    model_config = {"extra": "allow"}

    gold: Optional[str] = None
    reports: Optional[str] = None
    pred: Optional[str] = None
    suite: Optional[str] = None
    backend: Optional[str] = None
    model: Optional[str] = None
    prompt_version: Optional[str] = None
    #: What the predictions cost, summed over their `stats` (None for a run without any): so two
    #: runs — e.g. the quote and the cite answer format on one model — compare on price as well.
    #: Calls served from the response cache cost no tokens.
    prompt_tokens: Optional[int] = None
    completion_tokens: Optional[int] = None
    cost: Optional[float] = None


class MetaSummary(BaseModel):
    correct: int = 0
    total: int = 0
    accuracy: Optional[float] = None
    by_field: dict[str, Optional[float]] = Field(default_factory=dict)


class EvalResult(_Macro):
    """A scored gold set. Pooled figures are computed from `docs`, so a loaded result stays consistent."""

    run: RunInfo = Field(default_factory=RunInfo)
    docs: list[DocScore] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list, description="Inputs that failed (named, with reason).")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def categories(self) -> dict[str, CategoryScore]:
        """Per category, characters and items pooled over all documents (micro)."""
        out = {c: CategoryScore() for c in CATEGORIES}
        for d in self.docs:
            for c, s in d.categories.items():
                out[c] = out[c] + s
        return out


    @computed_field  # type: ignore[prop-decorator]
    @property
    def meta(self) -> MetaSummary:
        fields = [f for d in self.docs for f in d.meta.fields]
        by_field: dict[str, Optional[float]] = {}
        for name in META_FIELDS:
            mine = [f.correct for f in fields if f.field == name]
            by_field[name] = sum(mine) / len(mine) if mine else None
        correct = sum(f.correct for f in fields)
        return MetaSummary(
            correct=correct,
            total=len(fields),
            accuracy=correct / len(fields) if fields else None,
            by_field=by_field,
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def indicators(self) -> Counts:
        total = Counts()
        for d in self.docs:
            total = total + d.indicators
        return total

    @computed_field  # type: ignore[prop-decorator]
    @property
    def links(self) -> Counts:
        total = Counts()
        for d in self.docs:
            if d.links is not None:
                total = total + d.links
        return total

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unaddressed(self) -> Counts:
        total = Counts()
        for d in self.docs:
            if d.unaddressed is not None:
                total = total + d.unaddressed
        return total

    @computed_field  # type: ignore[prop-decorator]
    @property
    def themes(self) -> ThemeCounts:
        total = ThemeCounts()
        for d in self.docs:
            if d.themes is not None:
                total = total + d.themes
        return total


# ---------------------------------------------------------------------------------------------
# spans


class Span(BaseModel):
    """One item placed in Document.text; start/end None when a predicted quote could not be placed."""

    category: str
    start: Optional[int] = None
    end: Optional[int] = None
    quote: str = ""

    @property
    def located(self) -> bool:
        return self.start is not None and self.end is not None


def content_mask(text: str) -> bytes:
    """1 at every content-character offset of `text`, else 0."""
    return bytes(1 if is_content_char(ch) else 0 for ch in text)


def content_count(s: str) -> int:
    return sum(1 for ch in s if is_content_char(ch))


def _positions(mask: bytes, start: int, end: int) -> frozenset[int]:
    start, end = max(0, start), min(len(mask), end)
    return frozenset(i for i in range(start, end) if mask[i])


def score_spans(text: str, gold: Sequence[Span], pred: Sequence[Span]) -> dict[str, CategoryScore]:
    """Span and item counts per category; categories with nothing on either side are omitted."""
    mask = content_mask(text)
    out: dict[str, CategoryScore] = {}
    for cat in CATEGORIES:
        g_sets = [_positions(mask, s.start, s.end) for s in gold if s.category == cat and s.located]
        p_mine = [s for s in pred if s.category == cat]
        p_sets = [_positions(mask, s.start, s.end) for s in p_mine if s.located]  # type: ignore[arg-type]
        unplaced = [content_count(s.quote) for s in p_mine if not s.located]
        g_all: frozenset[int] = frozenset().union(*g_sets)
        p_all: frozenset[int] = frozenset().union(*p_sets)
        overlap = len(g_all & p_all)
        span = Counts(gold=len(g_all), pred=len(p_all) + sum(unplaced), gold_found=overlap, pred_correct=overlap)
        g_sets = [g for g in g_sets if g]
        p_sets = [p for p in p_sets if p]
        items = Counts(
            gold=len(g_sets),
            pred=len(p_sets) + sum(1 for n in unplaced if n),
            gold_found=sum(1 for g in g_sets if 2 * len(g & p_all) >= len(g)),
            pred_correct=sum(1 for p in p_sets if 2 * len(p & g_all) >= len(p)),
        )
        if span.gold or span.pred or items.gold or items.pred:
            out[cat] = CategoryScore(span=span, items=items)
    return out


def locate_quote(text: str, quote: str, view=None) -> Optional[tuple[int, int]]:
    """[start, end) of `quote` in `text`: verbatim first, then ignoring whitespace and punctuation width."""
    if not quote:
        return None
    i = text.find(quote)
    if i >= 0:
        return i, i + len(quote)
    nq = normalize(quote)
    if not nq:
        return None
    view = view or make_view(text)
    j = view.text.find(nq)
    if j < 0:
        return None
    return view.span(j, j + len(nq))


def prediction_spans(report: Report, text: str) -> list[Span]:
    """The report's items placed in `text`: their own offsets when they match, else the quote located."""
    spans: list[Span] = []
    view = None
    for cat in CATEGORIES:
        for it in report.items_of(cat):
            s, e = it.start, it.end
            if s is not None and e is not None and 0 <= s < e <= len(text) and text[s:e] == it.quote:
                spans.append(Span(category=cat, start=s, end=e, quote=it.quote))
                continue
            if view is None:
                view = make_view(text)
            loc = locate_quote(text, it.quote, view)
            if loc is None:
                spans.append(Span(category=cat, quote=it.quote))
            else:
                spans.append(Span(category=cat, start=loc[0], end=loc[1], quote=it.quote))
    return spans


# ---------------------------------------------------------------------------------------------
# meta and indicators


def _meta_value(v: Any) -> Any:
    """Comparable form: numbers as float, strings trimmed with a trailing 分 or % dropped."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    s = str(v).strip()
    if s.endswith(("分", "%", "％")):
        s = s[:-1].strip()
    try:
        return float(s)
    except ValueError:
        return s


def score_meta(gold: Mapping[str, Any], pred: Meta | Mapping[str, Any] | None) -> MetaScore:
    """Exact comparison of META_FIELDS, over the fields the gold states."""
    if isinstance(pred, Meta):
        pred = pred.model_dump()
    pred = pred or {}
    fields = []
    for name in META_FIELDS:
        g = gold.get(name)
        if g is None or (isinstance(g, str) and not g.strip()):
            continue
        p = pred.get(name)
        fields.append(MetaField(field=name, gold=g, pred=p, correct=p is not None and _meta_value(g) == _meta_value(p)))
    return MetaScore(fields=fields)


def _cell(s: Any) -> str:
    return "".join(str(s or "").split())


def indicator_key(row: Indicator | Mapping[str, Any]) -> tuple[str, str, str]:
    get = row.get if isinstance(row, Mapping) else lambda k: getattr(row, k, "")
    return _cell(get("name")), _cell(get("target")), _cell(get("actual"))


def score_indicators(
    gold: Iterable[Indicator | Mapping[str, Any]], pred: Iterable[Indicator | Mapping[str, Any]]
) -> Counts:
    """Rows matched on (name, target, actual) as multisets; rows empty in all three are ignored."""
    g = Counter(k for k in map(indicator_key, gold) if any(k))
    p = Counter(k for k in map(indicator_key, pred) if any(k))
    matched = sum((g & p).values())
    return Counts(gold=sum(g.values()), pred=sum(p.values()), gold_found=matched, pred_correct=matched)


# ---------------------------------------------------------------------------------------------
# links and themes


def gold_items_of(text: str, gold: Sequence[Span], pred: Sequence[Span]) -> list[set[int]]:
    """For each predicted span, the indices of the gold spans of its category it stands for: those
    sharing at least half of the gold's or of the prediction's content characters."""
    mask = content_mask(text)
    g_sets = [_positions(mask, g.start, g.end) if g.located else frozenset() for g in gold]  # type: ignore[arg-type]
    out: list[set[int]] = []
    for p in pred:
        mine: set[int] = set()
        if p.located:
            ps = _positions(mask, p.start, p.end)  # type: ignore[arg-type]
            for k, (g, gs) in enumerate(zip(gold, g_sets)):
                shared = len(ps & gs)
                if g.category == p.category and shared and (2 * shared >= len(gs) or 2 * shared >= len(ps)):
                    mine.add(k)
        out.append(mine)
    return out


def score_links(
    text: str,
    gold: Sequence[Span],
    gold_links: set[tuple[int, int]],
    pred_problems: Sequence[Span],
    pred_measures: Sequence[Span],
    pred_links: Iterable[tuple[int, int]],
) -> Counts:
    """Link counts: `gold_links` index `gold`; `pred_links` index (pred_problems, pred_measures)."""
    gp = gold_items_of(text, gold, pred_problems)
    gm = gold_items_of(text, gold, pred_measures)
    found: set[tuple[int, int]] = set()
    pred = correct = 0
    for i, j in pred_links:
        pred += 1
        hits = {(a, b) for a in gp[i] for b in gm[j]} & gold_links
        correct += bool(hits)
        found |= hits
    return Counts(gold=len(gold_links), pred=pred, gold_found=len(found), pred_correct=correct)


def score_unaddressed(
    text: str,
    gold: Sequence[Span],
    gold_links: set[tuple[int, int]],
    pred_problems: Sequence[Span],
    pred_links: Iterable[tuple[int, int]],
) -> Counts:
    """The digest's list of unaddressed problems (no link of any kind) against the gold's: a listed
    problem is right when every gold problem it stands for (at least one) has no gold link; a gold
    unaddressed problem is found when a listed problem stands for it."""
    linked_gold = {a for a, _ in gold_links}
    gold_un = {k for k, g in enumerate(gold) if g.category == "problem" and k not in linked_gold}
    linked_pred = {i for i, _ in pred_links}
    gp = gold_items_of(text, gold, pred_problems)
    listed = [gp[i] for i in range(len(pred_problems)) if i not in linked_pred]
    return Counts(gold=len(gold_un), pred=len(listed), pred_correct=sum(1 for g in listed if g and g <= gold_un),
                  gold_found=len(gold_un & set().union(*listed)) if listed else 0)


def score_themes(gold: Mapping[int, str], pred: Mapping[int, str], fallback: str) -> ThemeCounts:
    """Labelled theme vs the theme rules' primary theme, per gold problem index."""
    return ThemeCounts(
        total=len(gold),
        correct=sum(1 for i, t in gold.items() if pred.get(i) == t),
        other=sum(1 for i in gold if pred.get(i) == fallback),
    )


# ---------------------------------------------------------------------------------------------
# documents and sets


def score_document(
    doc_id: str,
    text: str,
    gold_spans: Sequence[Span],
    gold_meta: Mapping[str, Any],
    gold_indicators: Sequence[Indicator],
    pred: Report | None,
) -> DocScore:
    """Score one document; `pred` None means no prediction exists (scored as empty)."""
    warnings: list[str] = []
    if pred is None:
        pred_spans: list[Span] = []
        meta = score_meta(gold_meta, None)
        indicators = score_indicators(gold_indicators, [])
    else:
        pred_spans = prediction_spans(pred, text)
        meta = score_meta(gold_meta, pred.meta)
        indicators = score_indicators(gold_indicators, pred.indicators)
    unlocated = sum(1 for s in pred_spans if not s.located)
    if unlocated:
        warnings.append(f"{unlocated} predicted quote(s) not found in the document (counted as wrong)")
    return DocScore(
        doc_id=doc_id,
        categories=score_spans(text, gold_spans, pred_spans),
        meta=meta,
        indicators=indicators,
        unlocated=unlocated,
        missing_prediction=pred is None,
        warnings=warnings,
    )


#: Suite thresholds beyond span F1: floors, except `max_theme_other`, a ceiling.
LINK_THEME_THRESHOLDS = ("link_precision", "link_recall", "theme_accuracy", "max_theme_other")


def check_thresholds(
    result: EvalResult, min_f1: Optional[float] = None, min_category: Mapping[str, float] | None = None,
    limits: Mapping[str, float] | None = None,
) -> list[str]:
    """Plain-language failures of the headline and per-category span F1 floors and of the link and
    theme limits (LINK_THEME_THRESHOLDS) (empty = all met)."""
    fails = []
    got_by_name = {"link_precision": result.links.precision, "link_recall": result.links.recall,
                   "theme_accuracy": result.themes.accuracy, "max_theme_other": result.themes.other_share}
    for name, limit in (limits or {}).items():
        got = got_by_name[name]
        if name == "max_theme_other":
            if got is None or got > limit:
                fails.append(f"theme share in the fallback {_fmt(got)} is above {limit:.3f}")
        elif got is None or got < limit:
            fails.append(f"{name.replace('_', ' ')} {_fmt(got)} is below {limit:.3f}")
    if min_f1 is not None:
        got = result.macro_span_f1
        if got is None or got < min_f1:
            fails.append(f"macro span F1 {_fmt(got)} is below {min_f1:.3f}")
    cats = result.categories
    for cat, floor in (min_category or {}).items():
        got = cats[cat].span.f1
        if got is None or got < floor:
            fails.append(f"{cat} span F1 {_fmt(got)} is below {floor:.3f}")
    return fails


def _fmt(v: Optional[float]) -> str:
    return "n/a" if v is None else f"{v:.3f}"


# ---------------------------------------------------------------------------------------------
# comparing two runs


class DeltaRow(BaseModel):
    metric: str
    a: Optional[float] = None
    b: Optional[float] = None
    #: a count or an amount (tokens, cost), where less is better, not a score
    spend: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def delta(self) -> Optional[float]:
        return None if self.a is None or self.b is None else self.b - self.a


def compare(a: EvalResult, b: EvalResult) -> list[DeltaRow]:
    """Headline, per-category, meta, indicator and per-document figures of run A next to run B."""
    rows = [
        DeltaRow(metric="macro span F1", a=a.macro_span_f1, b=b.macro_span_f1),
        DeltaRow(metric="macro item F1", a=a.macro_item_f1, b=b.macro_item_f1),
    ]
    ca, cb = a.categories, b.categories
    for cat in CATEGORIES:
        rows.append(DeltaRow(metric=f"{cat} span F1", a=ca[cat].span.f1, b=cb[cat].span.f1))
        rows.append(DeltaRow(metric=f"{cat} item F1", a=ca[cat].items.f1, b=cb[cat].items.f1))
    rows.append(DeltaRow(metric="meta accuracy", a=a.meta.accuracy, b=b.meta.accuracy))
    rows.append(DeltaRow(metric="indicator F1", a=a.indicators.f1, b=b.indicators.f1))
    rows.append(DeltaRow(metric="link precision", a=a.links.precision, b=b.links.precision))
    rows.append(DeltaRow(metric="link recall", a=a.links.recall, b=b.links.recall))
    rows.append(DeltaRow(metric="theme accuracy", a=a.themes.accuracy, b=b.themes.accuracy))
    for name in ("prompt_tokens", "completion_tokens", "cost"):
        va, vb = getattr(a.run, name), getattr(b.run, name)
        if va is not None or vb is not None:
            rows.append(DeltaRow(metric=name.replace("_", " "), a=va, b=vb, spend=True))
    da = {d.doc_id: d for d in a.docs}
    for d in b.docs:
        if d.doc_id in da:
            rows.append(DeltaRow(metric=f"{d.doc_id} macro span F1", a=da[d.doc_id].macro_span_f1, b=d.macro_span_f1))
    return rows

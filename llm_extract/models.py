"""The JSON output contract (DESIGN.md) as pydantic models: the single source of truth.

Everything that crosses a module boundary (backend output, a written report, a gold file, an eval
result) is one of these models, so `llm-extract schema` can print exactly what a user gets.
"""

from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

SCHEMA_VERSION = 1

from .categories import CATEGORIES, CATEGORY_FIELD, CATEGORY_TAG, Category  # noqa: F401 - re-exported: the contract

#: How a quote was placed in the source: verbatim, after folding whitespace/punctuation width,
#: by fuzzy alignment, or not at all (only kept with --keep-ungrounded).
Alignment = Literal["exact", "normalized", "fuzzy", "none"]


class Item(BaseModel):
    """One extracted goal/achievement/problem/measure, grounded so text[start:end] == quote."""

    model_config = ConfigDict(extra="allow")

    category: Category
    text: str = Field(description="Short human-readable form of the item (quote without markers, trimmed).")
    quote: str = Field(description="The source's own characters: Document.text[start:end].")
    start: Optional[int] = None
    end: Optional[int] = None
    section: str = Field("", description="Heading path, ' > '-joined.")
    alignment: Alignment = "exact"
    confidence: Optional[float] = None
    theme: Optional[str] = None
    pass_: Optional[int] = Field(None, alias="pass", serialization_alias="pass")


class Indicator(BaseModel):
    """One row of a 绩效指标 table; cells trimmed, merged cells carried down."""

    model_config = ConfigDict(extra="allow")

    level1: str = ""
    level2: str = ""
    name: str = ""
    target: str = ""
    actual: str = ""
    weight: str = ""
    score: str = ""
    note: str = ""
    table: Optional[str] = Field(None, description="Title of the table the row came from, if known.")
    start: Optional[int] = Field(None, description="Offset of the row's first cell in Document.text.")
    end: Optional[int] = None


class Meta(BaseModel):
    """What the report states about itself; fields it does not state stay null."""

    model_config = ConfigDict(extra="allow")

    unit_name: Optional[str] = None
    year: Optional[int] = None
    report_date: Optional[str] = None
    self_score: Optional[float] = None
    grade: Optional[str] = None
    execution_rate: Optional[float] = Field(
        None, description="The department's total budget execution rate in % (never a sub-rate such as 基本支出's)."
    )
    budget: dict[str, Union[float, str]] = Field(
        default_factory=dict, description="Budget figures by the report's own labels; amounts in 万元, 单位 says so."
    )


class Stats(BaseModel):
    model_config = ConfigDict(extra="allow")

    chars: int = 0
    chunks: int = 0
    llm_calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = Field(0, description="Of prompt_tokens, those the provider served from its prefix cache.")
    completion_tokens: int = 0
    cost: float = 0.0
    seconds: float = 0.0
    ungrounded_dropped: int = 0


class Report(BaseModel):
    """One document's extraction result, written to <out>/<doc_id>.json."""

    model_config = ConfigDict(extra="allow")

    schema_version: int = SCHEMA_VERSION
    doc_id: str
    source: str
    sha256: str
    backend: str
    model: Optional[str] = None
    prompt_version: Optional[str] = None
    meta: Meta = Field(default_factory=Meta)
    goals: list[Item] = Field(default_factory=list)
    achievements: list[Item] = Field(default_factory=list)
    problems: list[Item] = Field(default_factory=list)
    measures: list[Item] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)
    ungrounded: list[Item] = Field(
        default_factory=list, description="Items whose quote could not be aligned (kept only on request)."
    )
    stats: Stats = Field(default_factory=Stats)

    def items(self) -> list[Item]:
        """All grounded items of the four categories, in document order."""
        out = [*self.goals, *self.achievements, *self.problems, *self.measures]
        return sorted(out, key=lambda it: (it.start if it.start is not None else -1, it.category))

    def items_of(self, category: str) -> list[Item]:
        return getattr(self, CATEGORY_FIELD[category])

    def counts(self) -> dict[str, int]:
        return {c: len(self.items_of(c)) for c in CATEGORIES}

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, by_alias=True, exclude_none=False)

    def to_json_bytes(self) -> bytes:
        """The same JSON as UTF-8 bytes, straight from the serializer (what the batch writes:
        skipping the str round trip saves a third of the serialisation time)."""
        return _REPORT_JSON.dump_json(self, indent=2, by_alias=True, exclude_none=False)


_REPORT_JSON: TypeAdapter[Report] = TypeAdapter(Report)


def build_report_items(items: list[Item]) -> dict[str, list[Item]]:
    """Split a flat item list into the Report's per-category fields, each in document order."""
    out: dict[str, list[Item]] = {f: [] for f in CATEGORY_FIELD.values()}
    for it in sorted(items, key=lambda i: (i.start if i.start is not None else -1, i.end or 0)):
        out[CATEGORY_FIELD[it.category]].append(it)
    return out


class GoldItem(BaseModel):
    category: Category
    quote: str


class GoldDoc(BaseModel):
    """A hand-labelled fixture (LABELING.md's gold format)."""

    model_config = ConfigDict(extra="allow")

    doc_id: str
    meta: dict = Field(default_factory=dict)
    items: list[GoldItem] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)
    links: list[tuple[Union[int, str], Union[int, str]]] = Field(
        default_factory=list, description="(problem, measure) pairs where the measure addresses the problem; each "
        "side a 1-based item number or the start of that item's quote.")
    themes: dict[str, str] = Field(
        default_factory=dict, description="1-based item number of each problem → its theme id (themes.toml).")

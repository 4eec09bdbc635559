"""The four item categories, declared once: id, Report field, item-id letter, Chinese and English
label, the names a model may use for it, and its colours. Models, the LLM output schema, the
prompts' examples, rendering and the CLI all read this table, so a category is added or renamed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Category = Literal["goal", "achievement", "problem", "measure"]


@dataclass(frozen=True)
class CategoryInfo:
    id: str
    field: str  # Report field holding its items
    tag: str  # letter in item ids ("P3" = a report's third problem), cited by the digest, anchored by the viewer
    zh: str
    en: str
    short: str  # column head in the extract summary table
    aliases: tuple[str, ...]  # other names a model answers with (Chinese heading words)
    fill: str  # highlight tint (colour-blind-safe Okabe–Ito), digest and viewer
    border: str

    @property
    def label(self) -> str:
        return f"{self.zh} {self.en}"


CATEGORY_INFO: tuple[CategoryInfo, ...] = (
    CategoryInfo("goal", "goals", "G", "目标", "Goals", "goals", ("目标", "绩效目标"), "#cfe3f7", "#0072b2"),
    CategoryInfo("achievement", "achievements", "A", "成效", "Achievements", "achv.",
                 ("成效", "成绩", "完成情况", "成果"), "#cdeccd", "#009e73"),
    CategoryInfo("problem", "problems", "P", "问题", "Problems", "probs", ("问题", "存在问题"), "#f9d3c4", "#d55e00"),
    CategoryInfo("measure", "measures", "M", "措施", "Measures", "meas.", ("措施", "改进措施"), "#f3e3a6", "#b08900"),
)
CATEGORIES: tuple[Category, ...] = tuple(c.id for c in CATEGORY_INFO)  # type: ignore[assignment]
assert CATEGORIES == get_args(Category), "Category and CATEGORY_INFO list different categories"

CATEGORY_BY_ID: dict[str, CategoryInfo] = {c.id: c for c in CATEGORY_INFO}
#: Report field holding each category's items.
CATEGORY_FIELD: dict[str, str] = {c.id: c.field for c in CATEGORY_INFO}
#: Letter of each category in item ids: the digest cites items by these ids and the viewer anchors
#: each item at "item-<id>", so a citation can link to its place.
CATEGORY_TAG: dict[str, str] = {c.id: c.tag for c in CATEGORY_INFO}
CATEGORY_NAMES: dict[str, str] = {c.id: c.label for c in CATEGORY_INFO}
CATEGORY_COLORS: dict[str, str] = {c.id: c.fill for c in CATEGORY_INFO}
CATEGORY_BORDERS: dict[str, str] = {c.id: c.border for c in CATEGORY_INFO}
#: Every name a model may give a category (lower-cased): id, plural field, Chinese aliases.
CATEGORY_ALIASES: dict[str, str] = {
    name: c.id for c in CATEGORY_INFO for name in (c.id, c.field, *c.aliases)
}
#: A section kind named after a category's field ("problems") → the category.
KIND_CATEGORY: dict[str, str] = {c.field: c.id for c in CATEGORY_INFO}

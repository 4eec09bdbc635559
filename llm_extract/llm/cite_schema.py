"""What a model returns in the citing answer format: per item, a category and the first and last
segment number of its text — never the text itself.

Numbers cost one or two completion tokens where a copied quote costs dozens, and a range maps to
source offsets exactly (llm/segments.py). Validation is as lenient as the quote schema about
harmless drift (a bare list, Chinese category names, "[12]"/"S12" strings for numbers, a missing
`last` for a one-segment item) and strict about the rest, so an answer that ignores the schema
fails and is re-asked.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .schema import AnswerCategory

_NUMBER = re.compile(r"^\s*[\[［(（]?\s*[Ss]?\s*(\d+)\s*[\]］)）]?\s*$")


class CitedItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    category: AnswerCategory
    first: int = Field(description="Number of the item's first segment, as shown in [n] before it.")
    last: int = Field(description="Number of the item's last segment (equal to first for one segment).")

    @model_validator(mode="before")
    @classmethod
    def _one_segment(cls, v: Any) -> Any:
        if isinstance(v, dict) and "last" not in v and "first" in v:
            return {**v, "last": v["first"]}
        return v

    @field_validator("first", "last", mode="before")
    @classmethod
    def _number(cls, v: Any) -> Any:
        if isinstance(v, str):
            m = _NUMBER.match(v)
            if m:
                return int(m.group(1))
        return v

    @property
    def quote(self) -> str:
        """What stands in for the quote of an item whose range cannot be resolved: it names the
        citation and matches no source text, so grounding reports it instead of guessing."""
        return f"⟦cited segments {self.first}–{self.last} (not in the excerpt)⟧"


class CitedExtraction(BaseModel):
    """Items found in one numbered report excerpt, in reading order, as segment ranges."""

    model_config = ConfigDict(extra="ignore")

    #: The shape, for the re-ask message after an answer failed validation.
    SHAPE: ClassVar[str] = '{"items": [{"category": "goal|achievement|problem|measure", "first": <n>, "last": <n>}]}'

    items: list[CitedItem] = Field(description="Every goal, achievement, problem and measure in the excerpt.")

    @model_validator(mode="before")
    @classmethod
    def _shapes(cls, v: Any) -> Any:
        if isinstance(v, list):
            return {"items": v}
        return v

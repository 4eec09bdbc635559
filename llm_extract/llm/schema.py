"""What a model must return for one excerpt: a list of (category, quote) — nothing else.

The structured-output schema is deliberately tiny: offsets, sections and display text are ours to
compute (grounding), never the model's to invent. Validation is lenient about harmless drift
(a bare list, Chinese category names, per-category lists) and strict about the rest, so an answer
that ignores the schema — e.g. after a prompt injection — fails and is re-asked, never passed on.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ..categories import CATEGORIES, CATEGORY_ALIASES as _CATEGORY_ALIASES, Category


def _alias(v: Any) -> Any:
    """A category as models write it ("Problem", "问题", " measure ") → its id."""
    if isinstance(v, str):
        return _CATEGORY_ALIASES.get(v.strip().lower(), v.strip().lower())
    return v


#: The category field of every answer format (quote and cite): aliases folded before validation.
AnswerCategory = Annotated[Category, BeforeValidator(_alias), Field(description=" | ".join(CATEGORIES))]


class ExtractedItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    category: AnswerCategory
    quote: str = Field(min_length=1, description="The item's text copied verbatim from the excerpt.")

    @field_validator("quote")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("quote is blank")
        return v


class Extraction(BaseModel):
    """Items found in one report excerpt, in reading order."""

    model_config = ConfigDict(extra="ignore")

    items: list[ExtractedItem] = Field(description="Every goal, achievement, problem and measure in the excerpt.")

    @model_validator(mode="before")
    @classmethod
    def _shapes(cls, v: Any) -> Any:
        if isinstance(v, list):
            return {"items": v}
        if isinstance(v, dict) and "items" not in v and v:
            # {"problems": ["…"], "measures": [...]} — per-category lists of quotes
            items = []
            for k, vals in v.items():
                cat = _CATEGORY_ALIASES.get(str(k).strip().lower())
                if cat is None or not isinstance(vals, list):
                    return v  # unknown shape: let validation fail
                for q in vals:
                    items.append({"category": cat, "quote": q} if isinstance(q, str) else q)
            return {"items": items}
        return v

"""Cost of tokens per model: a shipped price table (llm_extract/data/prices.json) plus overrides.

Prices change and differ by region, so the table is data, not code, and every lookup can be
overridden from the settings. A model not in the table costs None ("unknown"), never a guess.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Mapping, Optional

if TYPE_CHECKING:
    from .settings import LLMSettings


@dataclass(frozen=True)
class Price:
    """What a provider bills, so `stats.cost` and `estimate` match the invoice: prompt tokens its
    prefix cache served cost `cached_input`, and a Batch API bills every token times `batch`."""

    input: float  # USD per 1M prompt tokens
    output: float  # USD per 1M completion tokens
    cached_input: Optional[float] = None  # USD per 1M cached prompt tokens; None: billed as input
    batch: Optional[float] = None  # Batch API factor (0.5 = half price); None: no Batch API

    def cost(self, prompt_tokens: int, completion_tokens: int, *, cached_tokens: int = 0,
             batch: bool = False) -> float:
        """USD for one run. `prompt_tokens` includes the `cached_tokens` (as providers report it)."""
        cached = min(max(cached_tokens, 0), prompt_tokens)
        cached_rate = self.input if self.cached_input is None else self.cached_input
        usd = ((prompt_tokens - cached) * self.input + cached * cached_rate
               + completion_tokens * self.output) / 1_000_000
        return usd * (self.batch if batch and self.batch is not None else 1.0)


def _price(row: Mapping) -> Price:
    opt = lambda k: None if row.get(k) is None else float(row[k])  # noqa: E731
    return Price(float(row["input"]), float(row["output"]), opt("cached_input"), opt("batch"))


@lru_cache(maxsize=1)
def price_table() -> dict[str, Price]:
    raw = json.loads((resources.files("llm_extract") / "data" / "prices.json").read_text(encoding="utf-8"))
    return {k: _price(v) for k, v in raw["models"].items()}


def lookup(model: str, table: Mapping[str, Price] | None = None) -> Optional[Price]:
    """Exact name, then the longest table key the name starts with; provider prefixes
    ("openai/gpt-4o") are ignored."""
    table = price_table() if table is None else table
    for name in (model, model.split("/")[-1]):
        if name in table:
            return table[name]
    name = model.split("/")[-1]
    best = max((k for k in table if name.startswith(k)), key=len, default=None)
    return table[best] if best else None


def price_for(settings: "LLMSettings") -> Optional[Price]:
    """The price a run with these settings pays: flags win, then config rows, then the table."""
    table = dict(price_table())
    table.update({k: Price(v.input, v.output, v.cached_input, v.batch) for k, v in settings.prices.items()})
    base = lookup(settings.model, table)
    if settings.price_input is None and settings.price_output is None:
        return base
    # an overridden input price keeps the table's cached/batch discounts only when input is unchanged
    keep = base is not None and settings.price_input is None
    return Price(
        settings.price_input if settings.price_input is not None else (base.input if base else 0.0),
        settings.price_output if settings.price_output is not None else (base.output if base else 0.0),
        base.cached_input if keep else None,
        base.batch if base is not None else None,
    )

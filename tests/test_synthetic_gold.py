"""Synthetic gold: every quote is verbatim in the text its variant loads to, in document order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_extract.loaders import SUFFIXES, load
from llm_extract.models import CATEGORIES, GoldDoc
from llm_extract.textview import make_view

FIX = Path(__file__).resolve().parent.parent / "fixtures"
SYN = FIX / "synthetic"
GOLD = FIX / "synthetic_gold"

GOLD_FILES = sorted(GOLD.glob("*.json"))
REPORTS = {p.stem: p for p in SYN.iterdir() if p.suffix.lower() in SUFFIXES}


def test_every_synthetic_report_has_exactly_one_gold_file():
    assert GOLD_FILES, "no synthetic gold found"
    assert sorted(REPORTS) == sorted(p.stem for p in GOLD_FILES)
    assert len(REPORTS) == len(list(p for p in SYN.iterdir() if p.suffix.lower() in SUFFIXES))  # unique stems


def _gold(path: Path) -> GoldDoc:
    return GoldDoc.model_validate(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("gold_path", GOLD_FILES, ids=lambda p: p.stem)
def test_gold_quotes_are_verbatim_in_order_and_disjoint(gold_path):
    gold = _gold(gold_path)
    assert gold.doc_id == gold_path.stem
    text = load(REPORTS[gold.doc_id]).text
    pos = 0
    for n, item in enumerate(gold.items, 1):
        assert item.quote.strip() == item.quote, f"item {n} has untrimmed whitespace"
        i = text.find(item.quote, pos)
        assert i >= 0, f"{gold.doc_id} item {n} ({item.category}) not found after offset {pos}: {item.quote[:30]!r}"
        pos = i + len(item.quote)


@pytest.mark.parametrize("gold_path", GOLD_FILES, ids=lambda p: p.stem)
def test_gold_meta_and_categories(gold_path):
    gold = _gold(gold_path)
    assert {"unit_name", "year", "self_score", "grade"} <= set(gold.meta)
    text = load(REPORTS[gold.doc_id]).text
    assert gold.meta["unit_name"] in text
    assert {it.category for it in gold.items} <= set(CATEGORIES)
    for row in gold.indicators:
        assert row.name and row.name in text


BASES = {"qingshan_2023": ["_gbk", "_utf16", "_pdfwrap", "_pdf"], "yunxi_2024": ["_docx"]}


@pytest.mark.parametrize(
    "base, variant", [(b, b + v) for b, vs in BASES.items() for v in vs], ids=lambda s: s
)
def test_variant_gold_covers_the_same_characters_as_its_base(base, variant):
    """A variant's gold is its base gold moved onto another rendering: same items, same content."""
    g0, g1 = _gold(GOLD / f"{base}.json"), _gold(GOLD / f"{variant}.json")
    assert [i.category for i in g1.items] == [i.category for i in g0.items]
    assert [make_view(i.quote).text for i in g1.items] == [make_view(i.quote).text for i in g0.items]
    assert g1.meta == g0.meta
    assert g1.indicators == g0.indicators


def test_pdfwrap_gold_quotes_cross_wrap_points():
    gold = _gold(GOLD / "qingshan_2023_pdfwrap.json")
    assert sum("\n\n" in it.quote for it in gold.items) >= len(gold.items) // 2

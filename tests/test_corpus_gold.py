"""The generality corpora (fixtures/generality, tuned on; fixtures/heldout, kept out of tuning) are
usable gold: one gold file per report, every quote verbatim, trimmed, in order and disjoint in the
text the loader produces, the meta fields docs/labeling.md names, and a second annotator's notes."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_extract.gold import gold_files, load_gold_file, report_index
from llm_extract.loaders import SUFFIXES, load
from llm_extract.models import CATEGORIES

ROOT = Path(__file__).resolve().parent.parent
CORPORA = {name: ROOT / "fixtures" / name for name in ("generality", "heldout")}
GUIDE = (ROOT / "docs" / "labeling.md").read_text(encoding="utf-8")
REQUIRED_META = {"unit_name", "year", "self_score", "grade"}

CASES = [(name, p) for name, root in CORPORA.items() for p in gold_files(root / "gold")]


def test_corpora_are_big_enough_and_keep_a_held_out_part():
    assert len(CASES) >= 8, "the generality corpus needs at least 8 labelled reports"
    assert len(gold_files(CORPORA["heldout"] / "gold")) >= 3, "keep at least 3 reports out of tuning"


@pytest.mark.parametrize("name", CORPORA)
def test_every_report_has_exactly_one_gold_file(name):
    root = CORPORA[name]
    reports = [p for p in (root / "reports").iterdir() if p.suffix.lower() in SUFFIXES]
    assert sorted(p.stem for p in reports) == sorted(p.stem for p in gold_files(root / "gold"))
    assert len({p.stem for p in reports}) == len(reports)


@pytest.mark.parametrize("name, path", CASES, ids=lambda v: v.stem if isinstance(v, Path) else v)
def test_gold_is_verbatim_trimmed_in_order_and_disjoint(name, path):
    gold = load_gold_file(path)
    text = load(report_index(CORPORA[name] / "reports")[gold.doc_id]).text
    assert {it.category for it in gold.items} == set(CATEGORIES), "every report states all four categories"
    pos = 0
    for n, item in enumerate(gold.items, 1):
        assert item.quote == item.quote.strip(), f"item {n} has untrimmed whitespace"
        i = text.find(item.quote, pos)
        assert i >= 0, f"{gold.doc_id} item {n} ({item.category}) not found after offset {pos}: {item.quote[:30]!r}"
        pos = i + len(item.quote)
    for row in gold.indicators:  # a wrapped cell is split by its neighbours' cells: check its head
        assert row.name and row.name[:4] in text, row.name


@pytest.mark.parametrize("name, path", CASES, ids=lambda v: v.stem if isinstance(v, Path) else v)
def test_gold_meta_is_what_the_guide_defines(name, path):
    gold = load_gold_file(path)
    text = load(report_index(CORPORA[name] / "reports")[gold.doc_id]).text
    assert REQUIRED_META <= set(gold.meta)
    assert gold.meta["unit_name"] in text
    undocumented = [k for k in gold.meta if f"`{k}`" not in GUIDE]
    assert not undocumented, f"meta fields not defined in docs/labeling.md: {undocumented}"


@pytest.mark.parametrize("name, path", CASES, ids=lambda v: v.stem if isinstance(v, Path) else v)
def test_every_gold_file_has_annotation_notes(name, path):
    notes = CORPORA[name] / "annotation" / f"{path.stem}.md"
    assert notes.is_file(), f"{notes.relative_to(ROOT)} is missing"
    assert "second annotator" in notes.read_text(encoding="utf-8").lower(), "no second annotator's review recorded"

"""Gold fixtures are usable: they parse, every quote is verbatim in its report, in document order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_extract.gold import GoldError, gold_files, load_gold_dir, load_gold_file, locate_gold, report_index
from llm_extract.loaders import load
from llm_extract.models import GoldDoc, GoldItem

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "fixtures" / "gold"
REPORTS = ROOT / "fixtures" / "reports"
CORPUS = ("lianjiang_2024", "yiyang_2024", "yueyanglou_2024")


@pytest.mark.parametrize("doc_id", CORPUS)
def test_corpus_report_has_gold(doc_id):
    assert (GOLD / f"{doc_id}.json").is_file(), f"fixtures/gold/{doc_id}.json is missing"


@pytest.mark.parametrize("path", gold_files(GOLD), ids=lambda p: p.stem)
def test_gold_file_is_verbatim_and_in_order(path: Path):
    gold = load_gold_file(path)
    assert gold.doc_id == path.stem
    report = report_index(REPORTS).get(gold.doc_id)
    assert report is not None, f"no fixtures/reports/{gold.doc_id}.* for {path.name}"
    text = load(report).text
    assert gold.items, f"{path.name} has no items"
    spans = locate_gold(gold, text)  # raises GoldError naming every non-verbatim quote
    assert all(text[s.start:s.end] == s.quote for s in spans)
    starts = [s.start for s in spans]
    out_of_order = [i + 2 for i in range(len(starts) - 1) if starts[i + 1] < starts[i]]
    assert not out_of_order, f"{path.name}: items {out_of_order} come before the item preceding them"


def test_gold_dir_loads_as_golddocs():
    docs = load_gold_dir(GOLD)
    assert all(isinstance(d, GoldDoc) for d in docs)
    assert len(docs) == len(gold_files(GOLD))


# ---------------------------------------------------------------------------------------------
# how quotes are placed and how labelling errors read


def gdoc(*quotes: str, doc_id: str = "d") -> GoldDoc:
    return GoldDoc(doc_id=doc_id, items=[GoldItem(category="problem", quote=q) for q in quotes])


def test_repeated_quote_lands_on_its_next_occurrence():
    text = "一是加强管理。二是完善制度。三是加强管理。"
    spans = locate_gold(gdoc("一是加强管理。", "加强管理。"), text)
    assert spans[1].start == text.rindex("加强管理。")


def test_out_of_order_quote_falls_back_to_first_occurrence():
    text = "甲乙。丙丁。"
    spans = locate_gold(gdoc("丙丁。", "甲乙。"), text)
    assert (spans[0].start, spans[1].start) == (3, 0)


def test_quote_not_in_report_is_a_clear_labelling_error():
    text = "（1）信息化建设滞后，资源利用率低。\n（2）村医老龄化。"
    with pytest.raises(GoldError) as e:
        locate_gold(gdoc("（1）信息化建设滞后,资源利用率低。", "（2）村医老龄化。", "（3）没有这句。", doc_id="x"),
                    text)
    msg = str(e.value)
    assert msg.startswith("x: 2 gold quote(s) not found")
    assert "item 1 (problem)" in msg and "item 3 (problem)" in msg and "item 2" not in msg
    assert "punctuation width" in msg  # item 1 differs only in a half-width comma


def test_bad_gold_files_are_named(tmp_path: Path):
    (tmp_path / "a.json").write_text(json.dumps({"doc_id": "b", "items": []}), encoding="utf-8")
    with pytest.raises(GoldError, match="a.json: doc_id 'b' does not match"):
        load_gold_file(tmp_path / "a.json")
    (tmp_path / "c.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "d.json").write_text(json.dumps({"doc_id": "d", "items": [{"category": "risk", "quote": "x"}]}),
                                     encoding="utf-8")
    with pytest.raises(GoldError) as e:
        load_gold_dir(tmp_path)
    assert "a.json" in str(e.value) and "c.json" in str(e.value) and "d.json: not a gold document" in str(e.value)

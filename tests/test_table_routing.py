"""Self-evaluation tables the layout reader understands are read by it, not sent to a model."""

from __future__ import annotations

import asyncio
from pathlib import Path

from llm_extract.backends.openai_backend import OpenAIBackend
from llm_extract.backends.rules import RulesBackend
from llm_extract.llm.chunking import chunk_document, layout_read_tables
from llm_extract.loaders import load
from llm_extract.pipeline import aextract_document
from llm_extract.llm.settings import LLMSettings
from llm_extract.structure import analyze
from mock_openai_server import MockOpenAIServer, excerpt_of

ROOT = Path(__file__).resolve().parent.parent
TABLE_REPORT = ROOT / "fixtures" / "reports" / "yueyanglou_2024.txt"  # the Word export with tables
PROSE_REPORT = ROOT / "fixtures" / "reports" / "lianjiang_2024.txt"


def test_layout_read_tables_are_left_out_of_chunks_only_when_routing():
    doc = load(TABLE_REPORT)
    st = analyze(doc)
    tables = layout_read_tables(st)
    assert tables, "the goal and indicator tables are recognised by their header labels"
    routed = chunk_document(doc.text, st, route="relevant")
    for b in tables:
        assert not any(s < b.end and b.start < e for c in routed for s, e in c.parts)
    everything = chunk_document(doc.text, st, route="all")
    assert layout_read_tables(st, route="all") == []
    for b in tables:
        assert any(c.start < b.end and b.start < c.end for c in everything)
    assert layout_read_tables(analyze(load(PROSE_REPORT))) == []


def _table_only_cells(text: str, blocks) -> list[str]:
    """Longer cell texts of these tables that appear nowhere else in the report."""
    return [c.text for b in blocks for r in b.table.rows for c in r.cells
            if len(c.text) >= 12 and "\n" not in c.text and text.count(c.text) == 1]


def _run(settings_kw: dict, path: Path):
    doc = load(path)
    with MockOpenAIServer() as srv:  # answers every chunk with no items
        b = OpenAIBackend.from_settings(LLMSettings(base_url=srv.base_url, api_key="k", no_cache=True, **settings_kw))

        async def main():
            try:
                return await aextract_document(doc, b)
            finally:
                await b.aclose()

        rep = asyncio.run(main())
        sent = "\n".join(excerpt_of(r["body"]) or "" for r in srv.chat_requests)  # the report text sent
    return doc, rep, sent


def test_a_model_backend_reports_table_items_it_never_sent():
    doc, rep, sent = _run({}, TABLE_REPORT)
    rules = asyncio.run(aextract_document(doc, RulesBackend()))
    st = analyze(doc)
    in_tables = lambda it: any(b.start <= it.start < b.end for b in layout_read_tables(st))  # noqa: E731
    want = {(i.category, i.start, i.end) for i in rules.goals + rules.achievements if in_tables(i)}
    got = {(i.category, i.start, i.end) for i in rep.goals + rep.achievements}
    assert want and want <= got  # the model said nothing; every table item came from the layout
    assert all(doc.text[i.start:i.end] == i.quote for i in rep.goals + rep.achievements)
    cells = _table_only_cells(doc.text, layout_read_tables(st))
    assert cells and not [c for c in cells if c in sent]  # no cell of those tables went to the model
    assert len(rep.indicators) == len(rules.indicators) > 0


def test_route_all_sends_the_tables_and_leaves_them_to_the_model():
    doc, rep, sent = _run({"route": "all"}, TABLE_REPORT)
    cells = _table_only_cells(doc.text, layout_read_tables(analyze(doc)))
    assert all(c in sent for c in cells)
    assert rep.goals == [] and rep.achievements == []  # the (silent) model is trusted with them


def test_a_space_table_whose_wrapped_cells_interleave_with_other_columns_goes_to_the_model():
    """A cell wrapped onto a continuation line, with other columns' text between its pieces, has no
    single quote: the layout reader cannot cut it as labelled, so the model sees the table."""
    header = "一级指标    二级指标    三级指标              年度指标值    实际完成值    分值    得分\n"
    flat = header + "产出指标    数量指标    新建村级供水站        ≥12处         12处          10      10\n"
    wrapped = header + ("产出指标    数量指标    千吨万人供水工程新    ≥2处          2处           6       6\n"
                        "                        建数量\n")
    for text, sent in ((flat, False), (wrapped, True)):
        text = "三、绩效目标完成情况\n" + text
        st = analyze(text)
        tables = [b for b in st.blocks if b.kind == "table"]
        assert tables, "the space-aligned table is recognised"
        assert (layout_read_tables(st) == []) is sent

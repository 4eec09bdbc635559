"""Chunking and routing: what is sent to a model, in what pieces, with which heading path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llm_extract.llm.chunking import PART_SEPARATOR, chunk_document, split_long
from llm_extract.loaders import load
from llm_extract.structure import analyze
from llm_extract.llm.tokens import count_tokens

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted((ROOT / "fixtures" / "reports").glob("*.*"))

REPORT = """部门整体支出绩效自评报告

一、部门基本情况
（一）主要职能
负责全市卫生健康工作的统筹规划，拟订卫生健康政策，指导医疗卫生机构改革，组织疾病预防控制。
（二）机构设置
内设办公室、财务股等13个股室，下属2个事业单位，编制34人，实有在职人员28人。

二、部门整体支出绩效情况
2024年完成基层医疗机构标准化建设20家，家庭医生签约率达到65%，传染病报告及时率100%。

三、存在问题
一是村医老龄化现象突出。60岁以上村医占38.58%。
二是信息化建设滞后，资源利用率低。

四、下一步改进措施
下一步，我局将加强村医培训，推进信息系统整合。
"""


def chunks_of(text: str, **kw):
    return chunk_document(text, analyze(text), **kw)


def test_chunks_are_exact_slices_of_the_document_in_order():
    for path in FIXTURES:
        text = load(path).text
        for route in ("relevant", "all"):
            chunks = chunks_of(text, max_tokens=600, route=route)
            assert chunks, path
            for c in chunks:
                assert c.parts and (c.start, c.end) == (c.parts[0][0], c.parts[-1][1])
                assert all(a[1] < b[0] for a, b in zip(c.parts, c.parts[1:]))  # in order, apart
                assert c.text == PART_SEPARATOR.join(text[s:e] for s, e in c.parts)
                assert all(text[s:e] == text[s:e].strip() != "" for s, e in c.parts)
                if route == "all":
                    assert c.parts == ((c.start, c.end),) and text[c.start:c.end] == c.text
            assert [c.start for c in chunks] == sorted(c.start for c in chunks)


def test_routed_sections_share_a_chunk_across_text_left_out():
    text = (
        "二、部门整体支出绩效情况\n2024年完成基层医疗机构标准化建设20家。\n\n"
        "三、部门基本情况\n（一）机构设置\n内设办公室、财务股等13个股室，下属2个事业单位。\n\n"
        "四、存在问题\n一是村医老龄化现象突出。\n"
    )
    chunks = chunks_of(text)
    assert len(chunks) == 1 and len(chunks[0].parts) == 2  # one call, not two
    c = chunks[0]
    assert "内设办公室" not in c.text and "……" in c.text
    assert c.text.startswith("二、部门整体支出绩效情况") and c.text.endswith("村医老龄化现象突出。")
    assert c.section_at(text.index("村医")).endswith("四、存在问题")


@pytest.mark.parametrize("budget", [120, 400, 1500])
def test_chunks_respect_the_token_budget(budget):
    for path in FIXTURES:
        for c in chunks_of(load(path).text, max_tokens=budget):
            assert count_tokens(c.text) <= budget, (path.name, c.start, c.tokens)
            assert c.tokens == count_tokens(c.text)


def test_boilerplate_is_not_sent_unless_route_all():
    routed = " ".join(c.text for c in chunks_of(REPORT))
    assert "主要职能" not in routed and "内设办公室" not in routed
    assert "村医老龄化" in routed and "加强村医培训" in routed and "标准化建设20家" in routed
    everything = " ".join(c.text for c in chunks_of(REPORT, route="all"))
    assert "内设办公室" in everything


def test_routing_keeps_every_content_section_of_the_fixtures():
    """Every block the structure does not mark as boilerplate/budget is inside some chunk."""
    for path in FIXTURES:
        text = load(path).text
        st = analyze(text)
        chunks = chunks_of(text)
        covered = set()
        for c in chunks:
            for s, e in c.parts:
                covered.update(range(s, e))
        for b in st.blocks:
            kind = st.sections[b.section].kind
            if kind in ("goals", "achievements", "problems", "measures", "mixed") and b.kind != "heading":
                chars = {i for i in range(b.start, b.end) if not text[i].isspace()}
                assert chars <= covered, (path.name, text[b.start:b.start + 30])


def test_route_all_covers_every_block_but_bodiless_headings():
    for path in FIXTURES:
        text = load(path).text
        covered = set()
        for c in chunks_of(text, route="all"):
            covered.update(range(c.start, c.end))
        for b in analyze(text).blocks:
            if b.kind != "heading":
                chars = {i for i in range(b.start, b.end) if not text[i].isspace()}
                assert chars <= covered, (path.name, text[b.start:b.start + 20])


def test_routing_sends_fewer_tokens_than_everything():
    for path in FIXTURES:
        text = load(path).text
        routed = sum(c.tokens for c in chunks_of(text))
        everything = sum(c.tokens for c in chunks_of(text, route="all"))
        assert routed < everything, path.name


def test_chunks_carry_the_heading_path_where_they_start():
    chunks = chunks_of(REPORT, max_tokens=40)
    problem = next(c for c in chunks if "村医老龄化" in c.text)
    assert "三、存在问题" in problem.section_path
    measure_at = REPORT.index("下一步，我局")
    holder = next(c for c in chunks if c.start <= measure_at < c.end)
    assert holder.section_at(measure_at).endswith("四、下一步改进措施")


def test_a_heading_goes_with_its_body_not_at_the_end_of_a_chunk():
    for path in FIXTURES:
        text = load(path).text
        heading_ends = {b.end for b in analyze(text).blocks if b.kind == "heading"}
        for c in chunks_of(text, max_tokens=300):
            assert c.end not in heading_ends, (path.name, c.text[-30:])


def test_oversize_paragraph_is_split_after_sentence_ends_with_overlap():
    sentence = "一是完成乡镇卫生院标准化建设，覆盖全部二十个乡镇；"
    para = "".join(sentence.replace("一是", f"第{i}项") for i in range(40)) + "全年目标全部完成。"
    text = "二、部门整体支出绩效情况\n" + para + "\n"
    chunks = chunks_of(text, max_tokens=100)
    assert len(chunks) > 2
    for c in chunks:
        assert c.tokens <= 100
        assert c.text[-1] in "。；！？" or c.end == text.rstrip().__len__()
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end, "consecutive pieces of one paragraph overlap"
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    start = text.index(para)
    assert set(range(start, start + len(para))) <= covered


def test_sentence_without_breaks_is_cut_within_the_budget():
    text = "绩效情况\n" + "甲乙丙丁戊己庚辛壬癸" * 200 + "\n"
    start = text.index("甲")
    spans = split_long(text, start, len(text) - 1, 50, count_tokens)
    assert len(spans) > 1
    assert all(count_tokens(text[s:e]) <= 50 for s, e in spans)
    assert spans[0][0] == start and spans[-1][1] == len(text) - 1


def test_table_is_split_at_row_breaks():
    rows = "".join(f"\t指标{i}\n\t≥{i}0%\n\t完成{i}1%\n\n" for i in range(60))
    text = "绩效指标\n" + rows
    start = text.index("\t指标0")
    spans = split_long(text, start, len(text.rstrip()), 80, count_tokens, table=True)
    assert len(spans) > 1
    for s, e in spans:
        assert text[s:e].lstrip().startswith("指标"), text[s:s + 10]
        assert re.search(r"完成\d+%$", text[s:e])


def test_nothing_to_send_means_no_chunks():
    assert chunks_of("   \n\n\t \n") == []
    boiler = "一、部门基本情况\n（一）主要职能\n负责全市卫生健康工作。\n（二）机构设置\n内设13个股室。\n"
    assert chunks_of(boiler) == []
    assert chunks_of(boiler, route="all") != []

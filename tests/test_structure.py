"""Headings, section kinds and tables: the structure every backend relies on."""

from llm_extract.structure import analyze, classify_heading, ordinal, sentence_spans
from llm_extract.tables import find_tables

REPORT = """某县卫生健康局2024年度部门整体支出绩效自评报告

一、部门基本情况
（一）主要职能
1、负责全县卫生健康工作。
2、负责疾病预防控制工作。
（二）人员情况。在职人员30人。

二、绩效目标
全年完成基本公共卫生服务项目。

三、主要成效、存在的问题
（一）主要成效
全年门诊量增长10%。
（二）存在问题
一是人才短缺。二是设备老化。

四、下一步改进措施
1.加强人才引进。
2.更新设备。
"""


def test_heading_tree_and_kinds():
    st = analyze(REPORT)
    titles = {s.title: s for s in st.sections[1:]}
    assert titles["一、部门基本情况"].kind == "boilerplate"
    assert titles["二、绩效目标"].kind == "goals"
    assert titles["四、下一步改进措施"].kind == "measures"
    cheng = titles["（一）主要成效"]
    assert cheng.kind == "achievements"
    assert cheng.path == ("三、主要成效、存在的问题", "（一）主要成效")
    assert titles["（二）存在问题"].kind == "problems"
    # top-level 一、 headings are siblings even after deeper styles
    assert titles["四、下一步改进措施"].level == 1


def test_list_points_are_not_headings():
    st = analyze(REPORT)
    heading_titles = [s.title for s in st.sections]
    # short numbered lines followed by a sibling point are list items, not headings
    assert "1、负责全县卫生健康工作。" not in heading_titles
    assert "1.加强人才引进。" not in heading_titles
    paras = [REPORT[b.start:b.end] for b in st.blocks if b.kind == "para"]
    assert "1.加强人才引进。" in paras


def test_blocks_index_the_original_text():
    st = analyze(REPORT)
    for b in st.blocks:
        assert REPORT[b.start:b.end].strip() == REPORT[b.start:b.end]
        assert b.end > b.start


def test_hard_wrapped_lines_are_one_paragraph():
    text = "二、主要成效\n\n全年共完成门诊服务十二万人次，较上年增\n\n长百分之十，群众满意度达到百分之九十八。\n\n三、存在问题\n\n人才不足。\n"
    st = analyze(text)
    paras = [b for b in st.blocks if b.kind == "para"]
    assert len(paras) == 2
    first = text[paras[0].start:paras[0].end]
    assert first.startswith("全年共完成") and first.endswith("九十八。")


def test_classify_heading_cues():
    assert classify_heading("五、存在的问题及原因分析") == "problems"
    assert classify_heading("存在的问题及改进措施") == "mixed"
    assert classify_heading("（二）自评工作开展情况") == "boilerplate"
    assert classify_heading("二、一般公共预算支出情况") == "budget"
    assert classify_heading("坚持惠民暖心") is None


def test_ordinal_numbers():
    assert ordinal("（三）存在问题") == 3
    assert ordinal("十二、其他") == 12
    assert ordinal("二十一、x") == 21
    assert ordinal("12、x") == 12
    assert ordinal("无序号") == 0


def test_sentence_spans_trim_and_split():
    t = "  第一句。第二句！第三句"
    spans = sentence_spans(t, 0, len(t))
    assert [t[a:b] for a, b in spans] == ["第一句。", "第二句！", "第三句"]


def test_word_table_rows_and_wrapped_cells():
    text = "表一\n\n\t项目\n\t目标\n\n\t\n产出指标\n(50 分)\n\t数量\n\n\t门诊\n\t≥10 万人次\n\n说明：以上。\n"
    tables = find_tables(text)
    assert len(tables) == 1
    rows = [r.texts() for r in tables[0].rows]
    assert rows[0] == ["项目", "目标"]
    assert rows[1] == ["产出指标\n(50 分)", "数量"]
    assert rows[2] == ["门诊", "≥10 万人次"]
    for r in tables[0].rows:
        for c in r.cells:
            assert text[c.start:c.end] == c.text
    # the note after the table is not part of it
    assert "说明" not in text[tables[0].start:tables[0].end]


def test_pdf_page_furniture_does_not_break_paragraphs():
    header = "某县卫生健康局2024年度部门整体支出绩效自评报告"
    text = (
        f"{header}\n\n二、主要成效\n全年完成门诊服务十二万人次，较上年增\n— 3 —\n{header}\n长百分之十。\n\n"
        f"三、存在问题\n人才不足。\n— 4 —\n{header}\n四、改进措施\n加强培训。\n— 5 —\n{header}\n"
    )
    st = analyze(text)
    paras = [text[b.start:b.end] for b in st.blocks if b.kind == "para"]
    assert paras[0].startswith("全年完成") and paras[0].endswith("长百分之十。")
    assert not any(p.strip() in ("— 3 —", "— 4 —", header) for p in paras)
    assert [s.kind for s in st.sections if s.title.startswith(("二", "三", "四"))] == ["achievements", "problems", "measures"]


def _reference_ends(levels: list[int], starts: list[int], n: int) -> list[int]:
    """The definition: a section ends where the next section of its level or higher starts."""
    ends = []
    for i, lv in enumerate(levels):
        ends.append(next((starts[j] for j in range(i + 1, len(levels)) if levels[j] <= lv), n))
    return ends


def _sections(levels: list[int]):
    from llm_extract.structure import Section, Structure

    n = 10 * (len(levels) + 1)
    st = Structure(text=" " * n)
    st.sections.append(Section(0, "", 0, 0, n, 0, 0, None, None))
    for i, lv in enumerate(levels, start=1):
        st.sections.append(Section(i, f"s{i}", lv, 10 * i, n, 10 * i, 10 * i + 5, 0, None))
    return st


def test_section_ends_follow_the_definition_on_random_trees():
    import random

    from llm_extract.structure import _finish

    rnd = random.Random(5)
    for _ in range(200):
        levels = [rnd.randint(1, 5) for _ in range(rnd.randint(1, 40))]
        st = _sections(levels)
        _finish(st)
        starts = [s.start for s in st.sections[1:]]
        assert [s.end for s in st.sections[1:]] == _reference_ends(levels, starts, len(st.text))


def test_section_ends_of_a_huge_outline_are_computed_in_one_pass():
    # 300k headings took minutes when each section scanned (a copy of) the rest of the list
    from llm_extract.structure import _finish

    levels = [1] + [2, 3, 3, 2] * 75_000
    st = _sections(levels)
    _finish(st)
    assert st.sections[1].end == len(st.text)  # the one top-level section spans everything
    assert st.sections[2].end == st.sections[5].start and st.sections[3].end == st.sections[4].start

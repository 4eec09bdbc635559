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


def test_section_kind_synonyms_of_other_templates():
    # problems, causes and measures under the names other templates give them
    for title in ("（三）存在的不足", "四、短板和差距", "（二）原因分析", "五、存在的问题及原因"):
        assert classify_heading(title) == "problems", title
    for title in ("六、下步打算", "（四）下一步工作打算", "七、意见建议", "有关建议", "2025年工作计划", "下一步改进措施"):
        assert classify_heading(title) == "measures", title
    # a third-party evaluation and a project-level report
    assert classify_heading("一、评价结论") == "score"
    assert classify_heading("二、主要绩效") == "achievements"
    assert classify_heading("（一）项目概况") == "boilerplate"
    assert classify_heading("（二）立项依据") == "boilerplate"
    assert classify_heading("（三）资金使用及管理") == "budget"
    assert classify_heading("绩效目标完成情况") == "achievements"
    # "整体绩效" inside a goal phrase does not make it a results heading
    assert classify_heading("（二）2024年度部门整体绩效目标") == "goals"


def test_topic_subheading_under_problems_is_a_problem_point():
    text = "五、存在的问题\n（一）预算执行方面\n项目资金拨付进度慢。\n（二）资产管理方面\n账实不符。\n"
    st = analyze(text)
    kinds = {s.title: s.kind for s in st.sections[1:]}
    assert kinds["（一）预算执行方面"] == "problems"
    assert kinds["（二）资产管理方面"] == "problems"


def _hard_wrap(paragraph: str, width: int = 20) -> str:
    return "\n".join(paragraph[i:i + width] for i in range(0, len(paragraph), width))


def test_sentence_ending_at_the_wrap_margin_does_not_end_the_paragraph():
    # PDF text wrapped every 20 characters: the first sentence ends exactly at the margin, so the
    # line break after it is visual; the next line carries on the same point.
    para = "一是农村供水工程建设完成投资一点二亿元。新建集中供水工程十二处，改造管网五十六公里，惠及群众三万余人，工程全部通过验收。"
    assert para.index("。") == 19
    text = "一、基本情况\n" + _hard_wrap(
        "本局是县政府工作部门，负责全县水资源开发利用、水利工程建设与运行管理、河湖管理保护、农村水利和水土保持等工作，内设股室六个，下属事业单位三个。"
    ) + "\n\n"
    text += "二、主要成效\n" + _hard_wrap(para) + "\n" + _hard_wrap("二是河湖长制全面落实，全年巡河一万二千余次，清理河道垃圾三千余吨，水质优良比例持续提高。") + "\n\n"
    text += "三、存在问题\n" + _hard_wrap("部分农村供水工程管护不到位，村级管水员报酬偏低，队伍不稳定，影响工程长效运行，需要进一步加强。") + "\n"
    st = analyze(text)
    paras = [text[b.start:b.end].replace("\n", "") for b in st.blocks if b.kind == "para"]
    i = next(i for i, p in enumerate(paras) if p.startswith("一是"))
    assert paras[i] == para
    assert paras[i + 1].startswith("二是河湖长制")


def test_items_never_hold_page_furniture():
    header = "某县水利局2024年度部门整体支出绩效自评报告"
    text = (
        f"{header}\n\n三、存在问题\n一是项目前期工作深度不够，部分工程\n— 3 —\n{header}\n设计变更较多，影响建设进度。\n"
        f"二是管护经费不足。\n第 4 页\n{header}\n\n四、下步打算\n加强前期工作。\n- 5 -\n{header}\n"
    )
    from llm_extract.backends.rules import RulesBackend
    from llm_extract.document import Document

    doc = Document.from_text(text)
    res = RulesBackend().extract(doc, analyze(doc))
    quotes = [(it.category, it.quote) for it in res.grounded]
    assert ("problem", "一是项目前期工作深度不够，部分工程") in quotes
    assert ("problem", "设计变更较多，影响建设进度。") in quotes
    assert not any("—" in q or "页" in q or header in q or "- 5 -" in q for _, q in quotes)


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

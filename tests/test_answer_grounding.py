"""Grounding a chunk's answer the way models really answer (grounding.Grounder.place and friends,
answers.AnswerReader): only in the text that was sent, in answer order, across the omission line
piece by piece, with dropped markers restored, numerals folded, and merges split."""

from __future__ import annotations

from llm_extract.llm.answers import AnswerReader
from llm_extract.llm.schema import ExtractedItem
from llm_extract.llm.chunking import PART_SEPARATOR, Chunk
from llm_extract.grounding import Grounder, extend_to_marker, extend_to_sentence_end, ground_items
from llm_extract.backends.base import RawItem
from llm_extract.models import Stats
from llm_extract.structure import analyze


def _chunk(text: str, parts: list[tuple[int, int]]) -> Chunk:
    body = PART_SEPARATOR.join(text[a:b] for a, b in parts)
    return Chunk(0, parts[0][0], parts[-1][1], body, "", 1, (), tuple(parts))


def _read(text: str, parts, answer: list[tuple[str, str]], pass_no: int = 1):
    stats = Stats()
    items = [ExtractedItem(category=c, quote=q) for c, q in answer]
    out = AnswerReader(text, analyze(text)).raw_items(_chunk(text, parts), items, pass_no, stats)
    return out, stats


# -- repeated short quotes ---------------------------------------------------------------------

def test_a_repeated_cell_is_placed_only_inside_the_parts_that_were_sent():
    text = "一、基本情况\n全年完成率100%。\n\n二、主要成效\n门诊服务\n\t100%\n"
    sent = (text.index("二、"), len(text))
    al = Grounder(text).place("100%", [sent])
    assert al is not None and al.start == text.rindex("100%")  # never the one routing left out


def test_repeated_quotes_take_uncovered_occurrences_in_answer_order():
    text = "\t指标A\n\t100%\n\t100%\n\n\t指标B\n\t100%\n\t100%\n"
    g = Grounder(text)
    whole = [(0, len(text))]
    cells = [p for p in range(len(text)) if text.startswith("100%", p)]
    taken: list[tuple[int, int]] = []
    prev = None
    got = []
    for q in ["100%", "100%", "100%", "100%"]:
        al = g.place(q, whole, after=prev, taken=taken)
        got.append(al.start)
        prev = (al.start, al.end)
        taken.append(prev)
    assert got == cells


def test_an_occurrence_already_covered_is_skipped_for_an_uncovered_one():
    text = "（1）加强培训。（2）完善制度。（3）加强培训。"
    g = Grounder(text)
    first = text.index("加强培训")
    # the model answered the third point before... nothing; the previous item already covers the first
    al = g.place("加强培训。", [(0, len(text))], after=(0, 0), taken=[(first, first + 5)])
    assert al.start == text.rindex("加强培训")


# -- the omission line -------------------------------------------------------------------------

TWO_PARTS = (
    "三、存在问题\n一是村医老龄化现象突出，60岁以上村医占38.58%。\n"
    "一、基本情况\n本局内设科室8个。\n"
    "四、改进措施\n下一步，我局将加强村医培训。\n"
)


def test_a_quote_across_the_omission_line_is_split_and_each_piece_grounded_in_its_part():
    t = TWO_PARTS
    p1 = (t.index("一是"), t.index("一、基本"))
    p2 = (t.index("四、"), len(t))
    quote = "一是村医老龄化现象突出，60岁以上村医占38.58%。" + PART_SEPARATOR + "四、改进措施\n下一步，我局将加强村医培训。"
    items, _ = _read(t, [p1, p2], [("problem", quote)])
    placed = [(i.category, i.quote) for i in items]
    assert ("problem", "一是村医老龄化现象突出，60岁以上村医占38.58%。") in placed
    assert all("本局内设科室" not in q for _, q in placed)  # never the text routing left out
    assert any(q.endswith("下一步，我局将加强村医培训。") for _, q in placed)


def test_an_elision_inside_one_part_still_spans_head_to_tail():
    t = TWO_PARTS
    part = (t.index("一是"), t.index("一、基本"))
    als = Grounder(t).place_pieces("一是村医老龄化……占38.58%。", [part])
    assert len(als) == 1
    assert t[als[0].start:als[0].end] == "一是村医老龄化现象突出，60岁以上村医占38.58%。"


# -- markers and heading phrases ---------------------------------------------------------------

def test_a_dropped_enumeration_marker_is_restored():
    text = "存在问题：\n（2）信息化建设滞后，资源利用率低。\n"
    s = text.index("信息化")
    assert extend_to_marker(text, s, s + 10) == text.index("（2）")


def test_a_dropped_marker_and_heading_phrase_are_restored():
    text = "（一）加强预算管理。严格执行预算，按月通报执行进度。\n"
    s = text.index("严格")
    assert extend_to_marker(text, s, len(text) - 1) == 0


def test_a_run_in_point_marker_is_restored_inside_a_paragraph():
    text = "主要问题：一是村医老龄化现象突出；二是信息化建设滞后，资源利用率低。"
    s = text.index("信息化")
    assert extend_to_marker(text, s, len(text)) == text.index("二是")


def test_a_run_in_point_late_in_a_long_paragraph_gets_its_marker_back():
    text = ("存在的问题主要有：" + "一是基层医疗卫生机构服务能力不强，专业技术人员数量不足、结构不合理；" * 3
            + "四是信息化建设滞后，各级医疗卫生机构系统繁多，数据互联互通程度低。")
    s = text.index("信息化")
    assert extend_to_marker(text, s, len(text)) == text.index("四是")


def test_a_heading_phrase_the_model_quoted_as_its_own_item_is_not_taken_again():
    text = "（三）计划生育服务。三是探索信息化年审。考虑到对象数量增长，传统年审耗时长。\n"
    items, _ = _read(text, [(0, len(text))], [("measure", "三是探索信息化年审。"),
                                               ("problem", "考虑到对象数量增长，传统年审耗时长。")])
    assert [(i.category, i.quote) for i in items] == [
        ("measure", "三是探索信息化年审。"), ("problem", "考虑到对象数量增长，传统年审耗时长。")]


def test_a_quote_with_its_own_marker_is_not_extended_to_the_point_before():
    text = "一是大力发展托育服务。二是推进医养结合，新增床位200张。"
    s = text.index("二是")
    assert extend_to_marker(text, s, len(text)) == s


def test_a_quote_starting_mid_sentence_is_not_extended():
    text = "（一）全年完成培训12场，覆盖人员800人次。\n"
    s = text.index("覆盖")
    assert extend_to_marker(text, s, len(text) - 1) == s


def test_a_quote_cut_off_mid_clause_runs_on_to_its_sentence_end():
    text = "全年完成培训12场次，覆盖基层人员800人次。下一句。"
    end = text.index("800") + 2
    assert text[:extend_to_sentence_end(text, 0, end, len(text))] == "全年完成培训12场次，覆盖基层人员800人次。"
    clause = text.index("，")
    assert extend_to_sentence_end(text, 0, clause, len(text)) == clause  # stops at a clause: as meant


# -- short quotes ------------------------------------------------------------------------------

def test_short_quotes_match_with_chinese_and_arabic_numerals_equal():
    text = "（一）完成三个乡镇卫生院改造。\n（二）新建5个村卫生室。\n"
    g = Grounder(text)
    al = g.place("完成3个乡镇卫生院改造", [(0, len(text))])
    assert al is not None and text[al.start:al.end] == "完成三个乡镇卫生院改造"
    al = g.place("新建五个村卫生室", [(0, len(text))])
    assert al is not None and text[al.start:al.end] == "新建5个村卫生室"


def test_a_short_quote_with_one_slip_matches_when_unique():
    text = "（一）村医队伍老化。\n（二）信息系统分散。\n"
    al = Grounder(text).place("村医队伍老龄", [(0, len(text))])  # one character wrong
    assert al is not None and al.kind == "fuzzy"
    assert text[al.start:al.end].startswith("村医队伍老")


def test_a_short_quote_with_a_slip_matching_two_places_is_not_guessed():
    text = "（一）加强队伍建设。\n（二）加强军伍建设。\n"
    assert Grounder(text).place("加强党伍建设", [(0, len(text))]) is None  # one edit from both
    al = Grounder(text).place("加强队伍建设", [(0, len(text))])
    assert al is not None and al.kind == "exact"


# -- merges across the measure boundary ---------------------------------------------------------

def test_a_problem_merged_with_its_measure_is_split_at_the_measure_label():
    text = ("三、存在的问题及整改措施\n"
            "（1）部分项目建设进度滞后，2个项目推迟开工。整改措施：实行挂图作战，倒排工期；压实属地责任。\n")
    s = text.index("（1）")
    items, stats = _read(text, [(s, len(text))], [("problem", text[s:].strip())])
    got = [(i.category, i.quote) for i in items]
    assert got == [("problem", "（1）部分项目建设进度滞后，2个项目推迟开工。"),
                   ("measure", "整改措施：实行挂图作战，倒排工期；压实属地责任。")]
    assert stats.split_merged == 1


def test_a_merge_across_a_next_step_turn_is_split_there():
    text = "五、存在问题\n村医队伍老化，服务能力不足。下一步，我局将加强村医培训。\n"
    s = text.index("村医")
    items, _ = _read(text, [(s, len(text))], [("problem", text[s:].strip())])
    assert [(i.category, i.quote) for i in items] == [
        ("problem", "村医队伍老化，服务能力不足。"), ("measure", "下一步，我局将加强村医培训。")]


def test_a_merge_across_a_heading_is_split_and_the_heading_left_out():
    text = ("四、主要成效\n全年完成培训12场，覆盖800人次。\n"
            "五、存在的问题\n村医队伍老化，服务能力不足。\n")
    s = text.index("全年")
    items, stats = _read(text, [(s, len(text))], [("achievement", text[s:].strip())])
    assert [(i.category, i.quote) for i in items] == [
        ("achievement", "全年完成培训12场，覆盖800人次。"), ("problem", "村医队伍老化，服务能力不足。")]
    assert stats.split_merged == 1


# -- the whole answer ----------------------------------------------------------------------------

def test_answer_items_carry_exact_offsets_and_the_parts_for_grounding():
    t = TWO_PARTS
    part = (t.index("四、"), len(t))
    items, _ = _read(t, [part], [("measure", "下一步，我局将加强村医"), ("measure", "不在文中的一句话，纯属虚构。")])
    placed, unplaced = items
    assert t[placed.start:placed.end] == placed.quote == "下一步，我局将加强村医培训。"  # run on to its end
    assert unplaced.start is None and unplaced.parts == [part]
    res = ground_items(t, [unplaced])
    assert res.items == [] and res.dropped == 1  # not placed in text that was not sent


def test_ground_items_searches_only_the_parts_of_a_routed_item():
    text = "一、基本情况\n加强培训工作。\n二、措施\n完善制度建设。\n"
    part = (text.index("二、"), len(text))
    res = ground_items(text, [RawItem(category="measure", quote="加强培训工作。", parts=[part])])
    assert res.items == [] and res.dropped == 1

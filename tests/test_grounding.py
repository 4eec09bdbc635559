"""Grounding: every model quote ends up at exact offsets of the source, or is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_extract.backends.base import RawItem
from llm_extract.gold import load_gold_dir, locate_gold, report_index
from llm_extract.grounding import Grounder, display_text, ground_items
from llm_extract.loaders import load
from mock_openai_server import perturb

ROOT = Path(__file__).resolve().parent.parent
TEXT = (
    "三、存在问题\n"
    "一是村医老龄化现象突出。60 岁以上村医\n占 38.58%。\n\n"
    "二是信息化（系统）建设滞后，资源利用率低。\n"
    "四、改进措施\n"
    "下一步，我局将加强村医培训，提升服务能力。\n"
)


def raw(quote: str, category: str = "problem", **kw) -> RawItem:
    return RawItem(category=category, quote=quote, **kw)


def only(result):
    assert len(result.items) == 1, result
    return result.items[0]


def test_verbatim_quote_is_exact_and_indexes_the_source():
    q = "二是信息化（系统）建设滞后，资源利用率低。"
    it = only(ground_items(TEXT, [raw(q)]))
    assert it.alignment == "exact"
    assert TEXT[it.start:it.end] == it.quote == q


def test_dropped_line_breaks_and_spaces_ground_to_the_original_characters():
    it = only(ground_items(TEXT, [raw("一是村医老龄化现象突出。60岁以上村医占38.58%。")]))
    assert it.alignment == "normalized"
    assert it.quote == "一是村医老龄化现象突出。60 岁以上村医\n占 38.58%。"
    assert TEXT[it.start:it.end] == it.quote


def test_half_width_punctuation_grounds_to_the_full_width_source():
    it = only(ground_items(TEXT, [raw("二是信息化(系统)建设滞后,资源利用率低.")]))
    assert it.alignment == "normalized"
    assert it.quote == "二是信息化（系统）建设滞后，资源利用率低。"


def test_one_changed_character_is_a_fuzzy_match_of_the_whole_point():
    it = only(ground_items(TEXT, [raw("下一步，我局将加强乡医培训，提升服务能力。", "measure")]))
    assert it.alignment == "fuzzy"
    assert it.quote == "下一步，我局将加强村医培训，提升服务能力。"


def test_fuzzy_threshold_is_respected():
    q = "下一步，我局将加强乡医培训，提升服务能力。"
    res = ground_items(TEXT, [raw(q, "measure")], fuzzy_threshold=99.5)
    assert res.items == [] and res.dropped == 1


def test_invented_quote_is_dropped_and_counted():
    res = ground_items(TEXT, [raw("财政资金使用效益显著提高，群众满意度达到百分之九十九。"), raw("一是村医老龄化现象突出。")])
    assert res.dropped == 1
    assert [i.quote for i in res.items] == ["一是村医老龄化现象突出。"]
    assert res.ungrounded == []


def test_invented_quote_is_kept_without_offsets_on_request():
    res = ground_items(TEXT, [raw("财政资金使用效益显著提高，群众满意度达到百分之九十九。")], keep_ungrounded=True)
    assert res.items == [] and res.dropped == 0
    (u,) = res.ungrounded
    assert u.start is None and u.end is None and u.alignment == "none"


def test_blank_quote_is_never_grounded():
    res = ground_items(TEXT, [raw("  \n ")])
    assert res.items == [] and res.dropped == 1


def test_surrounding_whitespace_is_trimmed_from_the_span():
    it = only(ground_items(TEXT, [raw("\n  二是信息化（系统）建设滞后，资源利用率低。\n")]))
    assert not it.quote[0].isspace() and not it.quote[-1].isspace()
    assert TEXT[it.start:it.end] == it.quote


def test_window_picks_the_occurrence_in_the_quotes_chunk():
    text = "（一）目标\n加强培训。\n\n（二）措施\n加强培训。\n"
    second = text.rindex("加强培训。")
    it = only(ground_items(text, [raw("加强培训。", "measure", window_start=second - 7, window_end=len(text))]))
    assert it.start == second


def test_window_miss_falls_back_to_the_whole_document():
    it = only(ground_items(TEXT, [raw("一是村医老龄化现象突出。", window_start=TEXT.index("四、"), window_end=len(TEXT))]))
    assert it.start == TEXT.index("一是村医")


def test_repeated_table_cells_follow_the_answers_reading_order():
    text = "\t夜间门诊人次\n\t100%\n\t100%\n\n\t处方合格率\n\t100%\n\t98%\n"
    w = dict(window_start=0, window_end=len(text))
    items = [
        raw("夜间门诊人次\n\t100%", "goal", **w),
        raw("100%", "achievement", **w),
        raw("处方合格率\n\t100%", "goal", **w),
        raw("98%", "achievement", **w),
    ]
    res = ground_items(text, items)
    starts = [i.start for i in res.items]
    cells = [p for p in range(len(text)) if text.startswith("100%", p)]
    assert starts[1] == cells[1]  # the achievement cell, not the target cell before it
    assert starts[2] == text.index("处方合格率")


def test_elided_quote_spans_from_its_head_to_its_tail():
    it = only(ground_items(TEXT, [raw("一是村医老龄化……占 38.58%。")]))
    assert it.alignment == "fuzzy"
    assert it.quote == "一是村医老龄化现象突出。60 岁以上村医\n占 38.58%。"


def test_offset_hint_is_used_only_when_it_holds_the_quote():
    q = "一是村医老龄化现象突出。"
    good = only(ground_items(TEXT, [raw(q, start=TEXT.index(q), end=TEXT.index(q) + len(q))]))
    assert good.start == TEXT.index(q)
    wrong = only(ground_items(TEXT, [raw(q, start=0, end=len(q))]))
    assert wrong.start == TEXT.index(q)


def test_item_text_is_the_quote_without_marker_and_line_breaks():
    assert display_text("（2）信息化建设\n滞后，资源利用率低。") == "信息化建设滞后，资源利用率低。"
    assert display_text("一是村医老龄化现象突出。") == "村医老龄化现象突出。"
    it = only(ground_items(TEXT, [raw("一是村医老龄化现象突出。60岁以上村医占38.58%。")]))
    assert "\n" not in it.text and it.text.startswith("村医")


# -- every fixture gold quote, as a model might return it --------------------------------------

def _gold_cases():
    gold_dir = ROOT / "fixtures" / "gold"
    if not gold_dir.is_dir():
        return []
    reports = report_index(ROOT / "fixtures" / "reports")
    cases = []
    for g in load_gold_dir(gold_dir):
        if g.doc_id in reports:
            cases.append((g, reports[g.doc_id]))
    return cases


GOLD = _gold_cases()


@pytest.mark.skipif(not GOLD, reason="no gold fixtures yet")
@pytest.mark.parametrize("form", [None, "nobreaks", "halfwidth", "both"])
def test_every_gold_quote_lands_on_its_exact_gold_offsets(form):
    """Verbatim, with all whitespace dropped, with half-width punctuation, and both: 100 %."""
    total = 0
    for g, path in GOLD:
        text = load(path).text
        spans = locate_gold(g, text)
        # one answer listing the items in reading order, as a model does for its chunk
        items = [raw(perturb(s.quote, form), s.category, window_start=0, window_end=len(text)) for s in spans]
        res = ground_items(text, items)
        assert res.dropped == 0
        misplaced = [(s.quote, s.start, i.start) for s, i in zip(spans, res.items) if (s.start, s.end) != (i.start, i.end)]
        assert misplaced == [], f"{g.doc_id} ({form}): {misplaced[:3]}"
        for i in res.items:
            assert text[i.start:i.end] == i.quote
        total += len(spans)
    assert total > 0


@pytest.mark.skipif(not GOLD, reason="no gold fixtures yet")
def test_grounder_reuses_one_view_per_document():
    g, path = GOLD[0]
    text = load(path).text
    gr = Grounder(text)
    for s in locate_gold(g, text)[:20]:
        assert gr.align(perturb(s.quote, "both")) is not None
    assert gr._view is not None

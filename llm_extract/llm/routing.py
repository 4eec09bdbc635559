"""Which text may hold an item, judged paragraph by paragraph — routing that loses nothing.

A section heading says what a section usually holds, but reports put goals, results, problems
and plans where the template does not expect them: a goal statement inside 基本情况, a run of
indicator targets before the results, a "下一步" sentence in a budget section. So a paragraph
inside a section routing would skip (boilerplate, budget) is still sent when it carries a cue
of one of the four categories, and so are the enumerated points that follow a cued lead-in.
Tables the layout reader reads are left to it only when it reads every judgement cell.
"""

from __future__ import annotations

import re
from typing import Optional

from ..rules.cues import (
    ACHIEVED,
    GOAL_CUE,
    GOAL_MET,
    HAS_FIGURE,
    PROCESS_SENTENCE,
    RESULT_WORDS,
    TARGET_OP,
    is_budget_statement,
    is_strong_measure,
    is_strong_problem,
)
from ..rules.table_items import _NOT_ITEM as NOT_AN_ITEM  # "达标", "超额完成": the reader's own list
from ..rules.table_items import table_items
from ..structure import sentence_spans
from ..tables import Table, cell_key, cell_value
from ..textview import is_content_char

#: A target stated for the year: a goal phrase, or an indicator value with its comparator (the
#: rules' TARGET_OP); GOAL_CUE ("年底前", "力争") is tested beside it.
TARGET_CUE = re.compile(
    r"(?:绩效|年度|总体|工作|预期)目标(?:任务)?(?:是|为|如下|[：:。])|确保[^。；]{0,20}(?:达到|完成)|"
    + TARGET_OP.pattern
)
#: Words that make a figure a result of the year rather than a count of staff or offices.
_RESULT = re.compile(RESULT_WORDS.pattern + r"|全年|累计|共计|年内|提升|率达|达到|下浮|审减")
#: What a budget section's own figures are about (LABELING.md: metadata, not items).
_BUDGET_FIGURE = re.compile(r"预算|执行数|执行率|支出|收入|结余|结转|拨款|经费|决算")
#: Past-tense results: something was done this year.
_DONE = re.compile(r"完成了|开展了|建成|建立了|获评|荣获|取得了|实现了|圆满完成|顺利完成|已完成|全面完成")


def item_cue(paragraph: str, *, budget: bool = False) -> Optional[str]:
    """The category a paragraph's cue phrases point to (goal, achievement, problem, measure), or
    None when it reads as boilerplate: mandate, staff, how the self-evaluation was run, and — in a
    budget section (`budget`) — the budget's own figures (work reported there, such as "全年共
    办理工程价款结算26批次", is still sent)."""
    for s, e in sentence_spans(paragraph, 0, len(paragraph)):
        s_ = paragraph[s:e]
        if is_strong_problem(s_):
            return "problem"
        if is_strong_measure(s_):
            return "measure"
        if PROCESS_SENTENCE.search(s_):
            continue
        if GOAL_MET.search(s_) or _DONE.search(s_):
            return "achievement"
        if GOAL_CUE.search(s_) or TARGET_CUE.search(s_):
            return "goal"
        if budget and _BUDGET_FIGURE.search(s_):
            continue  # a budget section's own figures are metadata, even "执行率为96%" (LABELING.md)
        if HAS_FIGURE.search(s_) and ACHIEVED.search(s_) and _RESULT.search(s_) and not is_budget_statement(s_):
            return "achievement"
    return None


_LEADIN_END = re.compile(r"[：:]\s*$")


def is_leadin(paragraph: str) -> bool:
    """A paragraph announcing the points that follow ("年度绩效目标：", "主要完成了以下工作：")."""
    return bool(_LEADIN_END.search(paragraph))


_CLAUSE = re.compile(r"[^，,；;。]+")


def reader_skips_judgement(text: str, table: Table) -> bool:
    """Whether the layout reader leaves words of a judgement cell (偏差原因 / 扣分原因 / 备注)
    unread: a clause it could call neither a shortfall nor a remedy ("资金到位晚，下一步将……" — a
    short first clause with no shortfall word it knows). "达标", "超额完成" are read as no item.
    Such a table goes to the model, so no item in it is lost."""
    r = table_items(text, table)
    covered = sorted((s, e) for s, e, _ in r.items)
    for ind in r.indicators:
        if not ind.note or ind.start is None or ind.end is None or ind.note == ind.name:
            continue  # a note repeating the indicator's name says nothing
        for row in table.rows:
            for cell in row.cells:
                if not (ind.start <= cell.start < ind.end) or cell_value(cell.text) != ind.note:
                    continue
                read = [(s, e) for s, e in covered if s < cell.end and e > cell.start]
                for m in _CLAUSE.finditer(text, cell.start, cell.end):
                    content = [i for i in range(m.start(), m.end()) if is_content_char(text[i])]
                    if len(content) >= 4 and not NOT_AN_ITEM.match(cell_key(m.group())) \
                            and not any(s <= i < e for i in content for s, e in read):
                        return True
    return False



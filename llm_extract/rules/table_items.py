"""Items and indicator rows from self-evaluation tables (Word exports, one cell per line).

Columns are found by their header labels (预期目标, 实际完成情况, 三级指标, 年度指标值, 实际完成值 …) and
rows are aligned to the header from the right, because merged label cells on the left come and go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ..models import Indicator
from ..tables import Cell, Row, Table, cell_key, cell_value, interleaved, table_title
from .cues import is_strong_measure, is_strong_problem
from ..textview import trim_spans

Span = tuple[int, int, str]

_NA = {"", "不适用", "不适应", "无", "/", "—", "-", "——", "0"}

_IND_COLS: dict[str, tuple[str, ...]] = {
    "level1": ("一级指标",),
    "level2": ("二级指标",),
    "name": ("三级指标", "指标名称", "绩效指标名称", "具体指标"),
    "target": ("年度指标值", "指标值", "目标值", "预期指标值", "年度目标值", "计划值"),
    "actual": ("实际完成值", "实际值", "完成值", "实际完成情况", "全年实际值"),
    "weight": ("分值", "权重"),
    "score": ("自评得分", "得分"),
    "note": ("偏差原因", "原因分析", "扣分原因", "扣分说明", "扣分情况", "改进措施", "备注", "说明"),
}

_SHORTFALL = re.compile(r"未完工|未竣工|未开工|未建成|延期|较晚|偏晚|不及时|滞后|未完成|未达|未能|不足|偏低|低于|差距|欠缺|缓慢|较低|不到位|不够|没有|尚未|延迟|推迟|下降")
_REMEDY = re.compile(r"^已(?:督促|下达|纳入|提请|启动|制定|安排|协调|责令|要求)|加快|加强|持续(?:推进|加强|优化|完善|跟踪|开展|做好)|优化|完善|推进|提高|提升|整合|强化|引导|督促|争取|继续|进一步|改进")
_NOT_ITEM = re.compile(r"^(达标|已达标|完成|已完成|超额完成|全面完成|全面落实|按时完成|显著(增长|成效)|无偏差|无)[。.]?$")


def _header_columns(row: Row) -> Optional[dict[str, int]]:
    """Column positions (counted from the right) of an indicator header row, or None."""
    if len(row.cells) < 3:
        return None
    joined = "".join(c.text for c in row.cells)
    if "指标" not in joined or not ("值" in joined or "实际" in joined):
        return None  # cheap test first: this runs on every row of every table
    keys = [cell_key(c.text) for c in row.cells]
    cols: dict[str, int] = {}
    n = len(keys)
    for field, names in _IND_COLS.items():
        for i, k in enumerate(keys):
            if any(nm in k for nm in names) and (n - i) not in cols.values():
                if field == "actual" and "target" in cols and cols["target"] == n - i:
                    continue
                cols[field] = n - i
                break
    if "name" in cols and "target" in cols and "actual" in cols and cols["target"] != cols["actual"]:
        return cols
    return None


def _goal_columns(row: Row) -> Optional[tuple[int, int]]:
    if len(row.cells) < 2 or not any("目标" in c.text for c in row.cells):
        return None
    keys = [cell_key(c.text) for c in row.cells]
    g = next((i for i, k in enumerate(keys) if k in ("预期目标", "年度目标", "绩效目标", "目标")), None)
    a = next((i for i, k in enumerate(keys) if k.startswith("实际完成") or k in ("完成情况", "实际完成情况")), None)
    if g is None or a is None:
        return None
    n = len(keys)
    return n - g, n - a


_NUMBERED_LINE = re.compile(r"\s*(\d{1,2}|[一二三四五六七八九十])\s*[.、．]")
_BARE_FIGURE = re.compile(r"^[≥≤<>＞＜=＝大小于不低高超过至少]*[\d.]")


def _enumerated_lines(text: str, cell: Cell) -> list[tuple[int, int]]:
    """A cell listing '1. …\\n2. …' is one item per line; otherwise the whole cell."""
    raw = text[cell.start:cell.end]
    lines = raw.split("\n")
    if len(lines) > 1 and sum(bool(_NUMBERED_LINE.match(ln)) for ln in lines) >= 2:
        spans, pos = [], cell.start
        for ln in lines:
            spans.append((pos, pos + len(ln)))
            pos += len(ln) + 1
        return trim_spans(text, spans)
    return [(cell.start, cell.end)]


_COMPARISON = ("低于", "高于", "不低于", "不高于", "大于", "小于", "控制在")


def _target_is_bare(target: str) -> bool:
    """A target that makes no sense without its indicator name (≥10 万人次, 100%, 全覆盖, 显著提高);
    one that names what it measures ("新增检测参数≥30项", "不超过年初预算投入") stands alone."""
    t = cell_key(target)
    if _BARE_FIGURE.match(t):
        return True
    n = sum(ch.isalnum() for ch in t)  # content characters: quotes and brackets do not name anything
    if n <= 7:
        return True  # "全覆盖", "显著提高", "深化“三医联动”"
    # eight characters name what they measure ("建立长效管护机制", "新增检测参数≥30项"), unless
    # they hold a figure ("接到指令 1 小时内") or only compare ("低于全省平均水平": lower than what?)
    return n == 8 and (any(ch.isdigit() for ch in t) or t.startswith(_COMPARISON))


def _joinable(text: str, name: Cell, target: Cell) -> bool:
    """A bare target is quoted from its row name only when nothing but layout lies between them
    (a Word-export artefact such as "[bookmark: _GoBack]" must not end up inside the quote)."""
    between = text[name.end:target.start]
    return "[" not in between and "{" not in between


@dataclass
class TableResult:
    items: list[Span]
    indicators: list[Indicator]


def table_items(text: str, table: Table) -> TableResult:
    """Items and indicator rows of one table (computed once per table and kept on it)."""
    if table.parsed is None:
        table.parsed = _table_items(text, table)
    return table.parsed


def reads_table(text: str, table: Table) -> bool:
    """Whether the layout reader understands this table (found goal/result or indicator columns).

    LABELING.md defines table items cell by cell, so such a table needs no model: every backend
    takes its items from here, and the LLM route does not send it."""
    r = table_items(text, table)
    return bool(r.items or r.indicators)


def _table_items(text: str, table: Table) -> TableResult:
    items: list[Span] = []
    indicators: list[Indicator] = []
    title = table_title(text, table.start) or None
    rows = table.rows
    i = 0
    while i < len(rows):
        row = rows[i]
        gc = _goal_columns(row)
        if gc is not None and i + 1 < len(rows):
            # one data row in a Word export; one row per goal in a markdown table
            j = i + 1
            while j < len(rows) and (j == i + 1 or len(rows[j].cells) == len(row.cells)):
                data = rows[j]
                if j > i + 1 and (_header_columns(data) or _goal_columns(data)):
                    break
                n = len(data.cells)
                for pos_from_right, cat in ((gc[0], "goal"), (gc[1], "achievement")):
                    k = n - pos_from_right
                    if 0 <= k < n and cell_key(data.cells[k].text) not in _NA:
                        cell = data.cells[k]
                        left = data.cells[k - 1] if k > 0 else None
                        if (
                            cat == "goal"
                            and _target_is_bare(cell.text)
                            and left is not None
                            and cell_key(left.text) not in _NA
                            and _joinable(text, left, cell)
                        ):  # "1.2万人" needs its row name: quote from "结核病筛查"
                            items.append((left.start, cell.end, cat))
                            continue
                        for s, e in _enumerated_lines(text, cell):
                            items.append((s, e, cat))
                j += 1
            i = j
            continue
        cols = _header_columns(row)
        if cols is not None:
            i = _indicator_rows(text, rows, i + 1, cols, items, indicators, title)
            continue
        i += 1
    return TableResult(items, indicators)


def _indicator_rows(
    text: str, rows: list[Row], i: int, cols: dict[str, int], items: list[Span], out: list[Indicator],
    title: Optional[str] = None,
) -> int:
    need = max(cols.values())
    carry = {"level1": "", "level2": ""}
    pending: list[Cell] = []
    while i < len(rows):
        row = rows[i]
        # cells are stored trimmed, so the first non-empty text is the first non-empty key
        first = next((cell_key(c.text) for c in row.cells if c.text), "")
        if first.startswith(("总分", "合计", "总计")) or _header_columns(row) or _goal_columns(row):
            break
        pending.extend(row.cells)
        i += 1
        if len(pending) < need:
            continue
        cells, pending = pending, []
        n = len(cells)
        got: dict[str, Optional[Cell]] = {
            f: (cells[n - p] if 0 <= n - p < n else None) for f, p in cols.items()
        }
        vals = {f: (cell_value(c.text) if (c := got.get(f)) is not None else "") for f in _IND_COLS}
        for lv in ("level1", "level2"):
            if vals[lv]:
                carry[lv] = vals[lv]
            else:
                vals[lv] = carry[lv]
        if (lv1 := got.get("level1")) is not None and lv1.text:
            lv2 = got.get("level2")
            carry["level2"] = vals["level2"] if lv2 is not None and lv2.text else ""
        if all(cell_key(vals[f]) in _NA for f in ("name", "target", "actual")):
            continue
        name_c, target_c, actual_c, note_c = got.get("name"), got.get("target"), got.get("actual"), got.get("note")
        out.append(Indicator(**vals, table=title, start=(name_c or cells[0]).start, end=cells[-1].end))
        if target_c is not None and cell_key(target_c.text) not in _NA:
            s = target_c.start
            if (
                _target_is_bare(target_c.text)
                and name_c is not None
                and cell_key(name_c.text) not in _NA
                and _joinable(text, name_c, target_c)
            ):
                s = name_c.start
            items.append((s, target_c.end, "goal"))
        if actual_c is not None and cell_key(actual_c.text) not in _NA:
            items.append((actual_c.start, actual_c.end, "achievement"))
        if note_c is not None and cell_key(note_c.text) not in _NA and not _NOT_ITEM.match(cell_key(note_c.text)):
            items.extend(note_items(text, note_c))
    return i


def note_items(text: str, cell: Cell) -> list[Span]:
    """A 偏差原因 cell: shortfall clauses are problems, remedy clauses measures ("进度滞后，加快流程")."""
    out: list[Span] = []
    pos = cell.start
    if interleaved(text, cell):
        return out  # a wrapped cell quoted by its first line only: no clause offsets to cut
    for clause in re.split(r"(?<=[，,；;。])", cell.text):
        s, e = pos, pos + len(clause)
        pos = e
        body = clause.strip().rstrip("，,；;。")
        if not body or _NOT_ITEM.match(cell_key(body)):
            continue
        if is_strong_measure(body):
            cat = "measure"
        elif _SHORTFALL.search(body) or is_strong_problem(body):
            cat = "problem"
        elif _REMEDY.search(body):
            cat = "measure"
        else:
            cat = None
        e = s + len(clause.rstrip().rstrip("，,；;"))
        s += len(clause) - len(clause.lstrip())
        if cat is None:
            if out and not text[out[-1][1]:s].strip().startswith(("；", ";", "。")):
                out[-1] = (out[-1][0], e, out[-1][2])  # "…未完工，完成率94.8%": the statement goes on
                continue
            if len(body) < 6:
                continue  # a bare label ("预算执行率"), not a statement
            # after a shortfall and "；", what follows is the remedy ("…延期缴款；已下达催缴通知书");
            # otherwise what explains a deviation is its cause: a problem (LABELING.md)
            cat = "measure" if out and out[-1][2] == "problem" else "problem"
        if out and out[-1][2] == cat:
            out[-1] = (out[-1][0], e, cat)
        else:
            out.append((s, e, cat))
    return out

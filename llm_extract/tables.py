"""Find tables exported from Word as text: one cell per tab-indented line, a blank line between rows.

Cells may wrap onto un-indented lines (even after blank lines, as merged cells do), so a run of
un-indented text belongs to the table when the next line after it is again a cell.
The .docx loader renders real tables in the same shape, so this one parser serves both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Cell(NamedTuple):
    """One cell: offsets of its trimmed text in Document.text (start == end for an empty cell).

    A NamedTuple, not a dataclass: a long report has thousands of cells and this is the
    cheapest immutable record to build."""

    start: int
    end: int
    text: str


@dataclass
class Row:
    cells: list[Cell] = field(default_factory=list)

    @property
    def start(self) -> int:
        return self.cells[0].start

    def texts(self) -> list[str]:
        return [c.text for c in self.cells]


@dataclass
class Table:
    start: int
    end: int
    rows: list[Row] = field(default_factory=list)
    #: What the rules read from this table (items, indicator rows), kept so the backend and the
    #: pipeline's indicator list parse it once.
    parsed: Any = field(default=None, repr=False, compare=False)


def _lines(text: str) -> list[tuple[int, int]]:
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return out


def find_tables(text: str) -> list[Table]:
    """All tables of `text` in order: Word exports (tab-indented cells) and markdown pipe tables."""
    tables = find_tab_tables(text) + find_pipe_tables(text)
    return sorted(tables, key=lambda t: t.start)


_PIPE_ROW = re.compile(r"^[ \t]*\|.*\|[ \t]*$", re.M)
_PIPE_SEPARATOR = re.compile(r"^[\s|:\-]+$")


def find_pipe_tables(text: str) -> list[Table]:
    """Markdown pipe tables ("| 三级指标 | 年度指标值 |"), separator rows dropped, cells trimmed."""
    if "|" not in text:
        return []
    tables: list[Table] = []
    prev_end = -2
    for m in _PIPE_ROW.finditer(text):
        line_start, line_end = m.start(), m.end()
        if line_start != prev_end + 1 or not tables:
            tables.append(Table(start=line_start, end=line_end))
        prev_end = line_end
        t = tables[-1]
        t.end = line_end
        line = m.group(0)
        if _PIPE_SEPARATOR.match(line):
            continue
        bars = [i for i, ch in enumerate(line) if ch == "|" and (i == 0 or line[i - 1] != "\\")]
        spans = [[line_start + a + 1, line_start + b] for a, b in zip(bars, bars[1:])]
        if spans:
            t.rows.append(_row(text, spans))
    return [t for t in tables if len(t.rows) >= 2]


def find_tab_tables(text: str) -> list[Table]:
    """All tab-indented (Word export) table regions of `text`, in order."""
    if "\n\t" not in text and not text.startswith("\t"):
        return []  # no cell lines at all: the common case for narrative reports
    lines = _lines(text)
    n = len(lines)
    # per line: cell (tab-indented), blank, or text — computed once
    cell = [e > s and text[s] == "\t" for s, e in lines]
    blank = [not c and not text[s:e].strip() for c, (s, e) in zip(cell, lines)]

    def is_cell(i: int) -> bool:
        return cell[i]

    def is_blank(i: int) -> bool:
        return blank[i]

    tables: list[Table] = []
    i = 0
    while i < n:
        if not is_cell(i):
            i += 1
            continue
        # Walk the region starting at line i.
        region_lines: list[int] = []
        j = i
        while j < n:
            if is_cell(j):
                region_lines.append(j)
                j += 1
                continue
            if is_blank(j) or (region_lines and region_lines[-1] == j - 1):
                # a blank, or an un-indented line right after a cell line (a wrapped cell)
                if not is_blank(j):
                    region_lines.append(j)
                    j += 1
                    continue
                # blank line(s): look past them and the following un-indented run
                k = j
                while k < n and is_blank(k):
                    k += 1
                if k < n and is_cell(k):
                    j = k
                    continue
                m = k
                while m < n and not is_blank(m) and not is_cell(m):
                    m += 1
                if m < n and is_cell(m) and m > k:
                    region_lines.extend(range(k, m))  # wrapped text of a merged cell
                    j = m
                    continue
                break
            break
        tables.append(_parse_region(text, lines, region_lines))
        i = (region_lines[-1] + 1) if region_lines else i + 1
    return tables


def _parse_region(text: str, lines: list[tuple[int, int]], idx: list[int]) -> Table:
    rows: list[Row] = []
    cell_spans: list[list[int]] = []  # [start, end] raw spans of the current row's cells
    prev = None
    for li in idx:
        s, e = lines[li]
        if s < e and text[s] == "\t":
            new_row = prev is None or li - prev > 1  # a blank line (not part of the region) came between
            if new_row and cell_spans:
                rows.append(_row(text, cell_spans))
                cell_spans = []
            cell_spans.append([s + 1, e])
        elif cell_spans:
            cell_spans[-1][1] = e
        prev = li
    if cell_spans:
        rows.append(_row(text, cell_spans))
    start = lines[idx[0]][0]
    end = lines[idx[-1]][1]
    return Table(start=start, end=end, rows=rows)


def _row(text: str, spans: list[list[int]]) -> Row:
    cells = []
    for s, e in spans:
        raw = text[s:e]
        body = raw.strip()
        if not body:
            cells.append(Cell(s, s, ""))
            continue
        cs = s + raw.find(body)
        cells.append(Cell(cs, cs + len(body), body))
    return Row(cells)


def cell_key(s: str) -> str:
    """A cell's text with all whitespace removed, for matching header labels across wrapping."""
    return "".join(s.split())

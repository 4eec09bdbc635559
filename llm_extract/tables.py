"""Find tables exported from Word as text: one cell per tab-indented line, a blank line between rows.

Cells may wrap onto un-indented lines (even after blank lines, as merged cells do), so a run of
un-indented text belongs to the table when the next line after it is again a cell.
The .docx loader renders real tables in the same shape, so this one parser serves both.
"""

from __future__ import annotations

import re
from itertools import accumulate
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .textview import ARTEFACT


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


#: A table region over a string of line kinds (c: cell line, starts with a tab; b: blank; t: other
#: text): cells, plus text lines that wrap a cell (right after it, or after blank lines when a cell
#: line follows again, as merged cells do). Blank lines alone between cells separate rows.
_REGION = re.compile(r"c(?:[ct]|b+(?=c)|b+t+(?=c))*")


def find_tab_tables(text: str) -> list[Table]:
    """All tab-indented (Word export) table regions of `text`, in order."""
    if "\n\t" not in text and not text.startswith("\t"):
        return []  # no cell lines at all: the common case for narrative reports
    raw = text.split("\n")
    starts = list(accumulate((len(ln) + 1 for ln in raw), initial=0))
    kinds = "".join(["c" if ln[:1] == "\t" else "t" if ln.strip() else "b" for ln in raw])
    return [_parse_region(text, raw, starts, kinds, m.start(), m.end()) for m in _REGION.finditer(kinds)]


def _parse_region(text: str, raw: list[str], starts: list[int], kinds: str, first: int, stop: int) -> Table:
    """Rows and cells of the region of lines [first, stop): a cell line after a blank line opens a
    new row; an un-indented line continues the cell before it."""
    rows: list[Row] = []
    cell_spans: list[list[int]] = []  # [start, end] raw spans of the current row's cells
    after_blank = False
    for li in range(first, stop):
        k = kinds[li]
        if k == "b":
            after_blank = True
            continue
        s = starts[li]
        e = s + len(raw[li])
        if k == "c":
            if after_blank and cell_spans:
                rows.append(_row(text, cell_spans))
                cell_spans = []
            cell_spans.append([s + 1, e])
        elif cell_spans:
            cell_spans[-1][1] = e
        after_blank = False
    if cell_spans:
        rows.append(_row(text, cell_spans))
    return Table(start=starts[first], end=starts[stop - 1] + len(raw[stop - 1]), rows=rows)


def _row(text: str, spans: list[list[int]]) -> Row:
    cells = []
    for s, e in spans:
        raw = text[s:e]
        body = raw.strip()
        if "[" in body or "{#" in body:
            # a Word-export artefact at the cell's edge ("[bookmark: _GoBack]达标") is not cell text
            body = _edge_artefacts(body)
        if not body:
            cells.append(Cell(s, s, ""))
            continue
        cs = s + raw.find(body)
        cells.append(Cell(cs, cs + len(body), body))
    return Row(cells)


def _edge_artefacts(body: str) -> str:
    while True:
        m = ARTEFACT.match(body)
        if m:
            body = body[m.end():].strip()
            continue
        m = ARTEFACT.search(body)
        if m and m.end() == len(body):
            body = body[:m.start()].strip()
            continue
        return body


def cell_key(s: str) -> str:
    """A cell's text with all whitespace removed, for matching header labels across wrapping."""
    return "".join(s.split())

"""Find tables exported from Word as text: one cell per tab-indented line, a blank line between rows.

Cells may wrap onto un-indented lines (even after blank lines, as merged cells do), so a run of
un-indented text belongs to the table when the next line after it is again a cell.
The .docx loader renders real tables in the same shape, so this one parser serves both.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import accumulate
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional

from .textview import ARTEFACT, strip_artefacts


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
    """All tables of `text` in order: Word exports (tab-indented cells), markdown pipe tables and
    space-aligned columns copied out of a PDF."""
    tables = find_tab_tables(text) + find_pipe_tables(text)
    taken = [(t.start, t.end) for t in tables]
    tables += [t for t in find_space_tables(text) if not any(a < t.end and t.start < b for a, b in taken)]
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


#: A gap between columns of a space-aligned table: two or more spaces, or full-width spaces.
_GAP = re.compile(r"(?: {2,}|\u3000+|\t+)")
_PAGE_LINE = re.compile(r"^[-—–－_·\s]*\d{1,4}[-—–－_·\s]*$|^第\s*\d{1,4}\s*页")
#: Not in a header label: sentence punctuation, or a form's "填表人：" colon.
_LABEL_PUNCT = re.compile(r"[。；;，,：:]")


def _width(s: str) -> int:
    """Display width: CJK and full-width characters take two columns, as PDF text lays them out."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _segments(line: str) -> list[tuple[int, int, int]]:
    """(display column, start, end) of each run of text between column gaps on one line."""
    out = []
    pos = 0
    n = len(line)
    while pos < n:
        while pos < n and line[pos] in " \u3000\t":
            pos += 1
        if pos >= n:
            break
        m = _GAP.search(line, pos)
        end = m.start() if m else len(line.rstrip())
        out.append((_width(line[:pos]), pos, end))
        pos = m.end() if m else n
    return out


def _has_header_line(text: str) -> bool:
    """Whether any line could head a space-aligned table: only lines holding a column gap are read."""
    for gap in ("  ", "\u3000"):
        i = text.find(gap)
        while i >= 0:
            ls = text.rfind("\n", 0, i) + 1
            le = text.find("\n", i)
            le = len(text) if le < 0 else le
            line = text[ls:le]
            cols = _header(line) if _maybe_header(line) else None
            if cols is not None:
                nxt = text.find("\n", le + 1)
                if len(_segments(text[le + 1:len(text) if nxt < 0 else nxt])) >= max(2, (len(cols) + 1) // 2):
                    return True  # a header over a full row
            i = text.find(gap, le)
    return False


def _maybe_header(line: str) -> bool:
    """Cheap test: a gap inside the line, no sentence or label punctuation, not a Word-export cell."""
    inner = line.strip()
    return (
        ("  " in inner or "\u3000" in inner)
        and line[:1] != "\t"
        and "：" not in inner
        and "，" not in inner
        and "。" not in inner
    )


def _header(line: str) -> Optional[list[int]]:
    """Column positions of a table header line: three or more short labels set apart by gaps."""
    segs = _segments(line)
    if len(segs) < 3 or any(e - s > 14 or _LABEL_PUNCT.search(line, s, e) for _, s, e in segs):
        return None
    return [col for col, _, _ in segs]


def find_space_tables(text: str) -> list[Table]:
    """Tables laid out with spaces (PDF text): a header of short labels, then rows whose cells
    start under the header's columns (in display width). A line filling fewer than half the
    columns continues the cells above it (wrapped cells); a page number between two parts of a
    table with the same header joins them. A wrapped cell's text is joined across lines; its
    offsets span the lines it covers when no other column's text lies between them, else its
    first line only (the quote must be contiguous source)."""
    if not _has_header_line(text):
        return []  # the usual case, found without splitting the text into lines
    lines = text.split("\n")
    starts = list(accumulate((len(ln) + 1 for ln in lines), initial=0))
    tables: list[Table] = []
    i = 0
    last_header: Optional[str] = None
    while i < len(lines):
        line = lines[i]
        cols = _header(line) if _maybe_header(line) else None
        if cols is None or i + 1 >= len(lines) or not _segments(lines[i + 1]):
            i += 1
            continue
        j, rows = _space_rows(lines, starts, text, i + 1, cols)
        if len(rows) < 1:
            i += 1
            continue
        header = _space_row(text, [[(starts[i] + s, starts[i] + e)] for _, s, e in _segments(line)], starts[i])
        prev = tables[-1] if tables else None
        if (
            prev is not None
            and last_header == line.strip()
            and all(not ln.strip() or _PAGE_LINE.match(ln.strip()) for ln in lines[_line_of(starts, prev.end) + 1:i])
        ):
            prev.rows.extend(rows)  # the same table going on after a page break
            prev.end = starts[j - 1] + len(lines[j - 1])
        else:
            tables.append(Table(start=starts[i], end=starts[j - 1] + len(lines[j - 1]), rows=[header, *rows]))
        last_header = line.strip()
        i = j
    return tables


def _line_of(starts: list[int], offset: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _space_rows(lines: list[str], starts: list[int], text: str, i: int, cols: list[int]) -> tuple[int, list[Row]]:
    """Rows from line i on, until a blank line or a line that does not sit under the columns."""
    rows: list[Row] = []
    cells: Optional[list[list[tuple[int, int]]]] = None  # per column: (start, end) fragments
    at = starts[i]
    need = max(2, (len(cols) + 1) // 2)
    while i < len(lines):
        segs = _segments(lines[i])
        if not segs or _PAGE_LINE.match(lines[i].strip()):
            break  # a blank line or a page number ends this part of the table
        placed = []
        for col, s, e in segs:
            k = max((c for c in range(len(cols)) if cols[c] <= col + 2), default=None)
            if k is None or (k < len(cols) - 1 and _width(lines[i][s:e]) > cols[k + 1] - cols[k] + 4):
                break  # text running across columns: narrative, not a cell
            placed.append((k, starts[i] + s, starts[i] + e))
        else:
            opens = len(placed) >= need or (len(placed) >= 2 and placed[0][0] == 0)  # "合计  100  91.5"
            if opens or cells is None:
                if cells is None and len(placed) < need:
                    break  # the first line under the header must be a full row
                if cells is not None:
                    rows.append(_space_row(text, cells, at))
                cells, at = [[] for _ in cols], starts[i]
            for k, s, e in placed:
                cells[k].append((s, e))
            i += 1
            continue
        break
    if cells is not None:
        rows.append(_space_row(text, cells, at))
    return i, rows


def _space_row(text: str, cells: list[list[tuple[int, int]]], at: int) -> Row:
    """One row from its cells' fragments; `at` (the row's first offset) places empty cells."""
    out = []
    for frags in cells:
        if not frags:
            out.append(Cell(at, at, ""))
            continue
        s, e = frags[0][0], frags[-1][1]
        if len(frags) == 1 or _only_layout_between(text, frags):
            out.append(Cell(s, e, text[s:e]))
        else:  # other columns' text lies between: offsets of the first line, the text joined
            out.append(Cell(s, frags[0][1], _join_lines([text[a:b] for a, b in frags])))
    return Row(out)


def interleaved(text: str, cell: Cell) -> bool:
    """A cell wrapped around other columns' text (a space-aligned PDF table): its text is the
    pieces joined and its offsets cover the first line only, so no single quote covers it."""
    return text[cell.start:cell.end] != cell.text


def _only_layout_between(text: str, frags: list[tuple[int, int]]) -> bool:
    return all(not text[a_end:b_start].strip() for (_, a_end), (b_start, _) in zip(frags, frags[1:]))


def cell_value(s: str) -> str:
    """A cell's text on one line: wrapped lines joined (no space inside CJK text), spaces folded."""
    if "\n" not in s:
        return " ".join(s.split())
    lines = [" ".join(ln.split()) for ln in s.split("\n")]
    lines = [ln for ln in lines if ln]
    return _join_lines(lines) if lines else ""


def _join_lines(parts: list[str]) -> str:
    """A wrapped cell's lines joined: no space between CJK text, one space between words."""
    out = parts[0]
    for p in parts[1:]:
        out += ("" if _width(out[-1:]) == 2 or _width(p[:1]) == 2 else " ") + p
    return out


def table_title(text: str, table_start: int) -> str:
    """The line just above a table ("2024 年度预算单位整体支出绩效自评表"): the name of the table
    (or project) its rows belong to; a page number in between is skipped."""
    lines = text[max(0, table_start - 300):table_start].rstrip().split("\n")
    while len(lines) > 1 and _PAGE_LINE.match(lines[-1].strip()):
        lines.pop()
    before = strip_artefacts(lines[-1].strip().strip("*#").strip())
    return before if 0 < len(before) <= 40 else ""


def cell_key(s: str) -> str:
    """A cell's text with all whitespace removed, for matching header labels across wrapping."""
    return "".join(s.split())

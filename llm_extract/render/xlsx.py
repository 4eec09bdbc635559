"""Digest as an Excel workbook: one sheet per table, each an Excel Table (autofilter, banded rows,
ready for a pivot table), frozen headers, widths fit for Chinese, long text wrapped.

Written in openpyxl's write-only mode so thousands of rows stay fast and small in memory; numbers
are stored as numbers and every document string as text (never as a formula).
"""

from __future__ import annotations

import unicodedata
import warnings
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from ..atomic import atomic_path
from ..digest import Digest
from .tables import tables

SHEET_TITLES = {"reports": "reports 报告", "items": "items 条目", "links": "links 关联", "problems": "problems 问题",
                "measures": "measures 措施", "indicators": "indicators 指标", "themes": "themes 主题", "year_over_year": "year over year 同比"}
MAX_WIDTH = 60
#: Text columns wider than this (display columns) wrap instead of running off the screen.
WRAP_WIDTH = 30
_WRAP = Alignment(wrap_text=True, vertical="top")


def display_width(value: Any) -> int:
    """Columns a value needs: CJK and full-width characters count two (longest line of the cell)."""
    if value is None:
        return 0
    lines = str(value).split("\n")
    return max(sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line) for line in lines)


def write(d: Digest, out: Path) -> list[Path]:
    wb = Workbook(write_only=True)
    for name, (header, rows) in tables(d).items():
        ws = wb.create_sheet(SHEET_TITLES.get(name, name))
        widths = [display_width(h) for h in header]
        for row in rows[:500]:  # a sample is enough to size columns
            for i, v in enumerate(row):
                widths[i] = max(widths[i], display_width(v))
        wrap = [w > WRAP_WIDTH for w in widths]
        for i, w in enumerate(widths, 1):
            ws.column_dimensions[get_column_letter(i)].width = min(max(w, 6), MAX_WIDTH) + 2
        ws.freeze_panes = "A2"
        head = []
        for h in header:
            c = WriteOnlyCell(ws, h)
            c.font = Font(bold=True)
            head.append(c)
        ws.append(head)
        for row in rows:
            cells = []
            for i, v in enumerate(row):
                if isinstance(v, str):
                    v = ILLEGAL_CHARACTERS_RE.sub("", v)  # control characters from PDF text
                    if wrap[i] or v.startswith("="):
                        c = WriteOnlyCell(ws, v)
                        c.data_type = "s"  # document text starting with '=' must not become a formula
                        if wrap[i]:
                            c.alignment = _WRAP
                        v = c
                cells.append(v)
            ws.append(cells)
        if not rows:
            continue  # an Excel Table needs a data row; an empty sheet keeps its header only
        with warnings.catch_warnings():  # openpyxl warns that write-only tables need their columns: given
            warnings.filterwarnings("ignore", message="In write-only mode you must add table columns manually")
            ws.add_table(_table(name, header, len(rows)))
    with atomic_path(out) as tmp:
        wb.save(tmp)
    return [out]


def _table(name: str, header: list[str], n_rows: int) -> Table:
    """The sheet's cells as an Excel Table (write-only mode needs its columns spelled out)."""
    ref = f"A1:{get_column_letter(len(header))}{n_rows + 1}"
    t = Table(displayName=f"digest_{name}", ref=ref, autoFilter=AutoFilter(ref=ref))
    t.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    t.tableColumns = [TableColumn(id=i, name=str(h)) for i, h in enumerate(header, 1)]
    return t

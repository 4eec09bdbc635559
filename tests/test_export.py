"""The long-format export: one row per item as an Excel Table (autofilter, wrapped text, numbers as
numbers, checked with openpyxl) and as CSV, with link ids and reasons per item."""

from __future__ import annotations

import csv

from openpyxl import load_workbook

from _digest_samples import report_a, report_b, report_c
from llm_extract.digest import digest
from llm_extract.render import write_digest
from llm_extract.render.tables import ITEM_COLUMNS


def test_xlsx_sheets_are_excel_tables_with_autofilter_and_typed_cells(tmp_path):
    out = tmp_path / "d.xlsx"
    d = digest([report_a(), report_b(), report_c()])
    write_digest(d, out)
    wb = load_workbook(out)
    for ws in wb:
        assert len(ws.tables) == 1, ws.title
        table = next(iter(ws.tables.values()))
        assert table.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}"
        assert table.autoFilter is not None and table.autoFilter.ref == table.ref
        assert [c.name for c in table.tableColumns] == [c.value for c in ws[1]]
    ws = wb[next(n for n in wb.sheetnames if n.startswith("items"))]
    header = [c.value for c in ws[1]]
    assert header == ITEM_COLUMNS
    rows = [dict(zip(header, (c.value for c in r))) for r in ws.iter_rows(min_row=2)]
    n_items = sum(len(r.items()) for r in (report_a(), report_b(), report_c()))
    assert len(rows) == n_items  # one row per item, every category
    assert {r["category"] for r in rows} == {"goal", "achievement", "problem", "measure"}
    for r in rows:
        assert isinstance(r["year"], int) and isinstance(r["start"], int) and isinstance(r["end"], int)
        assert isinstance(r["links"], int)
    quote_col = header.index("quote") + 1
    assert all(ws.cell(i, quote_col).alignment.wrap_text for i in range(2, ws.max_row + 1))
    # a problem's row names the measures linked to it, with the reason of each
    p2 = next(r for r in rows if r["item_id"] == "jia_2024/P2")
    assert p2["linked_ids"] == "jia_2024/M1" and p2["link_reasons"] and p2["links"] == 1
    m1 = next(r for r in rows if r["item_id"] == "jia_2024/M1")
    assert "jia_2024/P2" in m1["linked_ids"].split("; ")
    ind = wb[next(n for n in wb.sheetnames if n.startswith("indicators"))]
    ih = [c.value for c in ind[1]]
    assert all(isinstance(ind.cell(i, ih.index("weight") + 1).value, int) for i in range(2, ind.max_row + 1))


def test_long_csv_has_the_same_rows_and_a_links_table(tmp_path):
    out = tmp_path / "d.csv"
    d = digest([report_a(), report_b(), report_c()])
    write_digest(d, out)
    items = list(csv.DictReader((tmp_path / "d.items.csv").open(encoding="utf-8-sig")))
    assert list(items[0]) == ITEM_COLUMNS
    assert len(items) == len(d.problems) + len(d.measures) + len(d.other_items)
    links = list(csv.DictReader((tmp_path / "d.links.csv").open(encoding="utf-8-sig")))
    assert len(links) == sum(len(p.measures) for p in d.problems)
    assert {(l["problem_id"], l["measure_id"]) for l in links} == {
        (p.id, l.measure_id) for p in d.problems for l in p.measures}


def test_themes_sheet_has_no_empty_summary_columns_without_llm(tmp_path):
    out = tmp_path / "d.xlsx"
    write_digest(digest([report_a(), report_b()]), out)
    ws = load_workbook(out)[next(n for n in load_workbook(out).sheetnames if n.startswith("themes"))]
    header = [c.value for c in ws[1]]
    assert "summary" not in header and "top_problem" in header
    assert all(ws.cell(i, header.index("top_problem") + 1).value for i in range(2, ws.max_row + 1))

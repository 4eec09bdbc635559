"""The per-report viewer places every grounded item exactly and says which ones it could not."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from _digest_samples import TEXT_A, TEXT_X, XSS, item, report, report_a, report_x, write_with_source
from llm_extract.cli import app
from llm_extract.models import Item
from llm_extract.view import ViewError, render_view

runner = CliRunner()


class DocParser(HTMLParser):
    """Collects, inside #doc, the text of every <mark> per item id and the item anchors."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.in_doc = 0
        self.mark_ids: list[list[str]] = []
        self.per_item: dict[str, str] = {}
        self.text: list[str] = []
        self.anchors: list[str] = []
        self.unplaced = 0
        self._section = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id") == "doc":
            self.in_doc = 1
        elif self.in_doc:
            self.in_doc += 1
            if tag == "mark":
                self.mark_ids.append(a["data-ids"].split())
            if a.get("class") == "anchor":
                self.anchors.append(a["data-item"])
        if a.get("id") == "unplaced":
            self._section = "unplaced"
        if self._section == "unplaced" and tag == "li":
            self.unplaced += 1

    def handle_endtag(self, tag):
        if self.in_doc:
            self.in_doc -= 1
            if tag == "mark":
                self.mark_ids.pop()
        if tag == "section":
            self._section = None

    def handle_data(self, data):
        if self.in_doc:
            self.text.append(data)
            for ids in self.mark_ids:
                for i in ids:
                    self.per_item[i] = self.per_item.get(i, "") + data


def parse(html: str) -> DocParser:
    p = DocParser()
    p.feed(html)
    return p


def test_every_item_is_highlighted_exactly_at_its_offsets():
    rep = report_a()
    html = render_view(rep, text=TEXT_A)
    p = parse(html)
    items = rep.items()
    assert "".join(p.text) == TEXT_A  # the full text, unchanged
    assert len(p.anchors) == len(items)
    for n, it in enumerate(items):
        assert p.per_item[str(n)] == it.quote
    assert p.unplaced == 0


def test_overlapping_and_nested_items_stay_exact():
    t = "一、存在问题\n人员紧缺，设备陈旧，信息化滞后。\n"
    items = [
        item(t, "problem", "人员紧缺，设备陈旧，信息化滞后。"),
        item(t, "problem", "设备陈旧，"),                      # nested inside the first
        Item(category="measure", text="x", quote="信息化滞后。\n", start=t.index("信息化"), end=len(t)),  # crossing
    ]
    rep = report("ov", t, items)
    p = parse(render_view(rep, text=t))
    for n, it in enumerate(rep.items()):
        assert p.per_item[str(n)] == t[it.start:it.end] == it.quote


def test_items_that_do_not_match_the_text_go_to_the_not_placed_panel():
    t = TEXT_A
    good = item(t, "problem", "（二）信息化建设滞后，各医疗机构信息系统无法互联互通。")
    shifted = good.model_copy(update={"start": good.start + 1, "end": good.end + 1})
    no_offsets = Item(category="measure", text="m", quote="不存在的措施")
    ungrounded = Item(category="goal", text="g", quote="模型编造的目标", alignment="none")
    rep = report("bad", t, [good, shifted, no_offsets], ungrounded=[ungrounded])
    html = render_view(rep, text=t)
    p = parse(html)
    assert len(p.anchors) == 1
    assert p.unplaced == 3
    assert "differs from the quote" in html and "no offsets" in html and "could not be grounded" in html


def test_source_is_loaded_from_the_result_and_a_missing_source_is_a_clear_error(tmp_path):
    path = write_with_source(tmp_path / "out", report_a(), TEXT_A)
    out = tmp_path / "a.html"
    html = render_view(path, out=out)
    assert out.read_text(encoding="utf-8") == html
    assert "sha256 mismatch" not in html
    assert len(parse(html).anchors) == len(report_a().items())

    (tmp_path / "out" / "jia_2024.txt").unlink()
    with pytest.raises(ViewError, match="source file of 'jia_2024' not found.*--source"):
        render_view(path)


def test_source_found_beside_the_result_or_given_explicitly(tmp_path):
    rep = report_a()  # source recorded as the relative name "jia_2024.txt"
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "jia_2024.json").write_text(rep.to_json(), encoding="utf-8")
    (folder / "jia_2024.txt").write_text(TEXT_A, encoding="utf-8")
    assert len(parse(render_view(folder / "jia_2024.json")).anchors) == len(rep.items())
    moved = tmp_path / "elsewhere.txt"
    (folder / "jia_2024.txt").rename(moved)
    assert len(parse(render_view(folder / "jia_2024.json", source=moved)).anchors) == len(rep.items())


def test_changed_source_is_flagged():
    rep = report_a()
    html = render_view(rep, text=TEXT_A.replace("甲县", "乙县", 1))
    assert "sha256 mismatch" in html


def test_document_markup_is_shown_as_text():
    rep = report_x()
    html = render_view(rep, text=TEXT_X)
    assert "<script>alert" not in html and "<img src=x" not in html
    p = parse(html)
    assert "".join(p.text) == TEXT_X  # the injected characters are there, as text
    assert XSS in p.per_item["0"]


def test_cli_view(tmp_path):
    path = write_with_source(tmp_path / "out", report_a(), TEXT_A)
    r = runner.invoke(app, ["view", str(path)])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "jia_2024.html").exists()

    (tmp_path / "out" / "jia_2024.txt").unlink()
    r = runner.invoke(app, ["view", str(path), "-o", str(tmp_path / "v.html")])
    assert r.exit_code == 1 and "not found" in r.stderr and "Traceback" not in r.output

    (tmp_path / "bad.json").write_text(json.dumps({"x": 1}), encoding="utf-8")
    r = runner.invoke(app, ["view", str(tmp_path / "bad.json"), "-o", str(tmp_path / "v.html")])
    assert r.exit_code == 1 and "not an llm-extract result" in r.stderr


# --------------------------------------------------------------------------- display shape


def test_word_table_is_a_grid_and_bare_cells_sit_under_their_indicator_row():
    from _digest_samples import TEXT_TABLE, report_table
    from llm_extract.view import RowGroup, lay_out

    rep = report_table()
    layout = lay_out(rep, TEXT_TABLE)
    html = str(layout.body)
    assert html.count('<div class="tgrid" style="--cols:4">') == 1
    assert html.count('<div class="trow">') == 3
    assert html.count('<span class="tcell">') == 12 and html.count('<span class="tcell"></span>') == 1
    # every character of the source is still in the page, in order (offsets stay exact)
    assert re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == TEXT_TABLE
    groups = [e for e in layout.side if isinstance(e, RowGroup)]
    assert [(g.row.name, [p.item.quote for p in g.members]) for g in groups] == [
        ("新增学位", ["新增学位\n\t≥1350个", "1380个"]),
        ("课后服务覆盖率", ["96%", "部分农村学校师资不足", "下一步将统筹校外资源"]),
    ]


def test_pdf_hard_wrap_is_hidden_for_display_only():
    from llm_extract.view_display import hard_wraps

    para = "".join(f"第{i}行文字很长很长很长很长很长很长很长很长很长很长很长很长，\n" for i in range(8)) + "结束。\n短行\n"
    wraps = hard_wraps(para)
    assert len(wraps) == 8 and all(para[a:b] == "\n" for a, b in wraps)  # the break after "结束。" stays
    assert hard_wraps("一、标题\n（一）短行一。\n（二）短行二。\n") == []

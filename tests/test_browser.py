"""Both HTML outputs opened in headless Chromium: they load cleanly, show what they should, react to
clicks, and show injected markup as text. Screenshots land in each test's tmp_path.

Needs Debian's chromium (.ci/install_browser.sh) and the `playwright` Python package (its driver
only; no `playwright install`). Skipped with a reason when chromium is missing on a developer
machine; under CI (env CI set) a missing browser fails instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from _digest_samples import (TEXT_A, TEXT_X, XSS, item, report, report_a, report_b, report_c, report_x,
                             write_with_source)
from llm_extract.digest import digest
from llm_extract.render import write_digest
from llm_extract.view import render_view

CHROMIUM = Path(os.environ.get("LLM_EXTRACT_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _require_browser() -> None:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"chromium not found at {CHROMIUM} (install it with .ci/install_browser.sh)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the 'playwright' Python package is not installed")
    if missing:
        reason = "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run under CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Page:
    """A page plus everything it reported: console errors, uncaught exceptions, dialogs."""

    def __init__(self, browser):
        self.ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        self.pg = self.ctx.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.pg.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.pg.on("pageerror", lambda e: self.errors.append(str(e)))
        self.pg.on("dialog", self._dialog)

    def _dialog(self, d):
        self.dialogs.append(d.message)
        d.dismiss()

    def open(self, path: Path):
        self.pg.goto(path.resolve().as_uri())
        self.pg.wait_for_load_state("load")
        return self.pg


@pytest.fixture
def page(browser):
    p = Page(browser)
    yield p
    p.ctx.close()


def in_viewport(pg, selector_js: str) -> bool:
    return pg.evaluate(f"""() => {{ const el = {selector_js}; const r = el.getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight; }}""")


# --------------------------------------------------------------------------- viewer


def long_report():
    """Report A with a problem far down the page, so jumping to it has to scroll."""
    filler = "".join(f"（{i}）本段为填充说明文字，用于拉长页面，检查点击条目后能否滚动到对应位置。\n" for i in range(120))
    text = TEXT_A + filler + "五、其他问题\n（一）基层医疗卫生机构设备老化，远程医疗设备缺乏。\n"
    rep = report_a()
    last = item(text, "problem", "（一）基层医疗卫生机构设备老化，远程医疗设备缺乏。", "五、其他问题")
    items = [*rep.items(), last]
    return report("long_2024", text, items, unit="甲县卫生健康局", year=2024), text


def test_viewer_loads_highlights_every_item_and_jumps_to_it(page, tmp_path):
    rep, text = long_report()
    path = write_with_source(tmp_path / "out", rep, text)
    html = tmp_path / "view.html"
    render_view(path, out=html)
    pg = page.open(html)

    n = len(rep.items())
    assert pg.locator("#doc .anchor").count() == n
    assert pg.locator("#items li").count() == n
    assert pg.locator("#unplaced li").count() == 0
    # the browser's own text of each item's highlighted segments is exactly the quote
    got = pg.evaluate("""(n) => { const out = [];
        for (let i = 0; i < n; i++) out.push(Array.from(document.querySelectorAll('#doc mark.hl'))
            .filter(m => m.dataset.ids.split(' ').includes(String(i))).map(m => m.textContent).join(''));
        return out; }""", n)
    assert got == [it.quote for it in rep.items()]

    last = f"document.querySelector('#it-{n - 1}').nextElementSibling"
    assert not in_viewport(pg, last)
    pg.click(f"#items li[data-item='{n - 1}']")
    pg.wait_for_function(f"() => {{ const r = {last}.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }}")
    assert in_viewport(pg, last)
    assert pg.get_attribute(f"#items li[data-item='{n - 1}']", "title").startswith("problem · section: 五、其他问题 · alignment: exact")

    pg.uncheck("#legend input[data-cat='problem']")  # legend toggles a category's highlights
    assert pg.evaluate("document.body.classList.contains('hide-problem')")
    pg.check("#legend input[data-cat='problem']")
    pg.screenshot(path=str(tmp_path / "view.png"))
    assert page.errors == []


def test_viewer_shows_injected_markup_as_text(page, tmp_path):
    rep = report_x()
    html = tmp_path / "xss.html"
    render_view(rep, out=html, text=TEXT_X)
    pg = page.open(html)
    pg.wait_for_timeout(200)  # give an injected handler the chance to fire
    assert page.dialogs == []
    assert pg.locator("img").count() == 0
    assert pg.locator("#doc script").count() == 0
    assert XSS in pg.inner_text("#doc")
    assert XSS in pg.inner_text("h1")
    pg.screenshot(path=str(tmp_path / "xss.png"))
    assert page.errors == []


# --------------------------------------------------------------------------- digest


def test_digest_page_loads_with_counts_chart_and_sortable_tables(page, tmp_path):
    out = tmp_path / "digest.html"
    d = digest([report_a(), report_b(), report_c()])
    write_digest(d, out)
    pg = page.open(out)
    assert pg.locator("#t-reports tbody tr").count() == len(d.reports) == 3
    assert pg.locator("#t-links tbody tr").count() == len(d.problems)
    assert pg.locator("#t-unaddressed tbody tr").count() == len(d.unaddressed())
    assert pg.locator("svg.chart rect.bar").count() == len(d.themes)
    assert pg.locator("article.card").count() == 3

    def score_column():
        return [float(x.split()[0]) for x in pg.locator("#t-reports tbody tr td:nth-child(4)").all_inner_texts()]

    header = pg.locator("#t-reports th", has_text="Self-score")
    header.click()
    assert score_column() == sorted(score_column())
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert score_column() == sorted(score_column(), reverse=True)
    pg.screenshot(path=str(tmp_path / "digest.png"), full_page=True)
    assert page.errors == []


def test_digest_page_shows_injected_markup_as_text(page, tmp_path):
    out = tmp_path / "digest_xss.html"
    write_digest(digest([report_a(), report_x()]), out)
    pg = page.open(out)
    pg.wait_for_timeout(200)
    assert page.dialogs == []
    assert pg.locator("img").count() == 0
    assert pg.locator("script").count() == 1  # only the page's own sorting script
    assert XSS in pg.inner_text("#t-reports")
    assert XSS in pg.inner_text("#themes")
    pg.screenshot(path=str(tmp_path / "digest_xss.png"))
    assert page.errors == []


# --------------------------------------------------------------------------- drill-down


def test_digest_citation_opens_the_report_view_at_its_item(page, tmp_path):
    from llm_extract.render.views import write_views

    rep, text = long_report()
    folder = tmp_path / "out"
    write_with_source(folder, rep, text)
    out = tmp_path / "digest.html"
    d = digest([folder])
    hrefs, _ = write_views(d, [folder], out)
    write_digest(d, out, views=hrefs)
    far = d.problems[-1]  # the problem far down the page: opening it has to scroll
    pg = page.open(out)
    link = pg.locator(f"#t-unaddressed a.src[href$='#item-{far.id.split('/')[1]}'], "
                      f"#t-links a.src[href$='#item-{far.id.split('/')[1]}']").first
    link.click()
    pg.wait_for_load_state("load")
    assert pg.url.endswith(f"long_2024.html#item-{far.id.split('/')[1]}")
    n = pg.get_attribute(f"#item-{far.id.split('/')[1]}", "data-item")
    first_mark = f"Array.from(document.querySelectorAll('#doc mark.hl')).find(m => m.dataset.ids.split(' ').includes('{n}'))"
    pg.wait_for_function(f"() => {{ const r = {first_mark}.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }}")
    got = pg.evaluate(f"""() => Array.from(document.querySelectorAll('#doc mark.hl'))
        .filter(m => m.dataset.ids.split(' ').includes('{n}')).map(m => m.textContent).join('')""")
    assert got == far.quote
    pg.screenshot(path=str(tmp_path / "drilldown.png"))
    assert page.errors == []


# --------------------------------------------------------------------------- viewer: filter, search, grid


def visible_items(pg) -> list[str]:
    return pg.evaluate("""() => Array.from(document.querySelectorAll('#items li.item'))
        .filter(li => li.offsetParent !== null).map(li => li.dataset.cat + ':' + li.dataset.text.split(' ')[0])""")


def test_viewer_category_filter_and_search_narrow_the_side_list(page, tmp_path):
    from _digest_samples import TEXT_TABLE, report_table

    rep = report_table()
    html = tmp_path / "table.html"
    render_view(rep, out=html, text=TEXT_TABLE)
    pg = page.open(html)
    assert len(visible_items(pg)) == len(rep.items())

    pg.uncheck("#legend input[data-cat='problem']")  # the side list loses the problems too
    shown = visible_items(pg)
    assert shown and not any(s.startswith("problem:") for s in shown)
    assert pg.inner_text("#shown") == str(len(rep.items()) - len(rep.problems))
    pg.check("#legend input[data-cat='problem']")

    pg.fill("#search", "课后服务")  # matches the problem text and, through its row, the bare "96%" cell
    shown = visible_items(pg)
    assert sorted(shown) == sorted(["achievement:96%", "problem:部分农村学校师资不足", "measure:下一步将统筹校外资源",
                                    "problem:一是部分农村学校课后服务以看管为主，特色课程开设率仅为42%，学生和家长对课后服务的满意度"])
    assert pg.locator("#items li.group:visible").count() == 1  # 新增学位's row has no match: hidden
    pg.fill("#search", "没有这个词")
    assert visible_items(pg) == [] and pg.inner_text("#shown") == "0"
    pg.fill("#search", "")
    assert len(visible_items(pg)) == len(rep.items())
    assert page.errors == []


def test_viewer_shows_word_tables_as_a_grid_and_joins_pdf_wraps_with_exact_text(page, tmp_path):
    from _digest_samples import TEXT_TABLE, report_table

    rep = report_table()
    wrapped = "".join(f"第{i}段文字很长很长很长很长很长很长很长很长很长很长很长很长，\n" for i in range(8)) + "结束。\n"
    text = TEXT_TABLE + wrapped
    html = tmp_path / "grid.html"
    render_view(rep.model_copy(update={"sha256": ""}), out=html, text=text)
    pg = page.open(html)
    # cells of one row sit side by side, rows one under the other
    tops = pg.evaluate("""() => Array.from(document.querySelectorAll('.trow')).map(r =>
        Array.from(r.querySelectorAll('.tcell')).map(c => Math.round(c.getBoundingClientRect().top)))""")
    assert len(tops) == 3 and all(len(set(row)) == 1 for row in tops) and tops[0][0] < tops[1][0] < tops[2][0]
    lefts = pg.evaluate("""() => Array.from(document.querySelectorAll('.trow'))[1].querySelectorAll('.tcell').length""")
    assert lefts == 4
    # the page's text is still the source, character for character, and each item's marks its quote
    assert pg.evaluate("document.getElementById('doc').textContent") == text
    got = pg.evaluate("""(n) => { const out = [];
        for (let i = 0; i < n; i++) out.push(Array.from(document.querySelectorAll('#doc mark.hl'))
            .filter(m => m.dataset.ids.split(' ').includes(String(i))).map(m => m.textContent).join(''));
        return out; }""", len(rep.items()))
    assert got == [it.quote for it in rep.items()]
    # the hard-wrapped paragraph reads as one line of text on screen
    shown = pg.evaluate("document.getElementById('doc').innerText")
    assert "很长，第1段" in shown and "结束。" in shown
    pg.screenshot(path=str(tmp_path / "grid.png"), full_page=True)
    assert page.errors == []

"""Drill-down: every citation of an HTML digest written with views links to its item's place in
its report's view page, and the anchor there is exactly that item."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from urllib.parse import unquote

from typer.testing import CliRunner

from _digest_samples import TEXT_A, TEXT_B, report_a, report_b, write_with_source
from llm_extract.cli import app
from llm_extract.digest import digest
from llm_extract.render import write_digest
from llm_extract.render.views import write_views

runner = CliRunner()
LINK = re.compile(r'<a class="src" href="([^"#]+)#item-([GAPM]\d+)"')


def results(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    write_with_source(out, report_a(), TEXT_A)
    write_with_source(out, report_b(), TEXT_B)
    return out


def anchored_quote(page: str, ref: str) -> str:
    """The highlighted text of the item the anchor item-<ref> of a view page points at."""
    n = re.search(rf'id="item-{ref}" data-item="(\d+)"', page).group(1)
    marks = re.findall(r'<mark class="hl[^"]*" data-ids="([^"]+)"[^>]*>(.*?)</mark>', page, re.S)
    return "".join(unescape(t) for ids, t in marks if n in ids.split())


def test_every_citation_links_to_its_item_in_the_report_view(tmp_path):
    out = results(tmp_path)
    d = digest([out])
    target = tmp_path / "site" / "digest.html"
    target.parent.mkdir()
    hrefs, warnings = write_views(d, [out], target)
    write_digest(d, target, views=hrefs)
    assert warnings == [] and set(hrefs) == {"jia_2024", "yi_2024"}
    html = target.read_text(encoding="utf-8")
    links = LINK.findall(html)
    cited = {f"{Path(unquote(page)).stem}/{ref}" for page, ref in links}
    # every problem and measure, and every card bullet, is a link
    assert {e.id for e in (*d.problems, *d.measures)} <= cited
    assert {b.id for c in d.cards for bs in c.bullets.values() for b in bs} <= cited
    quotes = {e.id: e.quote for e in (*d.problems, *d.measures)}
    quotes.update({b.id: b.quote for c in d.cards for bs in c.bullets.values() for b in bs})
    for page, ref in set(links):
        view = (target.parent / unquote(page)).read_text(encoding="utf-8")
        assert anchored_quote(view, ref) == quotes[f"{Path(unquote(page)).stem}/{ref}"]


def test_cli_views_writes_pages_beside_the_digest_and_needs_html(tmp_path):
    out = results(tmp_path)
    target = tmp_path / "d.html"
    r = runner.invoke(app, ["digest", str(out), "-o", str(target), "--views"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "d_views").iterdir()) == ["jia_2024.html", "yi_2024.html"]
    assert 'href="d_views/jia_2024.html#item-P1"' in target.read_text(encoding="utf-8")
    r = runner.invoke(app, ["digest", str(out), "-o", str(tmp_path / "d.md"), "--views"])
    assert r.exit_code == 2 and "--views" in r.stderr


def test_report_whose_source_is_gone_gets_a_warning_and_plain_citations(tmp_path):
    out = results(tmp_path)
    (out / "yi_2024.txt").unlink()
    target = tmp_path / "d.html"
    r = runner.invoke(app, ["digest", str(out), "-o", str(target), "--views"])
    assert r.exit_code == 0, r.output
    assert "no view page for 'yi_2024'" in r.stderr
    html = target.read_text(encoding="utf-8")
    assert "d_views/jia_2024.html#item-" in html and "d_views/yi_2024.html" not in html

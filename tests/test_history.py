"""Year over year: recurring problems and last year's measures against this year's achievements,
checked against the hand-labelled multi-year fixtures (fixtures/multiyear)."""

from __future__ import annotations

from pathlib import Path

from _digest_samples import item, report
from llm_extract.backends import get_backend
from llm_extract.digest import digest
from llm_extract.gold import load_gold_dir, locate_gold
from llm_extract.loaders import load
from llm_extract.models import Item, Meta, Report, build_report_items
from llm_extract.pipeline import extract_path
from llm_extract.render import write_digest

ROOT = Path(__file__).resolve().parent.parent
MULTI = ROOT / "fixtures" / "multiyear"


def gold_reports() -> tuple[list[Report], dict]:
    """The gold items as reports (exact offsets), and the gold's year-over-year pairs as item ids."""
    reports, truth = [], {"recurring": set(), "evidenced": set(), "measures": set()}
    golds = load_gold_dir(MULTI / "gold")
    ids = {}
    for g in golds:
        text = load(MULTI / "reports" / f"{g.doc_id}.txt").text
        items, counters = [], {}
        for n, (gi, span) in enumerate(zip(g.items, locate_gold(g, text)), 1):
            items.append(Item(category=gi.category, text=gi.quote, quote=gi.quote, start=span.start, end=span.end))
            counters[gi.category] = counters.get(gi.category, 0) + 1
            ids[(g.doc_id, n)] = f"{g.doc_id}/{gi.category[0].upper()}{counters[gi.category]}"
        reports.append(Report(doc_id=g.doc_id, source=str(MULTI / "reports" / f"{g.doc_id}.txt"), sha256=g.doc_id,
                              backend="gold", meta=Meta(unit_name=g.meta["unit_name"], year=g.meta["year"]),
                              **build_report_items(items)))
    for g in golds:
        prev = (g.model_extra or {}).get("previous")
        if not prev:
            continue
        truth["recurring"] |= {(ids[(g.doc_id, a)], ids[(prev["doc_id"], b)]) for a, b in prev["recurring"]}
        truth["evidenced"] |= {(ids[(prev["doc_id"], a)], ids[(g.doc_id, b)]) for a, b in prev["evidenced"]}
        earlier = next(x for x in golds if x.doc_id == prev["doc_id"])
        truth["measures"] |= {ids[(earlier.doc_id, n)] for n, it in enumerate(earlier.items, 1) if it.category == "measure"}
    return reports, truth


def test_recurring_problems_and_evidenced_measures_match_the_gold():
    reports, truth = gold_reports()
    d = digest(reports)
    assert {h.unit for h in d.history} == {"桐溪县教育局", "石川县交通运输局"}
    recurring = {(r.problem_id, r.earlier_id) for h in d.history for s in h.steps for r in s.recurring}
    evidenced = {(f.measure_id, f.evidence_id) for h in d.history for s in h.steps for f in s.follow_ups if f.evidenced}
    followed = {f.measure_id for h in d.history for s in h.steps for f in s.follow_ups}
    assert recurring == truth["recurring"]
    assert evidenced == truth["evidenced"]
    assert followed == truth["measures"]  # every earlier measure is judged, evidenced or not


def test_year_over_year_section_appears_for_the_multiyear_fixtures_extracted_by_rules(tmp_path):
    backend = get_backend("rules")
    reports = [extract_path(p, backend) for p in sorted((MULTI / "reports").glob("*.txt"))]
    d = digest(reports)
    assert [h.years for h in d.history] == [[2023, 2024], [2023, 2024]]
    out = tmp_path / "d.html"
    write_digest(d, out)
    html = out.read_text(encoding="utf-8")
    section = html[html.index('<section id="history">'):html.index('<section id="cards">')]
    assert section.count('<article class="unit-history"') == 2
    assert "not evidenced" in section and "evidenced</span>" in section
    write_digest(d, tmp_path / "d.md")
    assert "## Year over year 同比" in (tmp_path / "d.md").read_text(encoding="utf-8")


def test_units_with_one_year_have_no_history_and_gaps_compare_with_the_closest_earlier_year():
    def rep(doc, unit, year, problem):
        t = f"三、存在问题\n{problem}\n"
        return report(doc, t, [item(t, "problem", problem)], unit=unit, year=year)

    d = digest([rep("a21", "甲县水利局", 2021, "供水管网漏损率偏高，老旧管网占比大。"),
                rep("a23", "甲县 水利局", 2023, "供水管网漏损率仍然偏高，老旧管网改造滞后。"),
                rep("b23", "乙县水利局", 2023, "供水管网漏损率偏高，老旧管网占比大。")])
    assert len(d.history) == 1  # 乙县 has one year; 甲县's name is matched ignoring the space
    (step,) = d.history[0].steps
    assert (step.earlier_year, step.year) == (2021, 2023)
    assert [(r.problem_id, r.earlier_id) for r in step.recurring] == [("a23/P1", "a21/P1")]


def test_cli_summary_names_theme_only_links_and_year_over_year(tmp_path):
    from typer.testing import CliRunner

    from _digest_samples import report_a, write_results
    from llm_extract.cli import app

    reports, _ = gold_reports()
    folder = write_results(tmp_path / "out", [*reports, report_a()])
    r = CliRunner().invoke(app, ["digest", str(folder), "-o", str(tmp_path / "d.md")])
    assert r.exit_code == 0, r.output
    assert "year over year for 2 unit(s)" in r.output
    assert "more linked only by theme: check them" in r.output  # report_a's 空编 problem

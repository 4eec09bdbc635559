"""Digest across reports: themes, near-duplicate folding, measure links, cards, filters, formats,
bad input, the LLM option (with a fake chat model) and the CLI."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from _digest_samples import (TEXT_A, item, report, report_a, report_b, report_c, report_x,
                             write_results)
from llm_extract.cli import app
from llm_extract.digest import Digest, DigestError, DigestUsageError, digest, missed_target
from llm_extract.render import write_digest
from llm_extract.models import Indicator
from llm_extract.themes import TaxonomyError, ThemeChoices, ThemeSummaryAnswer, keyword_themes, load_taxonomy

runner = CliRunner()


@pytest.fixture
def results(tmp_path) -> Path:
    return write_results(tmp_path / "out", [report_a(), report_b(), report_c()])


def by_id(entries):
    return {e.id: e for e in entries}


# --------------------------------------------------------------------------- content


def test_problems_get_domain_themes_from_keywords():
    tax = load_taxonomy()
    assert keyword_themes("系统空编严重，空编率达30%", tax)[0] == "staffing"
    assert keyword_themes("信息化建设滞后，信息系统无法互联互通", tax)[0] == "informatisation"
    assert keyword_themes("爱国卫生运动群众参与度不足", tax)[0] == "patriotic_health"
    assert keyword_themes("村里的路灯坏了", tax) == ["other"]


def test_near_duplicates_fold_across_reports_and_count_reports():
    d = digest([report_a(), report_b(), report_c()])
    staffing = next(g for g in d.themes if g.id == "staffing")
    assert staffing.reports == 2 and staffing.problems == 2
    # "空编120名…30%" and "空编386名…48%" differ only in figures and markers: one cluster, two reports
    assert len(staffing.clusters) == 1
    assert staffing.clusters[0].reports == 2
    assert set(staffing.clusters[0].members) == {"jia_2024/P1", "yi_2024/P1"}
    # the most widespread theme comes first
    assert d.themes[0].id == "staffing"


def test_distinct_problems_are_not_folded():
    d = digest([report_a()])
    assert all(len(g.clusters) == g.problems for g in d.themes)


def test_measures_link_to_problems_of_their_own_report_and_unaddressed_are_listed():
    d = digest([report_a(), report_b(), report_c()])
    p = by_id(d.problems)
    assert [l.measure_id for l in p["jia_2024/P2"].measures] == ["jia_2024/M1"]  # 信息化 ↔ 信息平台
    assert [l.measure_id for l in p["jia_2024/P1"].measures] == ["jia_2024/M2"]  # 空编 ↔ 补充空编人员
    assert [l.measure_id for l in p["bing_2023/P1"].measures] == ["bing_2023/M1"]
    for prob in d.problems:
        assert all(l.measure_id.split("/")[0] == prob.doc_id for l in prob.measures)
    unaddressed = {x.id for x in d.unaddressed()}
    assert "jia_2024/P3" in unaddressed  # 爱国卫生: no measure mentions it
    assert "jia_2024/P2" not in unaddressed
    assert by_id(d.measures)["jia_2024/M1"].problems == ["jia_2024/P2"]
    assert next(r for r in d.reports if r.doc_id == "jia_2024").unaddressed_problems == len(
        [x for x in unaddressed if x.startswith("jia_2024/")])


def test_wording_alone_links_a_measure_when_no_theme_applies():
    t = "一、存在问题\n路灯损坏较多，夜间照明不足。\n二、改进措施\n更换损坏路灯，改善夜间照明。\n另行开会研究。\n"
    rep = report("w", t, [item(t, "problem", "路灯损坏较多，夜间照明不足。"),
                          item(t, "measure", "更换损坏路灯，改善夜间照明。"),
                          item(t, "measure", "另行开会研究。")])
    d = digest(rep)
    links = d.problems[0].measures
    assert [l.measure_id for l in links] == ["w/M1"]
    assert links[0].reason == "wording"


def test_overview_row_has_figures_and_counts():
    d = digest([report_a(), report_b()])
    a = next(r for r in d.reports if r.doc_id == "jia_2024")
    assert (a.unit, a.year, a.self_score) == ("甲县卫生健康局", 2024, 96.5)
    assert a.budget == 2000.0 and a.spent == 1800.0
    assert a.execution_rate == pytest.approx(90.0)  # computed from 执行数 / 预算数
    assert a.counts == {"goal": 1, "achievement": 1, "problem": 3, "measure": 2}
    b = next(r for r in d.reports if r.doc_id == "yi_2024")
    assert b.execution_rate == pytest.approx(85.5)  # stated as "85.5%"


def test_card_lists_short_bullets_with_quotes_and_missed_indicators():
    d = digest([report_a(), report_c()])
    card_a = next(c for c in d.cards if c.report.doc_id == "jia_2024")
    assert list(card_a.bullets) == ["goal", "achievement", "problem", "measure"]
    for bullets in card_a.bullets.values():
        for b in bullets:
            assert TEXT_A[b.start:b.end] == b.quote
            assert len(b.text) <= 61
    card_c = next(c for c in d.cards if c.report.doc_id == "bing_2023")
    assert [i.name for i in card_c.missed] == ["预算执行率"]


@pytest.mark.parametrize(
    "target, actual, weight, score, missed",
    [
        ("≥95%", "90%", "", "", True),
        ("≥95%", "96.2%", "", "", False),
        ("≥10 万人次", "11.88 万人次", "", "", False),
        ("≥10 万人次", "98000人次", "", "", True),
        ("≤5%", "6%", "", "", True),
        ("100%", "98%", "", "", True),
        ("全覆盖", "已完成", "5", "5", False),
        ("全覆盖", "部分完成", "5", "3", True),
        ("按时完成", "未完成", "", "", True),
    ],
)
def test_missed_target(target, actual, weight, score, missed):
    ind = Indicator(name="x", target=target, actual=actual, weight=weight, score=score)
    assert (missed_target(ind) is not None) is missed


# --------------------------------------------------------------------------- filters


def test_filters_year_unit_theme_category(results):
    assert [r.doc_id for r in digest(results, year=2023).reports] == ["bing_2023"]
    assert [r.doc_id for r in digest(results, unit="乙市").reports] == ["yi_2024"]

    d = digest(results, theme="人员编制")  # by Chinese name as well as by id
    assert {p.theme for p in d.problems} == {"staffing"}
    assert {r.doc_id for r in d.reports} == {"jia_2024", "yi_2024"}
    assert [g.id for g in d.themes] == ["staffing"]

    d = digest(results, category="problem")
    assert d.measures == [] and d.problems
    assert all(list(c.bullets) == ["problem"] for c in d.cards)
    # links are still known for the problems shown
    assert by_id(d.problems)["jia_2024/P2"].measures


def test_bad_filters_are_usage_errors(results):
    with pytest.raises(DigestUsageError, match="unknown theme 'nonsense'.*staffing"):
        digest(results, theme="nonsense")
    with pytest.raises(DigestUsageError, match="unknown category"):
        digest(results, category="risk")
    with pytest.raises(DigestUsageError, match=r"\.docx"):
        write_digest(digest(results), results / "digest.docx")
    with pytest.raises(DigestError, match="no report matches the filters"):
        digest(results, year=1999)


# --------------------------------------------------------------------------- formats


def test_json_output_round_trips_to_the_model(results, tmp_path):
    d = digest(results)
    write_digest(d, tmp_path / "d.json")
    back = Digest.model_validate_json((tmp_path / "d.json").read_text(encoding="utf-8"))
    assert back.model_dump() == d.model_dump()
    assert back.entry("jia_2024/P2").measures[0].measure_id == "jia_2024/M1"


def test_linked_measures_are_stored_once_by_id_not_copied_into_each_problem(tmp_path):
    """A measure addressing many problems must not multiply the digest's size (issue 9: one
    pathological result made a digest of 24 GB)."""
    long_measure = "针对各项工作存在管理不到位的问题，下一步，我局将" + "加强管理、完善制度、" * 300 + "确保整改到位。"
    points = [f"（{i}）第{i}项工作存在管理不到位的问题。" for i in range(1, 21)]
    text = "三、存在问题\n" + "\n".join(points) + "\n四、改进措施\n" + long_measure + "\n"
    rep = report("many_2024", text, [*(item(text, "problem", q, "三、存在问题") for q in points),
                                     item(text, "measure", long_measure, "四、改进措施")])
    d = digest([rep])
    linked = [p for p in d.problems if p.measures]
    assert len(linked) >= 10, "the one measure addresses the problems it names"
    write_digest(d, tmp_path / "d.json")
    raw = (tmp_path / "d.json").read_text(encoding="utf-8")
    # the measure's own entry (text, quote) and its report card: not once more per linked problem
    assert raw.count("加强管理、完善制度、" * 300) <= 3
    assert all(set(l.model_dump()) == {"measure_id", "score", "reason"} for p in linked for l in p.measures)


def test_markdown_output_cites_quotes_and_escapes(tmp_path):
    out = tmp_path / "d.md"
    write_digest(digest([report_a(), report_b(), report_x()]), out)
    md = out.read_text(encoding="utf-8")
    assert "空编120名" in md and "jia\\_2024" in md  # quotes in the reports' own words, ids escaped
    assert "no measure addresses this problem" in md
    assert not re.search(r"(?<!\\)<(script|img)", md)  # every '<' from a document is escaped
    assert "\\<script\\>" in md


def test_html_output_is_self_contained_and_escaped(tmp_path):
    out = tmp_path / "d.html"
    write_digest(digest([report_a(), report_x()]), out)
    html = out.read_text(encoding="utf-8")
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "http://" not in html and "https://" not in html  # nothing to fetch
    assert "<svg" in html and 'class="sortable"' in html


def test_xlsx_has_four_sheets_frozen_headers_and_text_cells(tmp_path):
    t = "一、存在问题\n=HYPERLINK(\"x\")资金拨付滞后。\n"
    evil = report("evil", t, [item(t, "problem", "=HYPERLINK(\"x\")资金拨付滞后。")])
    out = tmp_path / "d.xlsx"
    d = digest([report_a(), report_c(), evil])
    write_digest(d, out)
    wb = load_workbook(out)
    names = wb.sheetnames
    for key in ("reports", "problems", "measures", "indicators"):
        assert any(n.startswith(key) for n in names)
    ws = wb[next(n for n in names if n.startswith("problems"))]
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert ws.max_row == 1 + len(d.problems)
    assert all(c.font.b for c in ws[1])
    quote_col = header.index("quote") + 1
    from openpyxl.utils import get_column_letter
    # Chinese quotes need wide columns: wider than the default and than the short id column
    assert ws.column_dimensions[get_column_letter(quote_col)].width >= 40
    cell = next(r[quote_col - 1] for r in ws.iter_rows(min_row=2) if str(r[quote_col - 1].value).startswith("="))
    assert cell.data_type == "s"  # stored as text, never as a formula
    ind = wb[next(n for n in names if n.startswith("indicators"))]
    assert ind.max_row == 1 + 2


def test_csv_writes_problems_and_sibling_tables(results, tmp_path):
    out = tmp_path / "d.csv"
    d = digest(results)
    write_digest(d, out)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens the Chinese text correctly
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert len(rows) == len(d.problems)
    assert {r["addressed"] for r in rows} == {"yes", "no"}
    for name in ("reports", "measures", "indicators", "themes"):
        assert (tmp_path / f"d.{name}.csv").exists()


# --------------------------------------------------------------------------- bad input


def test_malformed_foreign_and_other_version_files_are_named_and_skipped(results):
    (results / "broken.json").write_text("{not json", encoding="utf-8")
    (results / "foreign.json").write_text(json.dumps({"hello": "world"}), encoding="utf-8")
    old = json.loads(report_a().to_json()) | {"schema_version": 0, "doc_id": "old"}
    (results / "old.json").write_text(json.dumps(old), encoding="utf-8")
    new = json.loads(report_a().to_json()) | {"schema_version": 2, "doc_id": "new"}
    (results / "new.json").write_text(json.dumps(new), encoding="utf-8")
    (results / "_manifest.json").write_text("[]", encoding="utf-8")  # run bookkeeping: ignored
    d = digest(results)
    assert len(d.reports) == 3
    reasons = {Path(s.path).name: s.reason for s in d.skipped}
    assert set(reasons) == {"broken.json", "foreign.json", "old.json", "new.json"}
    assert "not valid JSON" in reasons["broken.json"]
    assert "not an llm-extract result" in reasons["foreign.json"]
    assert "schema_version 0" in reasons["old.json"] and "re-run" in reasons["old.json"]
    assert "newer" in reasons["new.json"]


def test_empty_folder_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DigestError, match="no result files"):
        digest(tmp_path / "empty")


# --------------------------------------------------------------------------- LLM option


class FakeChat:
    """Duck-typed LangChain chat model: with_structured_output(schema).invoke(messages)."""

    def __init__(self, theme="budget", cite=(1,), summary="多份报告反映预算执行偏低。"):
        self.theme, self.cite, self.summary = theme, list(cite), summary
        self.prompts: list[str] = []

    def with_structured_output(self, schema):
        fake = self

        class Runnable:
            def invoke(self, messages):
                prompt = messages[-1][1]
                fake.prompts.append(prompt)
                if schema is ThemeChoices:
                    n = sum(1 for line in prompt.splitlines() if line.startswith("["))
                    return {"assignments": [{"index": i, "theme": fake.theme} for i in range(1, n + 1)]}
                assert schema is ThemeSummaryAnswer
                return ThemeSummaryAnswer(summary=fake.summary, cited=fake.cite)

        return Runnable()


def test_llm_assigns_themes_and_writes_grounded_summaries():
    chat = FakeChat(theme="budget", cite=(1, 99))
    d = digest([report_a(), report_c()], model=chat)
    assert d.theme_source == "llm"
    assert {p.theme for p in d.problems} == {"budget"}
    assert all(p.theme_source == "llm" for p in d.problems)
    assert any("信息化建设滞后" in p for p in chat.prompts)  # the model saw the reports' words
    g = d.themes[0]
    assert g.summary == "多份报告反映预算执行偏低。"
    assert g.summary_cites == [g.clusters[0].id]  # citation 99 does not exist: dropped


def test_llm_answers_that_cannot_be_used_fall_back_to_keywords():
    d = digest([report_a()], model=FakeChat(theme="not-a-theme", cite=()))
    assert {p.id: p.theme for p in d.problems}["jia_2024/P1"] == "staffing"
    assert all(p.theme_source == "keywords" for p in d.problems)
    assert all(g.summary is None for g in d.themes)  # a summary citing nothing is not shown
    assert any("unusable theme" in w for w in d.warnings)
    assert any("cited none" in w for w in d.warnings)


# --------------------------------------------------------------------------- taxonomy


def test_custom_taxonomy_file(tmp_path):
    f = tmp_path / "themes.toml"
    f.write_text('[[themes]]\nid = "it"\nname = "信息"\nkeywords = ["信息"]\n\n'
                 '[[themes]]\nid = "rest"\nname = "其余"\nfallback = true\n', encoding="utf-8")
    d = digest([report_a()], taxonomy=f)
    assert {p.id: p.theme for p in d.problems} == {"jia_2024/P1": "rest", "jia_2024/P2": "it", "jia_2024/P3": "rest"}
    f.write_text('[[themes]]\nid = "it"\nname = "信息"\n', encoding="utf-8")
    with pytest.raises(TaxonomyError, match="fallback"):
        load_taxonomy(f)


# --------------------------------------------------------------------------- CLI


def test_cli_digest_writes_file_and_exits_1_when_some_files_were_skipped(results, tmp_path):
    out = tmp_path / "d.md"
    r = runner.invoke(app, ["digest", str(results), "-o", str(out), "--year", "2024"])
    assert r.exit_code == 0, r.output
    assert "2 report(s)" in r.stdout and out.exists()
    (results / "broken.json").write_text("{", encoding="utf-8")
    r = runner.invoke(app, ["digest", str(results), "-o", str(out)])
    assert r.exit_code == 1
    assert "broken.json" in r.stderr and "not valid JSON" in r.stderr
    assert "3 report(s)" in r.stdout


def test_cli_digest_usage_errors_and_empty_folder(results, tmp_path):
    r = runner.invoke(app, ["digest", str(results), "-o", str(tmp_path / "d.pdf")])
    assert r.exit_code == 2 and "output format" in r.stderr and "Traceback" not in r.output
    r = runner.invoke(app, ["digest", str(results), "-o", str(tmp_path / "d.md"), "--theme", "nope"])
    assert r.exit_code == 2 and "unknown theme" in r.stderr
    (tmp_path / "empty").mkdir()
    r = runner.invoke(app, ["digest", str(tmp_path / "empty"), "-o", str(tmp_path / "d.md")])
    assert r.exit_code == 1 and "no result files" in r.stderr
    assert not (tmp_path / "d.md").exists()


def test_report_card_stays_short_when_a_report_has_many_items(tmp_path):
    lines = [f"（{i}）完成第{i}项重点工作任务。" for i in range(1, 15)]
    t = "二、主要成效\n" + "\n".join(lines) + "\n"
    rep = report("many", t, [item(t, "achievement", q) for q in lines])
    out = tmp_path / "d.html"
    d = digest(rep)
    write_digest(d, out)
    assert len(d.cards[0].bullets["achievement"]) == 10 and d.cards[0].more["achievement"] == 4
    html = out.read_text(encoding="utf-8")
    card = html[html.index('<article class="card"'):]
    assert card.count("<details>") == 10
    assert "… 4 more" in card


def test_cli_llm_option_needs_an_endpoint_and_uses_the_configured_model(results, tmp_path, monkeypatch):
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LLM_EXTRACT_API_KEY", "LLM_EXTRACT_BASE_URL",
                "LLM_EXTRACT_CONFIG", "LLM_EXTRACT_MODEL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("llm_extract.llm.settings.default_config_path", lambda: tmp_path / "none.toml")
    out = tmp_path / "d.json"
    r = runner.invoke(app, ["digest", str(results), "-o", str(out), "--llm"])
    assert r.exit_code == 2 and "--llm needs a model endpoint" in r.stderr

    made = {}

    class FakeChatOpenAI:  # stands in for langchain_openai.ChatOpenAI: no network
        def __init__(self, **kw):
            made.update(kw)

        def with_structured_output(self, schema, method=None):
            made["method"] = method
            return FakeChat(theme="budget").with_structured_output(schema)

    import llm_extract.llm.client  # noqa: F401 - its LeanChatOpenAI must subclass the real ChatOpenAI

    monkeypatch.setattr("langchain_openai.ChatOpenAI", FakeChatOpenAI)
    r = runner.invoke(app, ["digest", str(results), "-o", str(out), "--llm",
                            "--base-url", "http://127.0.0.1:9/v1", "--model", "qwen-test"])
    assert r.exit_code == 0, r.output
    assert made["model"] == "qwen-test" and made["base_url"] == "http://127.0.0.1:9/v1"
    assert made["method"] == "json_mode"  # a generic OpenAI-compatible server
    d = Digest.model_validate_json(out.read_text(encoding="utf-8"))
    assert d.theme_source == "llm" and {p.theme for p in d.problems} == {"budget"}


# --------------------------------------------------------------------------- hygiene


def test_the_same_report_under_two_names_is_counted_once_with_a_warning_naming_both(tmp_path):
    a = report_a()
    copy = a.model_copy(update={"doc_id": "jia_2024_copy", "source": "jia_2024 (1).txt"})
    d = digest([a, report_b(), copy])
    assert [r.doc_id for r in d.reports] == ["jia_2024", "yi_2024"]
    assert sum(p.doc_id.startswith("jia_2024") for p in d.problems) == len(a.problems)
    warning = next(w for w in d.warnings if "same sha256" in w)
    assert "'jia_2024_copy' (jia_2024 (1).txt)" in warning and "'jia_2024' (jia_2024.txt)" in warning


def test_a_file_with_no_items_is_flagged_in_the_overview(tmp_path):
    empty = report("scan_2024", "（扫描件，无文字）", [], unit="某县教育局", year=2024)
    d = digest([report_a(), empty])
    row = next(r for r in d.reports if r.doc_id == "scan_2024")
    assert row.no_items and not next(r for r in d.reports if r.doc_id == "jia_2024").no_items
    assert any("'scan_2024'" in w and "no items" in w for w in d.warnings)
    write_digest(d, tmp_path / "d.html")
    html = (tmp_path / "d.html").read_text(encoding="utf-8")
    assert html.count('class="no-items"') == 1 and 'title="nothing was extracted' in html
    write_digest(d, tmp_path / "d.md")
    assert "scan\\_2024 ⚠ no items" in (tmp_path / "d.md").read_text(encoding="utf-8")
    write_digest(d, tmp_path / "d.xlsx")
    ws = load_workbook(tmp_path / "d.xlsx")["reports 报告"]
    header = [c.value for c in ws[1]]
    flags = {ws.cell(i, 1).value: ws.cell(i, header.index("flag") + 1).value for i in range(2, ws.max_row + 1)}
    assert flags["scan_2024"] == "no items" and not flags["jia_2024"]

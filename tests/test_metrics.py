"""The eval harness: metrics on hand-made cases (values worked out by hand) and the eval CLI."""

from __future__ import annotations

import importlib
import json
import sys
import types
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from llm_extract.commands.eval import eval_command, load_suite
from llm_extract.evaluation import (
    DocScore,
    EvalResult,
    Span,
    check_thresholds,
    compare,
    prediction_spans,
    score_document,
    score_indicators,
    score_meta,
    score_spans,
)
from llm_extract.models import Indicator, Item, Meta, Report

ROOT = Path(__file__).resolve().parent.parent


def sp(cat: str, start: int, end: int) -> Span:
    return Span(category=cat, start=start, end=end)


def close(a, b) -> bool:
    return a is not None and abs(a - b) < 1e-12


# ---------------------------------------------------------------------------------------------
# span scores

TEN = "甲乙丙丁戊己庚辛壬癸ABCDEF"  # 10 CJK characters then 6 letters


def test_perfect_prediction_scores_one():
    s = score_spans(TEN, [sp("problem", 0, 10)], [sp("problem", 0, 10)])["problem"]
    assert (s.span.precision, s.span.recall, s.span.f1) == (1.0, 1.0, 1.0)
    assert (s.items.precision, s.items.recall, s.items.f1) == (1.0, 1.0, 1.0)


def test_empty_prediction_has_zero_recall_and_f1():
    s = score_spans(TEN, [sp("problem", 0, 10)], [])["problem"]
    assert s.span.recall == 0.0 and s.span.precision == 0.0 and s.span.f1 == 0.0
    assert s.items.recall == 0.0 and s.items.gold == 1


def test_prediction_without_gold_has_zero_precision():
    s = score_spans(TEN, [], [sp("measure", 0, 3)])["measure"]
    assert s.span.precision == 0.0 and s.span.recall == 0.0 and s.span.f1 == 0.0


def test_partial_overlap_computed_exactly():
    # gold: 10 chars; prediction covers 4 of them (庚辛壬癸) plus 2 outside (AB)
    s = score_spans(TEN, [sp("problem", 0, 10)], [sp("problem", 6, 12)])["problem"]
    assert (s.span.gold, s.span.pred, s.span.gold_found) == (10, 6, 4)
    assert close(s.span.precision, 4 / 6)
    assert close(s.span.recall, 4 / 10)
    assert close(s.span.f1, 2 * (4 / 6) * (4 / 10) / (4 / 6 + 4 / 10))


def test_punctuation_and_whitespace_are_not_counted():
    text = "甲，乙\n\t丙。丁"
    # gold "甲，乙\n\t丙" has 3 content chars; prediction "甲，" has 1
    s = score_spans(text, [sp("goal", 0, 6)], [sp("goal", 0, 2)])["goal"]
    assert (s.span.gold, s.span.pred) == (3, 1)
    assert s.span.precision == 1.0 and close(s.span.recall, 1 / 3)
    # a prediction of punctuation and whitespace only adds nothing, and is no item
    s = score_spans(text, [sp("goal", 0, 6)], [sp("goal", 1, 2), sp("goal", 3, 5)])["goal"]
    assert s.span.pred == 0 and s.items.pred == 0


def test_overlapping_predictions_do_not_double_count():
    s = score_spans(TEN, [sp("problem", 0, 10)], [sp("problem", 0, 6), sp("problem", 3, 10)])["problem"]
    assert s.span.pred == 10 and s.span.precision == 1.0 and s.span.recall == 1.0


def test_categories_are_scored_separately():
    s = score_spans(TEN, [sp("problem", 0, 10)], [sp("measure", 0, 10)])
    assert s["problem"].span.recall == 0.0 and s["measure"].span.precision == 0.0
    assert "goal" not in s and "achievement" not in s


def test_item_found_at_exactly_half_coverage_not_below():
    text = "甲乙丙丁。戊己庚辛"  # gold item 甲乙丙丁 (4 chars)
    gold = [sp("problem", 0, 4)]
    at_half = score_spans(text, gold, [sp("problem", 2, 4)])["problem"].items
    below = score_spans(text, gold, [sp("problem", 3, 4)])["problem"].items
    assert at_half.gold_found == 1 and close(at_half.recall, 1.0)
    assert below.gold_found == 0 and below.recall == 0.0


def test_predicted_item_correct_at_exactly_half_inside_gold_not_below():
    text = "甲乙丙丁戊己庚辛"
    gold = [sp("measure", 0, 4)]
    # prediction 丙丁戊己: 2 of 4 inside gold → correct; 丁戊己庚: 1 of 4 → wrong
    at_half = score_spans(text, gold, [sp("measure", 2, 6)])["measure"].items
    below = score_spans(text, gold, [sp("measure", 3, 7)])["measure"].items
    assert at_half.pred_correct == 1 and at_half.precision == 1.0
    assert below.pred_correct == 0 and below.precision == 0.0
    # odd length: 3 chars, 2 inside is over half, 1 inside is under
    assert score_spans(text, gold, [sp("measure", 2, 5)])["measure"].items.pred_correct == 1
    assert score_spans(text, gold, [sp("measure", 3, 6)])["measure"].items.pred_correct == 0


def test_item_coverage_pools_several_predictions():
    text = "甲乙丙丁戊己"
    s = score_spans(text, [sp("goal", 0, 6)], [sp("goal", 0, 2), sp("goal", 4, 5)])["goal"]
    assert s.items.gold_found == 1  # 3 of 6 covered by two predictions together
    assert s.items.pred == 2 and s.items.pred_correct == 2


# ---------------------------------------------------------------------------------------------
# documents, macro and pooling


def doc(doc_id, text, gold, pred_items=(), meta=None, gold_meta=None, gold_ind=(), pred_ind=()) -> DocScore:
    rep = Report(doc_id=doc_id, source="x", sha256="", backend="test", meta=meta or Meta(), indicators=list(pred_ind))
    for cat, s, e in pred_items:
        rep.items_of(cat).append(Item(category=cat, text="", quote=text[s:e], start=s, end=e))
    return score_document(doc_id, text, gold, gold_meta or {}, list(gold_ind), rep)


def test_document_macro_leaves_out_categories_absent_from_both_sides():
    d = doc("d", TEN, [sp("problem", 0, 5), sp("measure", 5, 10)], [("problem", 0, 5)])
    assert set(d.categories) == {"problem", "measure"}
    assert d.categories["measure"].span.f1 == 0.0
    assert close(d.macro_span_f1, 0.5)  # (1 + 0) / 2, not / 4


def test_headline_pools_characters_over_documents_then_macro_averages():
    d1 = doc("a", TEN, [sp("problem", 0, 10)], [("problem", 0, 10)])
    d2 = doc("b", TEN, [sp("problem", 0, 2), sp("goal", 0, 4)], [("goal", 0, 4)])
    r = EvalResult(docs=[d1, d2])
    prob = r.categories["problem"].span
    assert (prob.gold, prob.pred, prob.gold_found) == (12, 10, 10)
    f1_problem = 2 * 1.0 * (10 / 12) / (1.0 + 10 / 12)
    assert close(prob.f1, f1_problem)
    # achievement and measure appear nowhere: left out of the macro
    assert close(r.macro_span_f1, (f1_problem + 1.0) / 2)
    # ...and the pooled figure is not the mean of the documents' figures
    assert not close(prob.f1, (1.0 + 0.0) / 2)


def test_missing_prediction_scores_as_empty():
    d = score_document("d", TEN, [sp("goal", 0, 10)], {"year": 2024}, [], None)
    assert d.missing_prediction and d.categories["goal"].span.recall == 0.0
    assert d.meta.correct == 0 and d.meta.total == 1


def test_prediction_offsets_used_when_valid_else_quote_located():
    text = "一、问题\n甲乙丙丁。\n二、措施\n戊己庚辛。"
    rep = Report(doc_id="d", source="x", sha256="", backend="t")
    rep.problems.append(Item(category="problem", text="", quote="甲乙丙丁。", start=0, end=3))  # stale offsets
    rep.measures.append(Item(category="measure", text="", quote="戊己 庚辛。"))  # whitespace added, no offsets
    rep.goals.append(Item(category="goal", text="", quote="不存在的话"))  # not in the text at all
    spans = prediction_spans(rep, text)
    placed = {s.category: (s.start, s.end) for s in spans if s.located}
    assert text[slice(*placed["problem"])] == "甲乙丙丁。"
    assert text[slice(*placed["measure"])] == "戊己庚辛。"
    assert [s.quote for s in spans if not s.located] == ["不存在的话"]
    d = score_document("d", text, [], {}, [], rep)
    # the unplaceable quote counts as 5 wrong characters and one wrong item
    assert d.unlocated == 1 and d.categories["goal"].span.pred == 5 and d.categories["goal"].items.pred == 1
    assert d.warnings


# ---------------------------------------------------------------------------------------------
# meta and indicators


def test_meta_ignores_trailing_fen_and_compares_numbers_as_numbers():
    gold = {"unit_name": "某县卫生健康局", "year": 2024, "self_score": "96.82分", "grade": "优"}
    m = score_meta(gold, {"unit_name": "某县卫生健康局", "year": "2024", "self_score": 96.82})
    assert (m.correct, m.total) == (3, 3)  # grade is not scored
    m = score_meta(gold, Meta(unit_name="某县卫生健康委员会", year=2024, self_score=96.8))
    assert (m.correct, m.total) == (1, 3)
    assert score_meta({"year": 2024, "self_score": 100}, Meta(self_score=100.0)).correct == 1


def test_meta_counts_only_fields_the_gold_states():
    m = score_meta({"year": 2024}, Meta(unit_name="x", year=2024, self_score=1))
    assert m.total == 1 and m.accuracy == 1.0
    assert score_meta({}, Meta(year=2024)).accuracy is None


def test_meta_scores_execution_rate_only_when_the_gold_states_it():
    pred = Meta(year=2024, execution_rate=95.6)
    assert score_meta({"year": 2024}, pred).total == 1  # older gold: scored as before
    m = score_meta({"year": 2024, "execution_rate": "95.6%"}, pred)
    assert (m.correct, m.total) == (2, 2)
    m = score_meta({"execution_rate": 95.6}, Meta(execution_rate=100.0))  # 基本支出's rate is wrong
    assert (m.correct, m.total) == (0, 1)
    assert score_meta({"execution_rate": 95.6}, Meta()).correct == 0


def row(name, target, actual, **kw) -> Indicator:
    return Indicator(name=name, target=target, actual=actual, **kw)


def test_indicator_rows_compared_as_multisets_after_trimming():
    gold = [row("夜间门诊人次", "≥10 万人次", "11.88 万人次"), row("夜间门诊人次", "≥10 万人次", "11.88 万人次"),
            row("满意度", "≥90%", "95%")]
    pred = [row(" 夜间门诊人次\n", "≥10\n万人次", "11.88 万人次", note="差别不计"), row("满意度", "≥90%", "96%"),
            row("", "", "")]
    c = score_indicators(gold, pred)
    assert (c.gold, c.pred, c.gold_found) == (3, 2, 1)  # one duplicate matched once; 95% ≠ 96%; empty row ignored
    assert close(c.precision, 1 / 2) and close(c.recall, 1 / 3)
    assert score_indicators([], []).f1 is None


# ---------------------------------------------------------------------------------------------
# thresholds and comparison


def test_thresholds_and_comparison():
    good = EvalResult(docs=[doc("a", TEN, [sp("problem", 0, 10)], [("problem", 0, 10)])])
    half = EvalResult(docs=[doc("a", TEN, [sp("problem", 0, 10)], [("problem", 0, 5)])])
    assert check_thresholds(good, 0.99, {"problem": 0.99}) == []
    fails = check_thresholds(half, 0.9, {"problem": 0.5, "measure": 0.1})
    assert len(fails) == 2 and "macro" in fails[0] and "measure" in fails[1]
    rows = {r.metric: r for r in compare(good, half)}
    assert close(rows["problem span F1"].delta, 2 * 0.5 / 1.5 - 1.0)
    assert rows["goal span F1"].delta is None
    assert close(rows["a macro span F1"].a, 1.0)


def test_result_json_round_trips_with_same_figures():
    r = EvalResult(docs=[doc("a", TEN, [sp("problem", 0, 10), sp("goal", 0, 3)], [("problem", 2, 12)],
                             gold_ind=[row("n", "t", "a")], pred_ind=[row("n", "t", "a")])])
    back = EvalResult.model_validate_json(r.model_dump_json())
    assert back.macro_span_f1 == r.macro_span_f1 and back.indicators.f1 == 1.0
    assert json.loads(r.model_dump_json())["categories"]["problem"]["span"]["f1"] == r.categories["problem"].span.f1


# ---------------------------------------------------------------------------------------------
# CLI

REPORT = "一、存在问题\n（1）村医老龄化严重。\n（2）信息化滞后。\n二、改进措施\n1.加强培训。\n"
Q1, Q2, Q3 = "（1）村医老龄化严重。", "（2）信息化滞后。", "1.加强培训。"
# problem gold: 1村医老龄化严重 (8) + 2信息化滞后 (6) = 14; measure: 1加强培训 (5)
PARTIAL_PROBLEM_F1 = 2 * 1.0 * (8 / 14) / (1.0 + 8 / 14)
PARTIAL_MACRO = (PARTIAL_PROBLEM_F1 + 1.0) / 2


def write_report(folder: Path, name: str, quotes, meta=None, offsets=True) -> None:
    rep = Report(doc_id="county", source="reports/county.txt", sha256="", backend="test", meta=meta or Meta())
    for cat, q in quotes:
        s = REPORT.index(q)
        rep.items_of(cat).append(Item(category=cat, text=q, quote=q, start=s if offsets else None,
                                      end=s + len(q) if offsets else None))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(rep.to_json(), encoding="utf-8")


@pytest.fixture()
def evalset(tmp_path: Path) -> Path:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "county.txt").write_text(REPORT, encoding="utf-8")
    (tmp_path / "gold").mkdir()
    gold = {"doc_id": "county", "meta": {"unit_name": "某县卫生健康局", "year": 2024, "self_score": 95},
            "items": [{"category": "problem", "quote": Q1}, {"category": "problem", "quote": Q2},
                      {"category": "measure", "quote": Q3}]}
    (tmp_path / "gold" / "county.json").write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    meta = Meta(unit_name="某县卫生健康局", year=2024, self_score=95.0)
    write_report(tmp_path / "full", "county", [("problem", Q1), ("problem", Q2), ("measure", Q3)], meta)
    write_report(tmp_path / "partial", "county", [("problem", Q1), ("measure", Q3)], meta, offsets=False)
    return tmp_path


def invoke(*args: str):
    app = typer.Typer()
    app.command("eval")(eval_command)
    return CliRunner(env={"COLUMNS": "220"}).invoke(app, [str(a) for a in args])


def test_cli_prints_tables_and_writes_json(evalset: Path):
    out = evalset / "res.json"
    r = invoke("--gold", evalset / "gold", "--pred", evalset / "partial", "--json", out)
    assert r.exit_code == 0, r.output
    assert "macro span F1 (headline)" in r.stdout and f"{PARTIAL_MACRO:.3f}" in r.stdout
    assert "county" in r.stdout and "meta accuracy: 3/3" in r.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert close(data["macro_span_f1"], PARTIAL_MACRO)
    assert close(data["categories"]["problem"]["span"]["recall"], 8 / 14)
    assert data["categories"]["problem"]["items"]["gold_found"] == 1
    assert data["categories"]["goal"]["span"]["f1"] is None
    assert [d["doc_id"] for d in data["docs"]] == ["county"]


def test_cli_min_f1_sets_exit_code(evalset: Path):
    args = ("--gold", evalset / "gold", "--pred", evalset / "partial")
    below = invoke(*args, "--min-f1", "0.9")
    assert below.exit_code == 1 and "below threshold" in below.stderr
    assert invoke(*args, "--min-f1", "0.8").exit_code == 0


def test_cli_category_floors(evalset: Path):
    args = ("--gold", evalset / "gold", "--pred", evalset / "partial")
    assert invoke(*args, "--min-category", "problem=0.75").exit_code == 1  # 8/11 ≈ 0.727
    assert invoke(*args, "--min-category", "problem=0.7", "--min-category", "measure=1.0").exit_code == 0
    bad = invoke(*args, "--min-category", "problems=0.7")
    assert bad.exit_code == 2 and "CATEGORY" in bad.stderr and "Traceback" not in bad.output


def test_cli_baseline_prints_deltas(evalset: Path):
    base = evalset / "a.json"
    assert invoke("--gold", evalset / "gold", "--pred", evalset / "full", "--json", base).exit_code == 0
    r = invoke("--gold", evalset / "gold", "--pred", evalset / "partial", "--baseline", base)
    assert r.exit_code == 0, r.output
    assert "Δ" in r.stdout and "a.json" in r.stdout
    assert f"{PARTIAL_PROBLEM_F1 - 1:+.3f}" in r.stdout
    assert f"{PARTIAL_MACRO - 1:+.3f}" in r.stdout


def test_cli_pred_pointed_at_the_reports_or_gold_folder_is_an_error_not_zeros(evalset: Path):
    r = invoke("--gold", evalset / "gold", "--pred", evalset / "reports")
    assert r.exit_code == 2 and "report files (.txt)" in r.stderr and "reports folder" in r.stderr
    assert "macro span F1" not in r.stdout
    r = invoke("--gold", evalset / "gold", "--pred", evalset / "gold")
    assert r.exit_code == 2 and "is the gold folder" in r.stderr


def test_cli_missing_prediction_and_bad_gold_fail_clearly(evalset: Path):
    r = invoke("--gold", evalset / "gold", "--pred", evalset / "nothing_here_yet")
    assert r.exit_code == 2
    (evalset / "empty").mkdir()
    r = invoke("--gold", evalset / "gold", "--pred", evalset / "empty")  # not a table of zeros
    assert r.exit_code == 2 and "no <doc_id>.json for any of the 1 gold documents" in r.stderr
    bad = json.loads((evalset / "gold" / "county.json").read_text(encoding="utf-8"))
    bad["items"][1]["quote"] = "（2）信息化建设滞后。"
    (evalset / "gold" / "county.json").write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    r = invoke("--gold", evalset / "gold", "--pred", evalset / "full")
    assert r.exit_code == 1 and "not found verbatim" in r.stderr and "item 2 (problem)" in r.stderr
    assert "Traceback" not in r.output


def test_cli_usage_errors_exit_2(evalset: Path):
    assert invoke("--gold", evalset / "gold").exit_code == 2  # neither --pred nor --backend
    assert invoke("--pred", evalset / "full").exit_code == 2  # no gold
    r = invoke("--gold", evalset / "gold", "--pred", evalset / "full", "--backend", "rules")
    assert r.exit_code == 2 and "not both" in r.stderr
    r = invoke("--gold", evalset / "gold", "--pred", evalset / "full", "--save-pred", evalset / "x")
    assert r.exit_code == 2 and "--save-pred" in r.stderr
    r = invoke("--gold", evalset / "gold", "--pred", evalset / "full", "--baseline", evalset / "gold" / "county.json")
    assert r.exit_code == 2 and "baseline" in r.stderr


def test_suite_supplies_gold_reports_and_thresholds(evalset: Path):
    (evalset / "evals").mkdir()
    suite = evalset / "evals" / "s.toml"
    suite.write_text('gold = "gold"\nreports = "reports"\n[thresholds]\nmacro_span_f1 = 0.9\n', encoding="utf-8")
    r = invoke("--suite", suite, "--pred", evalset / "partial")
    assert r.exit_code == 1 and "macro span F1" in r.stderr
    assert invoke("--suite", suite, "--pred", evalset / "full").exit_code == 0
    assert invoke("--suite", suite, "--pred", evalset / "partial", "--min-f1", "0.5").exit_code == 0  # flag wins
    suite.write_text('gold = "gold"\n[thresholds]\nproblemz = 0.9\n', encoding="utf-8")
    bad = invoke("--suite", suite, "--pred", evalset / "full")
    assert bad.exit_code == 2 and "problemz" in bad.stderr


def test_fixtures_rules_suite_declares_the_ci_bar():
    suite, root = load_suite(ROOT / "evals" / "fixtures_rules.toml")
    assert (root / suite.gold).resolve() == (ROOT / "fixtures" / "gold").resolve()
    assert (root / suite.reports).resolve() == (ROOT / "fixtures" / "reports").resolve()
    assert suite.backend == "rules"
    assert suite.thresholds == {"macro_span_f1": 0.80, "problem": 0.85, "measure": 0.85,
                                "link_precision": 0.70, "link_recall": 0.75, "theme_accuracy": 0.85,
                                "max_theme_other": 0.10}


def test_backend_mode_passes_settings_and_saves_predictions(evalset: Path, monkeypatch):
    """The backend seam with a stand-in pipeline: settings reach get_backend, reports are scored."""
    seen = {}

    def get_backend(name, settings=None):
        seen["name"], seen["settings"] = name, settings
        return "backend-object"

    def extract_path(path, backend):
        assert backend == "backend-object"
        text = Path(path).read_text(encoding="utf-8")
        rep = Report(doc_id=Path(path).stem, source=str(path), sha256="", backend="fake", model="m1")
        for cat, q in (("problem", Q1), ("problem", Q2), ("measure", Q3)):
            s = text.index(q)
            rep.items_of(cat).append(Item(category=cat, text=q, quote=q, start=s, end=s + len(q)))
        return rep

    monkeypatch.setitem(sys.modules, "llm_extract.pipeline", types.SimpleNamespace(extract_path=extract_path))
    monkeypatch.setattr(importlib.import_module("llm_extract.backends"), "get_backend", get_backend, raising=False)
    out = evalset / "b.json"
    r = invoke("--gold", evalset / "gold", "--backend", "fake", "--model", "m1", "--base-url", "http://127.0.0.1:9",
               "--prompt-version", "v2", "--json", out, "--save-pred", evalset / "saved", "--min-f1", "1.0")
    assert r.exit_code == 0, r.output
    assert seen["name"] == "fake"
    s = seen["settings"]  # typed settings, resolved once by the command
    assert (s.model, s.base_url, s.prompt_version) == ("m1", "http://127.0.0.1:9", "v2")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["run"]["backend"] == "fake" and data["run"]["model"] == "m1"
    assert Report.model_validate_json((evalset / "saved" / "county.json").read_text(encoding="utf-8")).backend == "fake"


def test_backend_mode_runs_the_rules_backend(evalset: Path):
    out = evalset / "rules.json"
    r = invoke("--gold", evalset / "gold", "--backend", "rules", "--json", out)
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["run"]["backend"] == "rules" and [d["doc_id"] for d in data["docs"]] == ["county"]
    assert not data["docs"][0]["missing_prediction"]


def test_rules_backend_meets_the_fixture_suite_floors():
    """The accuracy bar (issue 3 item 8): evals/fixtures_rules.toml must pass."""
    r = invoke("--suite", ROOT / "evals" / "fixtures_rules.toml", "--no-docs")
    assert r.exit_code == 0, r.output


def test_rules_backend_meets_the_generality_suite_floors():
    """Reports of other sectors and templates (project-level, third-party, township, PDF text,
    space-aligned and merged-cell tables): evals/generality_rules.toml must pass."""
    suite, root = load_suite(ROOT / "evals" / "generality_rules.toml")
    assert (root / suite.gold).resolve() == (ROOT / "fixtures" / "generality" / "gold").resolve()
    assert suite.backend == "rules" and suite.thresholds["macro_span_f1"] >= 0.95
    r = invoke("--suite", ROOT / "evals" / "generality_rules.toml", "--no-docs")
    assert r.exit_code == 0, r.output


def test_rules_backend_meets_the_generality_link_and_theme_floors():
    """The digest's links (and themes) on reports from other sectors and templates."""
    r = invoke("--suite", ROOT / "evals" / "generality_links.toml", "--no-docs")
    assert r.exit_code == 0, r.output


def test_rules_backend_meets_the_multiyear_suite_floors():
    r = invoke("--suite", ROOT / "evals" / "multiyear_rules.toml", "--no-docs")
    assert r.exit_code == 0, r.output


def test_rules_backend_meets_the_synthetic_suite_floors():
    """Other units, other templates, other file shapes (GBK, UTF-16, PDF wrap, .docx, .pdf, no headings)."""
    r = invoke("--suite", ROOT / "evals" / "synthetic_rules.toml", "--no-docs")
    assert r.exit_code == 0, r.output

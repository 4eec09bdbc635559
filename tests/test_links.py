"""Problem → measure links: structure first (same cell, follows, same subsection, names), then theme
and wording; each link's reason; gold links resolved and scored as precision/recall."""

from __future__ import annotations

import json

import pytest

from _digest_samples import item, report, report_a
from llm_extract.digest import digest
from llm_extract.evaluation import Span, score_links
from llm_extract.gold import GoldError, gold_links
from llm_extract.links import report_links
from llm_extract.models import GoldDoc, GoldItem
from llm_extract.themes import load_taxonomy

TAX = load_taxonomy()


def pairs(rep):
    """{(problem quote head, measure quote head): reason} of a report's links."""
    return {(rep.problems[l.problem].quote[:8], rep.measures[l.measure].quote[:8]): l.reason
            for l in report_links(rep, TAX)}


def test_remedy_half_of_a_deviation_cell_links_to_its_shortfall_half():
    t = "| 慢性病规范管理率 | ≥65% | 61.8% | 随访人员不足，规范管理率未达目标；下一步将补充随访人员 |\n"
    rep = report("cell", t, [
        item(t, "problem", "随访人员不足，规范管理率未达目标", "五、指标完成情况"),
        item(t, "measure", "下一步将补充随访人员", "五、指标完成情况"),
    ])
    assert pairs(rep) == {("随访人员不足，规", "下一步将补充随访"): "same_cell"}


def test_measure_following_its_problem_in_the_same_subsection_is_linked_even_with_nothing_in_common():
    t = ("四、偏差原因及改进措施\n（一）甲事项\n问题：宣传氛围不浓，群众知晓率偏低。\n措施：另行开会研究部署。\n"
         "（二）乙事项\n问题：车辆老旧，故障频发。\n措施：按计划逐步更新。\n")
    rep = report("sub", t, [
        item(t, "problem", "问题：宣传氛围不浓，群众知晓率偏低。", "四、偏差原因及改进措施 > （一）甲事项"),
        item(t, "measure", "措施：另行开会研究部署。", "四、偏差原因及改进措施 > （一）甲事项"),
        item(t, "problem", "问题：车辆老旧，故障频发。", "四、偏差原因及改进措施 > （二）乙事项"),
        item(t, "measure", "措施：按计划逐步更新。", "四、偏差原因及改进措施 > （二）乙事项"),
    ])
    assert pairs(rep) == {("问题：宣传氛围不", "措施：另行开会研"): "follows",
                          ("问题：车辆老旧，", "措施：按计划逐步"): "follows"}


def test_a_list_of_problems_does_not_all_go_to_the_measure_after_the_last_one():
    sec = "三、存在的问题和改进措施"
    t = f"{sec}\n一是车辆老旧。\n二是宣传不够。\n下一步将按计划逐步更新。\n"
    rep = report("run", t, [
        item(t, "problem", "一是车辆老旧。", sec), item(t, "problem", "二是宣传不够。", sec),
        item(t, "measure", "下一步将按计划逐步更新。", sec),
    ])
    assert not any(r == "follows" for r in pairs(rep).values())


def test_measure_in_the_subsection_a_problem_heads_is_same_section():
    t = "四、问题及整改\n（一）耕地地力保护补贴面积核实不够精准\n整改措施：推行三级核实机制，县级抽查比例提高到10%。\n"
    rep = report("head", t, [
        item(t, "problem", "（一）耕地地力保护补贴面积核实不够精准", "四、问题及整改"),
        item(t, "measure", "整改措施：推行三级核实机制，县级抽查比例提高到10%。",
             "四、问题及整改 > （一）耕地地力保护补贴面积核实不够精准"),
    ])
    assert pairs(rep) == {("（一）耕地地力保", "整改措施：推行三"): "same_section"}


def test_measure_that_names_the_problem_links_to_it_not_to_a_same_theme_neighbour():
    t = ("三、存在问题\n（一）2个村因行政区划调整暂缓编制，规划任务未完成。\n（二）规划编制经费保障不足。\n"
         "四、下一步打算\n一是对2个因行政区划调整暂缓编制的村，在批复后立即启动编制。\n")
    rep = report("names", t, [
        item(t, "problem", "（一）2个村因行政区划调整暂缓编制，规划任务未完成。", "三、存在问题"),
        item(t, "problem", "（二）规划编制经费保障不足。", "三、存在问题"),
        item(t, "measure", "一是对2个因行政区划调整暂缓编制的村，在批复后立即启动编制。", "四、下一步打算"),
    ])
    got = pairs(rep)
    assert got[("（一）2个村因行", "一是对2个因行政")] == "names"
    assert ("（二）规划编制经", "一是对2个因行政") not in got


def test_topical_links_remain_for_separate_problem_and_measure_lists_and_unlinked_is_unaddressed():
    d = digest([report_a()])
    p = {e.id: e for e in d.problems}
    assert [(l.measure_id, l.reason) for l in p["jia_2024/P2"].measures][0][0] == "jia_2024/M1"
    assert all(l.reason in ("theme+wording", "theme", "wording") for e in d.problems for l in e.measures)
    assert {e.id for e in d.unaddressed()} == {e.id for e in d.problems if not e.measures}
    assert "jia_2024/P3" in {e.id for e in d.unaddressed()}


def test_a_reports_links_do_not_depend_on_the_other_reports_in_the_digest():
    from _digest_samples import report_b, report_c

    alone = {e.id: [l.measure_id for l in e.measures] for e in digest([report_a()]).problems}
    together = {e.id: [l.measure_id for l in e.measures] for e in digest([report_a(), report_b(), report_c()]).problems
                if e.doc_id == "jia_2024"}
    assert alone == together


# --------------------------------------------------------------------------- gold and scoring


def gold_doc(**extra) -> GoldDoc:
    return GoldDoc(doc_id="g", items=[GoldItem(category="problem", quote="甲问题。"),
                                      GoldItem(category="measure", quote="甲措施。"),
                                      GoldItem(category="problem", quote="乙问题。")], **extra)


def test_gold_links_by_item_number_or_quote_start_and_bad_references_are_named():
    assert gold_links(gold_doc(links=[(1, 2), ("乙问", "甲措")])) == {(0, 1), (2, 1)}
    with pytest.raises(GoldError, match="item 2 is a measure, not a problem"):
        gold_links(gold_doc(links=[(2, 2)]))
    with pytest.raises(GoldError, match="gold has 3 items"):
        gold_links(gold_doc(links=[(1, 9)]))
    with pytest.raises(GoldError, match="starts 0 problem items"):
        gold_links(gold_doc(links=[("丙", 2)]))


def test_link_precision_and_recall_follow_the_items_predictions_stand_for():
    text = "甲问题说明。乙问题说明。甲措施说明。乙措施说明。"

    def span(cat, q):
        s = text.index(q)
        return Span(category=cat, start=s, end=s + len(q), quote=q)

    gold = [span("problem", "甲问题说明。"), span("problem", "乙问题说明。"), span("measure", "甲措施说明。"),
            span("measure", "乙措施说明。")]
    truth = {(0, 2), (1, 3)}
    # one prediction covers both gold problems: linking it to 甲措施 stands for gold link (0, 2)
    probs = [span("problem", "甲问题说明。乙问题说明。")]
    meas = [span("measure", "甲措施说明。"), span("measure", "乙措施说明。")]
    c = score_links(text, gold, truth, probs, meas, [(0, 0), (0, 1)])
    assert (c.pred, c.pred_correct, c.gold, c.gold_found) == (2, 2, 2, 2)
    c = score_links(text, gold, truth, [span("problem", "甲问题说明。")], meas, [(0, 1)])
    assert (c.precision, c.recall) == (0.0, 0.0)


def test_eval_reports_link_scores_and_a_suite_floor_gates_them(tmp_path):
    from typer.testing import CliRunner

    from llm_extract.cli import app

    t = "三、存在问题\n（一）设备老化严重。\n四、改进措施\n（一）更新老化设备。\n（二）另行开会研究。\n"
    rep = report("d", t, [item(t, "problem", "（一）设备老化严重。", "三、存在问题"),
                          item(t, "measure", "（一）更新老化设备。", "四、改进措施"),
                          item(t, "measure", "（二）另行开会研究。", "四、改进措施")])
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "d.txt").write_text(t, encoding="utf-8")
    (tmp_path / "pred").mkdir()
    (tmp_path / "pred" / "d.json").write_text(rep.to_json(), encoding="utf-8")
    (tmp_path / "gold").mkdir()
    gold = {"doc_id": "d", "items": [{"category": "problem", "quote": "（一）设备老化严重。"},
                                     {"category": "measure", "quote": "（一）更新老化设备。"},
                                     {"category": "measure", "quote": "（二）另行开会研究。"}],
            "links": [[1, 2]], "themes": {"1": "equipment"}}
    (tmp_path / "gold" / "d.json").write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    suite = tmp_path / "s.toml"
    suite.write_text('root = "."\ngold = "gold"\nreports = "reports"\npred = "pred"\n'
                     '[thresholds]\nlink_precision = 0.9\nlink_recall = 0.9\ntheme_accuracy = 0.9\n'
                     'max_theme_other = 0.1\n', encoding="utf-8")
    runner = CliRunner(env={"COLUMNS": "200"})
    out = tmp_path / "r.json"
    r = runner.invoke(app, ["eval", "--suite", str(suite), "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert "problem→measure links: P 1.000  R 1.000" in r.output
    assert "problem themes: accuracy 1.000 (1/1), in the fallback 0.000 (0)" in r.output
    assert "unaddressed problems (no link): listed 0, gold 0" not in r.output  # nothing to say: not shown
    assert json.loads(out.read_text(encoding="utf-8"))["links"]["gold_found"] == 1
    gold["links"] = [[1, 3]]  # the gold says the other measure answers it: precision and recall fall
    gold["themes"] = {"1": "water"}
    (tmp_path / "gold" / "d.json").write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    r = runner.invoke(app, ["eval", "--suite", str(suite)])
    assert r.exit_code == 1 and "link precision 0.000 is below 0.900" in r.stderr
    assert "theme accuracy 0.000 is below 0.900" in r.stderr


def test_problems_linked_only_by_a_bare_theme_are_listed_for_checking(tmp_path):
    from llm_extract.render import write_digest

    d = digest([report_a()])
    weak = d.theme_only()
    # 空编 ↔ 争取编制部门支持: one staffing theme, too few shared words to say more
    assert [p.id for p in weak] == ["jia_2024/P1"]
    assert [l.reason for l in weak[0].measures] == ["theme"]
    assert not {e.id for e in weak} & {e.id for e in d.unaddressed()}
    write_digest(d, tmp_path / "d.html")
    html = (tmp_path / "d.html").read_text(encoding="utf-8")
    assert "1 more problem(s) are linked only by a shared theme" in html and html.count('id="t-theme-only"') == 1
    write_digest(d, tmp_path / "d.md")
    assert "linked only by a shared theme" in (tmp_path / "d.md").read_text(encoding="utf-8")


def test_the_unaddressed_list_is_scored_against_the_gold():
    from llm_extract.evaluation import score_unaddressed

    text = "甲问题说明。乙问题说明。丙问题说明。甲措施说明。"

    def span(cat, q):
        s = text.index(q)
        return Span(category=cat, start=s, end=s + len(q), quote=q)

    gold = [span("problem", "甲问题说明。"), span("problem", "乙问题说明。"), span("problem", "丙问题说明。"),
            span("measure", "甲措施说明。")]
    truth = {(0, 3)}  # 乙 and 丙 are unaddressed in the gold
    probs = [span("problem", "甲问题说明。"), span("problem", "乙问题说明。"), span("problem", "丙问题说明。")]
    # the digest links 甲 and 乙 (乙 wrongly) and lists only 丙 as unaddressed
    c = score_unaddressed(text, gold, truth, probs, [(0, 0), (1, 0)])
    assert (c.pred, c.pred_correct, c.gold, c.gold_found) == (1, 1, 2, 1)
    c = score_unaddressed(text, gold, truth, probs, [])  # nothing linked: 甲 listed wrongly
    assert (c.pred, c.pred_correct, c.gold_found) == (3, 2, 2)

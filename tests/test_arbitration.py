"""Category arbitration: strong structure corrects a model's category (and says so in stats);
weak structure — a section heading alone — leaves the model's category standing."""

from __future__ import annotations

from llm_extract.llm.answers import AnswerReader
from llm_extract.llm.arbitration import Arbiter
from llm_extract.llm.schema import ExtractedItem
from llm_extract.llm.chunking import Chunk
from llm_extract.models import Stats
from llm_extract.structure import analyze


def _read(text: str, answer: list[tuple[str, str]], passes: int = 1):
    stats = Stats()
    reader = AnswerReader(text, analyze(text))
    chunk = Chunk(0, 0, len(text), text, "", 1, (), ((0, len(text)),))
    items = []
    for p in range(1, passes + 1):
        items += reader.raw_items(chunk, [ExtractedItem(category=c, quote=q) for c, q in answer[p - 1::passes]],
                                  p, stats)
    if passes > 1:
        reader.reconcile(items, stats)
    return [(i.category, i.quote) for i in items], stats


LABELLED = (
    "三、存在的问题及整改措施\n"
    "问题：部分乡镇资金拨付滞后，最长延迟47天。整改措施：建立资金拨付台账；按月通报进度。\n"
    "整改措施：\n"
    "（1）督促施工单位完成结算审计。\n"
    "（2）落实建后管护责任。\n"
    "四、主要成效\n"
    "全年完成培训12场。\n"
)


def test_an_explicit_label_corrects_the_models_category():
    cats, stats = _read(LABELLED, [("measure", "问题：部分乡镇资金拨付滞后，最长延迟47天。"),
                                   ("problem", "整改措施：建立资金拨付台账；按月通报进度。")])
    assert cats == [("problem", "问题：部分乡镇资金拨付滞后，最长延迟47天。"),
                    ("measure", "整改措施：建立资金拨付台账；按月通报进度。")]
    assert stats.recategorised == 2


def test_points_after_a_measure_lead_in_are_measures_up_to_the_next_heading():
    cats, stats = _read(LABELLED, [("problem", "（1）督促施工单位完成结算审计。"), ("problem", "（2）落实建后管护责任。"),
                                   ("problem", "全年完成培训12场。")])
    assert [c for c, _ in cats] == ["measure", "measure", "problem"]  # the last is past the heading
    assert stats.recategorised == 2


def test_an_inline_label_governs_its_own_paragraph_only():
    text = ("五、存在的主要问题\n"
            "（3）部分项目建设进度滞后。整改措施：对滞后项目实行挂图作战。\n"
            "（4）供水管网漏损控制仍是短板，漏损率为9.6%。\n")
    cats, stats = _read(text, [("problem", "（4）供水管网漏损控制仍是短板，漏损率为9.6%。")])
    assert cats[0][0] == "problem" and getattr(stats, "recategorised", 0) == 0


def test_goal_and_result_labels_are_explicit_too():
    text = ("二、绩效目标及完成情况\n"
            "年度目标：\n（1）新建村卫生室不少于12个。\n（2）群众满意度达到90%以上。\n"
            "完成情况：\n（1）新建村卫生室14个。\n")
    cats, stats = _read(text, [("achievement", "（1）新建村卫生室不少于12个。"), ("goal", "（2）群众满意度达到90%以上。"),
                               ("goal", "（1）新建村卫生室14个。")])
    assert [c for c, _ in cats] == ["goal", "goal", "achievement"]
    assert stats.recategorised == 2


def test_a_section_heading_alone_is_weak_evidence_and_the_model_stands():
    text = "四、存在问题\n全年完成培训12场，覆盖800人次。\n"
    cats, stats = _read(text, [("achievement", "全年完成培训12场，覆盖800人次。")])
    assert cats == [("achievement", "全年完成培训12场，覆盖800人次。")]
    assert getattr(stats, "recategorised", 0) == 0


def test_a_deduction_list_is_problems():
    text = ("六、自评得分及扣分原因\n"
            "（一）扣分原因\n"
            "1.部分项目绩效目标设置不够细化。\n"
            "2.预算执行进度前低后高。\n")
    cats, stats = _read(text, [("measure", "1.部分项目绩效目标设置不够细化。"), ("goal", "2.预算执行进度前低后高。")])
    assert [c for c, _ in cats] == ["problem", "problem"]
    assert stats.recategorised == 2


def test_an_item_stating_deductions_is_a_problem_but_a_causes_heading_alone_is_not_evidence():
    text = ("七、自评结论\n经综合评定，总自评为92.6分。扣分原因主要是上半年预算执行进度偏慢。\n"
            "五、存在的问题及原因分析\n同时，我们会将提升服务能力作为工作重点。\n")
    cats, stats = _read(text, [("measure", "扣分原因主要是上半年预算执行进度偏慢。"),
                               ("measure", "同时，我们会将提升服务能力作为工作重点。")])
    assert [c for c, _ in cats] == ["problem", "measure"]
    assert stats.recategorised == 1


TABLE = (
    "三、绩效指标完成情况\n"
    "\t一级指标\n\t二级指标\n\t三级指标\n\t年度指标值\n\t实际完成值\n\t分值\n\t得分\n\t偏差原因\n\n"
    "\t产出指标\n\t数量指标\n\t新建村卫生室数量\n\t新建村卫生室不少于12个\n\t新建村卫生室14个\n\t10\n\t10\n\t超额完成\n\n"
)


def test_a_table_column_decides_between_goal_and_achievement():
    cats, stats = _read(TABLE, [("achievement", "新建村卫生室不少于12个"), ("goal", "新建村卫生室14个")])
    assert cats == [("goal", "新建村卫生室不少于12个"), ("achievement", "新建村卫生室14个")]
    assert stats.recategorised == 2


def test_an_item_opening_with_next_step_is_a_measure():
    text = "四、主要成效\n下一步，我局将继续推进分级诊疗。\n"
    cats, _ = _read(text, [("achievement", "下一步，我局将继续推进分级诊疗。")])
    assert cats == [("measure", "下一步，我局将继续推进分级诊疗。")]


def test_two_passes_that_disagree_are_settled_by_the_section_heading():
    text = "四、存在问题\n村医队伍老化，服务能力不足。\n"
    q = "村医队伍老化，服务能力不足。"
    cats, stats = _read(text, [("problem", q), ("measure", q)], passes=2)
    assert [c for c, _ in cats] == ["problem", "problem"]
    assert stats.pass_conflicts_settled == 1


def test_evidence_is_none_where_structure_says_nothing():
    text = "四、其他事项\n本局严格执行财务制度。\n"
    a = Arbiter(analyze(text))
    s = text.index("本局")
    assert a.evidence(s, len(text) - 1) is None
    assert a.category(s, len(text) - 1, "achievement") == ("achievement", False)

"""Routing by paragraph: text in a section routing skips is still sent when it can hold an item."""

from __future__ import annotations

from llm_extract.llm.chunking import chunk_document, layout_read_tables
from llm_extract.llm.routing import item_cue
from llm_extract.structure import analyze

REPORT = (
    "一、基本情况\n"
    "（一）部门职能。负责全县水利工程建设与管理，指导农村饮水安全工作。\n"
    "局机关内设办公室、规划股、工程股3个股室，核定编制32名，实有在职人员29人。\n"
    "2.2024年度部门整体绩效目标。完成病险水库除险加固3座，农村自来水普及率不低于92%。\n"
    "为此，本局确定的年度绩效目标如下：\n"
    "（1）新建改造供水管网120公里；\n"
    "（2）水旱灾害人员零伤亡。\n"
    "本局严格执行财务制度。\n"
    "（3）这一行不是上面的指标。\n"
    "二、部门预算执行情况\n"
    "2024年年初预算数为3265.10万元，全年执行数3102.55万元，执行率95.02%。\n"
    "部分项目资金拨付滞后，年底集中支付问题仍然存在。\n"
    "三、主要绩效\n"
    "全年完成除险加固水库3座，农村自来水普及率达到93.1%。\n"
)


def _sent(text: str, route: str = "relevant") -> str:
    return "\n".join(c.text for c in chunk_document(text, analyze(text), max_tokens=2000, route=route))


def test_goal_statement_inside_a_boilerplate_section_is_sent():
    sent = _sent(REPORT)
    assert "2.2024年度部门整体绩效目标。完成病险水库除险加固3座" in sent
    assert "部门职能" not in sent and "实有在职人员29人" not in sent  # mandate and staff stay out


def test_points_after_a_leadin_are_sent_until_the_list_ends():
    sent = _sent(REPORT)
    assert "为此，本局确定的年度绩效目标如下：" in sent
    assert "（1）新建改造供水管网120公里；" in sent and "（2）水旱灾害人员零伤亡。" in sent
    assert "本局严格执行财务制度" not in sent
    assert "（3）这一行不是上面的指标" not in sent  # the list ended at the unmarked paragraph


def test_points_after_a_paragraph_titled_as_goals_are_sent():
    text = ("一、部门基本情况\n"
            "（一）部门职能。负责全镇农业农村工作。\n"
            "（二）年度绩效目标。围绕乡村振兴，确定以下任务。\n"
            "1.完成高标准农田建设1.2万亩。\n"
            "2.新建村级综合服务站3个。\n"
            "（三）人员情况。在编人员23人。\n")
    sent = _sent(text)
    assert "1.完成高标准农田建设1.2万亩。" in sent and "2.新建村级综合服务站3个。" in sent
    assert "在编人员23人" not in sent and "负责全镇农业农村工作" not in sent


def test_budget_figures_stay_out_but_a_problem_in_the_budget_section_is_sent():
    sent = _sent(REPORT)
    assert "年初预算数为3265.10万元" not in sent
    assert "部分项目资金拨付滞后，年底集中支付问题仍然存在。" in sent
    assert "全年完成除险加固水库3座" in sent


def test_route_all_sends_everything():
    sent = _sent(REPORT, route="all")
    assert "实有在职人员29人" in sent and "年初预算数为3265.10万元" in sent


def test_item_cue_reads_each_category_and_ignores_boilerplate():
    assert item_cue("年度绩效目标：门诊人次不低于10万人次；住院人次达到2万以上。") == "goal"
    assert item_cue("下一步，我局将加快项目建设进度。") == "measure"
    assert item_cue("存在的问题：专业技术人员不足。") == "problem"
    assert item_cue("2024年共完成培训12场，较上年增长20%。") == "achievement"
    assert item_cue("负责全区卫生健康工作，指导基层医疗卫生服务体系建设。") is None
    assert item_cue("中心内设6个科室，核定编制48名，实有在职人员45人。") is None
    assert item_cue("全年执行数1521.37万元，预算执行率96.02%。", budget=True) is None
    assert item_cue("对照绩效目标逐项收集佐证材料，开展绩效自评工作。") is None  # how the evaluation ran


TABLE = (
    "三、绩效指标完成情况\n"
    "\t一级指标\n\t二级指标\n\t三级指标\n\t年度指标值\n\t实际完成值\n\t分值\n\t得分\n\t偏差原因\n\n"
    "\t产出指标\n\t数量指标\n\t资金拨付时限\n\t收到资金后30日内拨付\n\t平均拨付时间41天\n\t10\n\t8\n"
    "\t{note}\n\n"
    "\t效益指标\n\t社会效益指标\n\t群众满意度\n\t≥90%\n\t93%\n\t10\n\t10\n\t达标\n\n"
)


def test_a_table_whose_judgement_cell_the_reader_half_reads_goes_to_the_model():
    read_whole = TABLE.format(note="拨付进度滞后，下一步将精简拨付审核环节")
    st = analyze(read_whole)
    assert layout_read_tables(st), "a shortfall and a remedy: the layout reader reads the cell whole"
    half = TABLE.format(note="资金到位晚，下一步将精简拨付审核环节")  # a clause the reader leaves unread
    st = analyze(half)
    assert layout_read_tables(st) == []
    assert "资金到位晚" in _sent(half)

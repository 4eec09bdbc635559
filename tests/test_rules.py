"""The rules backend: categories by section and cue, per-point cutting, tables, metadata."""

from llm_extract.backends.rules import RulesBackend
from llm_extract.document import Document
from llm_extract.rules.meta import extract_meta
from llm_extract.rules.table_items import table_items
from llm_extract.structure import analyze
from llm_extract.tables import find_tables


def run(text):
    doc = Document.from_text(text)
    st = analyze(doc)
    res = RulesBackend().extract(doc, st)
    return [*res.items, *res.grounded]


def by_cat(items, text=None):
    out = {}
    for it in items:
        out.setdefault(it.category, []).append(it.quote)
    return out


def test_items_follow_section_kinds_and_offsets():
    text = (
        "一、基本情况\n本局负责全县卫生健康工作。\n\n"
        "二、主要成效\n全年完成门诊12万人次，同比增长10%。\n\n"
        "三、存在问题\n（1）人才短缺。基层医生年龄偏大。\n（2）设备老化，更新不及时。\n\n"
        "四、改进措施\n（1）加强人才引进。\n（2）更新设备。\n"
    )
    items = run(text)
    cats = by_cat(items)
    assert cats["achievement"] == ["全年完成门诊12万人次，同比增长10%。"]
    assert cats["problem"] == ["（1）人才短缺。基层医生年龄偏大。", "（2）设备老化，更新不及时。"]
    assert cats["measure"] == ["（1）加强人才引进。", "（2）更新设备。"]
    assert "goal" not in cats  # mandate text in 基本情况 is not an item
    for it in items:
        assert text[it.start:it.end] == it.quote


def test_sentence_cues_inside_a_results_section():
    text = "二、工作开展情况\n全年完成疫苗接种5万剂次。但基层人员仍然不足。下一步，我局将加强人员培训。\n"
    cats = by_cat(run(text))
    assert cats["achievement"] == ["全年完成疫苗接种5万剂次。"]
    assert cats["problem"] == ["但基层人员仍然不足。"]
    assert cats["measure"] == ["下一步，我局将加强人员培训。"]


def test_mixed_section_splits_problems_and_measures():
    text = "五、存在的问题及改进措施\n信息化建设滞后，系统不互通。下一步将加快平台整合。\n"
    cats = by_cat(run(text))
    assert cats["problem"] == ["信息化建设滞后，系统不互通。"]
    assert cats["measure"] == ["下一步将加快平台整合。"]


def test_report_without_headings_still_yields_cued_items():
    text = (
        "2024年，我局认真履行职责，全年完成家庭医生签约3万人，签约率达到65%。\n"
        "存在的问题主要是村医老龄化现象突出，60岁以上村医占38%。\n"
        "下一步，我局将加大村医招聘力度。\n"
    )
    cats = by_cat(run(text))
    assert any("签约率达到65%" in q for q in cats["achievement"])
    assert any("村医老龄化" in q for q in cats["problem"])
    assert any("加大村医招聘" in q for q in cats["measure"])


def test_signature_lines_are_not_items():
    text = "四、改进措施\n加强预算管理。\n\n某县卫生健康局\n\n2025年3月1日\n"
    cats = by_cat(run(text))
    assert cats == {"measure": ["加强预算管理。"]}


TABLE = (
    "\t年度总体目标\n\t预期目标\n\t实际完成情况\n\n"
    "\t\n\t1. 提升服务能力\n2. 强化疾病预防\n\t1. 接诊 11 万人次\n2. 接种率 91%\n\n"
    "\t绩效指标\n\t一级指标\n\t二级指标\n\t三级指标\n\t年度指标值\n\t实际完成值\n\t分值\n\t自评得分\n\t偏差原因分析及改进措施\n\n"
    "\t\n\t产出指标\n\t数量指标\n\t夜间门诊人次\n\t≥10 万人次\n\t11.88 万人次\n\t5\n\t5\n\t达标\n\n"
    "\t\n\t\n\t\n\t人才引进\n\t引进专业技术人才≥20 人\n\t引进 2 人\n\t4\n\t2\n\t招聘进度滞后，加快流程\n\n"
    "\t\n\t\n\t质量指标\n\t处方合格率\n\t不适用\n\t不适用\n\t\n\t\n\t\n\n"
    "\t总分\n\t100\n\t96\n"
)


def test_indicator_table_rows_and_items():
    res = table_items(TABLE, find_tables(TABLE)[0])
    rows = [(r.level1, r.level2, r.name, r.target, r.actual, r.weight, r.score, r.note) for r in res.indicators]
    assert rows == [
        ("产出指标", "数量指标", "夜间门诊人次", "≥10 万人次", "11.88 万人次", "5", "5", "达标"),
        ("产出指标", "数量指标", "人才引进", "引进专业技术人才≥20 人", "引进 2 人", "4", "2", "招聘进度滞后，加快流程"),
        ("产出指标", "质量指标", "处方合格率", "不适用", "不适用", "", "", ""),
    ]
    got = [(TABLE[s:e], c) for s, e, c in res.items]
    assert ("1. 提升服务能力", "goal") in got and ("2. 强化疾病预防", "goal") in got
    assert ("1. 接诊 11 万人次", "achievement") in got
    # a bare target is quoted from its indicator name; a self-explanatory one as the cell itself
    assert ("夜间门诊人次\n\t≥10 万人次", "goal") in got
    assert ("引进专业技术人才≥20 人", "goal") in got
    assert ("11.88 万人次", "achievement") in got
    assert ("招聘进度滞后", "problem") in got and ("加快流程", "measure") in got
    assert not any(q == "达标" for q, _ in got)
    assert not any("不适用" in q for q, _ in got)


def test_meta_from_labels_and_sentences():
    text = (
        "评价年度：2023年度\n评价单位（公章）：青山县卫生健康局\n填报日期：2024年3月5日\n"
        "经综合评价，自评得分96.82分，自评等级为“优”。年初预算数为1,200.5万元，预算执行率98.5%。\n"
    )
    m = extract_meta(text, find_tables(text))
    assert m.unit_name == "青山县卫生健康局"
    assert m.year == 2023
    assert m.report_date == "2024年3月5日"
    assert m.self_score == 96.82
    assert m.grade == "优"
    assert m.budget["年初预算数"] == 1200.5
    assert m.budget["执行率"] == "98.5%"


def test_meta_leaves_unstated_fields_empty():
    m = extract_meta("这是一段没有任何元数据的文字。", [])
    assert m.self_score is None and m.grade is None and m.report_date is None


def test_problem_section_that_also_reports_results_and_remedies():
    text = (
        "五、存在的问题及原因分析\n"
        "（一）免疫规划项目。2024 年度绩效目标基本达成，未出现明显偏离情况。\n"
        "（二）计划生育项目。存在部分对象未发放待遇的情况，主要原因是信息更新不及时。"
        "为解决这些问题，我们制定了以下改进措施：\n"
        "一是建立信息共享机制。定期比对数据。\n"
        "二是做好年审工作。逐户核查。\n"
    )
    cats = by_cat(run(text))
    assert cats["achievement"] == ["（一）免疫规划项目。2024 年度绩效目标基本达成，未出现明显偏离情况。"]
    assert cats["problem"] == ["（二）计划生育项目。存在部分对象未发放待遇的情况，主要原因是信息更新不及时。"]
    assert cats["measure"] == ["一是建立信息共享机制。定期比对数据。", "二是做好年审工作。逐户核查。"]


def test_table_items_carry_the_table_title_as_section():
    text = "附件2\n2024年度整体支出绩效自评表\n\n" + TABLE
    items = run(text)
    goals = [it for it in items if it.category == "goal"]
    assert goals and all(it.section == "2024年度整体支出绩效自评表" for it in goals)


def test_markdown_pipe_tables_give_items_and_indicator_rows():
    text = (
        "## 二、年度目标完成情况\n\n"
        "| 预期目标 | 实际完成情况 |\n|---|---|\n"
        "| 完成传染病报告审核 | 审核报告卡 5200 张 |\n| 开展慢病筛查 | 筛查 1.2 万人 |\n\n"
        "| 一级指标 | 二级指标 | 三级指标 | 年度指标值 | 实际完成值 | 分值 | 得分 | 偏差原因分析及改进措施 |\n"
        "|---|---|---|---|---|---|---|---|\n"
        "| 产出指标 | 数量指标 | 筛查人数 | ≥1 万人 | 1.2 万人 | 10 | 10 | |\n"
        "| | 质量指标 | 随访率 | ≥90% | 85% | 10 | 8 | 人员不足，随访滞后；加强人员培训 |\n"
    )
    doc = Document.from_text(text)
    st = analyze(doc)
    rows = [r for t in st.tables for r in table_items(text, t).indicators]
    assert [(r.level1, r.level2, r.name, r.target, r.actual) for r in rows] == [
        ("产出指标", "数量指标", "筛查人数", "≥1 万人", "1.2 万人"),
        ("产出指标", "质量指标", "随访率", "≥90%", "85%"),
    ]
    cats = by_cat(run(text))
    assert cats["goal"][:2] == ["完成传染病报告审核", "开展慢病筛查"]
    assert "审核报告卡 5200 张" in cats["achievement"] and "筛查 1.2 万人" in cats["achievement"]
    assert any("随访滞后" in q for q in cats["problem"])
    assert any("加强人员培训" in q for q in cats["measure"])


def test_decimal_outline_headings():
    text = "1 基本情况\n本局负责全县卫生工作。\n\n4 绩效分析\n4.1 主要成效\n全年完成门诊10万人次。\n4.2 存在的问题\n基层人员不足。\n5 下一步工作计划\n1）加强培训。\n2）完善制度。\n"
    st = analyze(text)
    kinds = {s.title: s.kind for s in st.sections[1:]}
    assert kinds["4.2 存在的问题"] == "problems" and kinds["5 下一步工作计划"] == "measures"
    assert [s.title for s in st.sections if s.parent and st.sections[s.parent].title == "4 绩效分析"] == [
        "4.1 主要成效", "4.2 存在的问题"]
    cats = by_cat(run(text))
    assert cats["measure"] == ["1）加强培训。", "2）完善制度。"]
    assert cats["problem"] == ["基层人员不足。"]


def test_unheaded_lists_keep_their_category_until_a_new_list_opens():
    text = (
        "全年完成家庭医生签约6.8万人。存在的问题主要有：一是村卫生室运行困难，部分村医收入偏低；"
        "二是慢性病随访质量不高；三是部分项目绩效目标设定偏低。造成上述问题的原因是培训力度不够。"
        "全县仅有1名医师持有高级培训证书，专业技术力量依然薄弱。"
        "下一步，我局将重点做好三方面工作：一是落实村医待遇；二是每季度组织一次随访检查；三是科学设定绩效目标。\n"
    )
    items = run(text)
    cats = by_cat(items)
    problem_text = "".join(cats["problem"])
    assert "二是慢性病随访质量不高" in problem_text and "培训力度不够" in problem_text and "依然薄弱" in problem_text
    measure_text = "".join(cats["measure"])
    assert "二是每季度组织一次随访检查" in measure_text and "三是科学设定绩效目标" in measure_text
    assert not any("随访检查" in q for q in cats["problem"])


def test_run_in_goal_list_drops_its_framing_and_splits_per_goal():
    text = "1.3 年度绩效目标\n根据县委部署，我局2023年度部门整体支出绩效目标为：建档率达到90%以上；接种率保持在95%以上。\n上述目标均设置了可量化的指标值。\n"
    cats = by_cat(run(text))
    assert cats["goal"] == ["建档率达到90%以上；", "接种率保持在95%以上。"]


def test_results_lead_in_is_not_a_plan_and_shortfalls_are_problems():
    text = (
        "目标完成情况\n此外，中心全年还完成了以下工作：①完成样本检测1260份；②督导检查86所次，督促整改问题143个。\n"
        "结核病筛查完成1.03万人；受外出务工人员较多影响，主动筛查任务未能全部完成。\n"
    )
    cats = by_cat(run(text))
    assert "measure" not in cats
    assert any("督促整改问题143个" in q for q in cats["achievement"])
    assert any("未能全部完成" in q for q in cats["problem"])


def test_bare_goal_cell_in_a_goal_table_is_quoted_with_its_row_name():
    text = "\t项目名称\n\t年度目标\n\t完成情况\n\n\t结核病筛查\n\t1.2万人\n\t完成1.03万人\n"
    items = table_items(text, find_tables(text)[0]).items
    got = [(text[s:e], c) for s, e, c in items]
    assert ("结核病筛查\n\t1.2万人", "goal") in got and ("完成1.03万人", "achievement") in got


def test_label_switch_inside_one_paragraph_makes_the_rest_measures():
    text = (
        "三、存在的问题及整改措施\n"
        "1.项目资金拨付滞后。整改措施：加快资金拨付；完成情况纳入年度考核。\n"
        "2.绩效指标设置不够细化，部分指标难以量化。整改措施：修订指标体系。\n"
        "（三）主要成效\n"
        "问题：宣传覆盖面不广。整改措施：开展宣传活动12场；建立长效机制。\n"
    )
    cats = by_cat(run(text))
    assert cats["problem"] == ["1.项目资金拨付滞后。", "2.绩效指标设置不够细化，部分指标难以量化。", "问题：宣传覆盖面不广。"]
    # later clauses after the label stay measures, even ones that read like results
    assert cats["measure"] == [
        "整改措施：加快资金拨付；完成情况纳入年度考核。",
        "整改措施：修订指标体系。",
        "整改措施：开展宣传活动12场；建立长效机制。",
    ]
    assert "achievement" not in cats


def test_points_after_a_measure_label_are_measures():
    text = (
        "五、存在的问题及整改措施\n"
        "（一）预算执行进度偏慢\n"
        "存在问题：部分项目资金下达晚，执行率仅为38%。\n"
        "整改措施：\n"
        "（1）建立执行进度月通报制度，完成情况纳入考核。\n"
        "（2）开展项目绩效跟踪，全年完成监控。\n"
        "（二）资产管理不规范\n"
        "部分固定资产账实不符。\n"
    )
    cats = by_cat(run(text))
    assert cats["problem"] == ["（一）预算执行进度偏慢\n存在问题：部分项目资金下达晚，执行率仅为38%。", "部分固定资产账实不符。"]
    assert cats["measure"] == ["（1）建立执行进度月通报制度，完成情况纳入考核。", "（2）开展项目绩效跟踪，全年完成监控。"]


def test_measure_label_inside_one_paragraph_of_points():
    text = (
        "四、存在问题和整改措施\n"
        "村级水管员队伍不稳定，流动性大。整改措施：（1）落实水管员补助；（2）每年开展培训2次，"
        "完成考核的予以续聘。\n"
    )
    cats = by_cat(run(text))
    assert cats["problem"] == ["村级水管员队伍不稳定，流动性大。"]
    assert "".join(cats["measure"]).replace("整改措施：", "") == "（1）落实水管员补助；（2）每年开展培训2次，完成考核的予以续聘。"


def test_run_in_points_are_cut_at_their_markers_and_the_lead_in_dropped():
    text = "六、下步打算\n下一步，我局将重点做好以下工作：一是加快项目进度；二是强化资金监管；三是做好运行管护。\n"
    cats = by_cat(run(text))
    assert cats == {"measure": ["一是加快项目进度；", "二是强化资金监管；", "三是做好运行管护。"]}


def test_goal_statement_inside_basic_information_section():
    text = (
        "一、基本情况\n"
        "1.部门职能。本局负责全县水资源管理和水利工程建设。\n"
        "2.2024年度部门整体绩效目标。（一）完成农村供水保障工程建设，新建集中供水工程12处；"
        "（二）河湖长制工作考核位列全市前三；（三）预算执行率不低于95%。\n"
        "3.人员情况。核定编制45名。\n"
        "4.2023年度工作目标。围绕水利高质量发展，设定年度目标如下：\n"
        "（1）完成中小河流治理20公里；\n"
        "（2）新增节水灌溉面积1.2万亩。\n"
        "5.内设机构。下设三个股室。\n"
    )
    cats = by_cat(run(text))
    assert cats == {
        "goal": [
            # the paragraph's title opens its first point (LABELING.md: marker and heading phrase)
            "2.2024年度部门整体绩效目标。（一）完成农村供水保障工程建设，新建集中供水工程12处；",
            "（二）河湖长制工作考核位列全市前三；",
            "（三）预算执行率不低于95%。",
            "（1）完成中小河流治理20公里；",
            "（2）新增节水灌溉面积1.2万亩。",
        ]
    }


def test_run_on_goal_paragraph_outside_a_goal_section():
    text = (
        "二、预算执行情况\n"
        "年度绩效目标：完成中小河流治理20公里；新增节水灌溉面积1.2万亩；水利工程安全运行率100%。\n"
        "全年预算数3200万元，执行数3100万元。\n"
    )
    cats = by_cat(run(text))
    assert "".join(cats["goal"]) == "完成中小河流治理20公里；新增节水灌溉面积1.2万亩；水利工程安全运行率100%。"
    assert set(cats) == {"goal"}  # the budget figures are metadata


def test_indicator_targets_before_the_results_are_goals():
    text = (
        "三、项目绩效情况\n"
        "产出指标：新建集中供水工程≥12处，改造供水管网不少于50公里；效益指标：受益人口达到3万人以上，群众满意度不低于90%。\n"
        "项目实际新建集中供水工程12处，改造管网56公里，受益人口3.2万人，群众满意度达到95%以上。\n"
    )
    cats = by_cat(run(text))
    assert cats["goal"] == [
        "产出指标：新建集中供水工程≥12处，改造供水管网不少于50公里；效益指标：受益人口达到3万人以上，群众满意度不低于90%。"
    ]
    assert cats["achievement"] == ["项目实际新建集中供水工程12处，改造管网56公里，受益人口3.2万人，群众满意度达到95%以上。"]


def test_self_score_in_the_wordings_other_templates_use():
    for sentence, score in (
        ("经评价，本部门2024年度整体支出总自评为93.5分，等级为优。", 93.5),
        ("对照评分标准，自评得分为88分。其中投入类指标得分18.5分。", 88),
        ("评价组认为，该项目综合得分91.2分，评价等级为“优”。", 91.2),
        ("产出指标得分38分，效益指标得分30分，自评总分92分。", 92),
    ):
        assert extract_meta(sentence, []).self_score == score, sentence


def test_unit_name_takes_its_place_from_the_body_never_invented():
    text = "水利局2024年度部门整体支出绩效自评报告\n一、基本情况\n临川县水利局是县政府工作部门，临川县水利局内设6个股室。\n"
    assert extract_meta(text, []).unit_name == "临川县水利局"
    alone = "水利局2024年度部门整体支出绩效自评报告\n一、基本情况\n本局是县政府工作部门。\n"
    assert extract_meta(alone, []).unit_name == "水利局"
    town = "2024年度部门整体支出绩效自评报告\n评价单位：石门镇人民政府\n"
    assert extract_meta(town, []).unit_name == "石门镇人民政府"


def test_execution_rate_is_the_departments_total_not_a_sub_rate():
    text = (
        "二、预算执行情况\n全年预算数为3200万元，其中基本支出执行率为100%，项目支出执行率为93.2%。"
        "部门整体预算执行率为95.6%。目标要求预算执行率达到90%以上。\n"
    )
    m = extract_meta(text, [])
    assert m.execution_rate == 95.6
    assert m.budget["全年预算数"] == 3200 and m.budget["单位"] == "万元"


def test_budget_amounts_keep_their_unit():
    text = (
        "部门预算执行情况表（单位：元）\n\n"
        "\t项目\n\t年初预算数\n\t全年预算数\n\t全年执行数\n\t执行率\n\n"
        "\t合计\n\t32,000,000.00\n\t35,000,000.00\n\t33,250,000.00\n\t95%\n\n"
        "\t基本支出\n\t12,000,000.00\n\t12,000,000.00\n\t12,000,000.00\n\t100%\n\n"
    )
    m = extract_meta(text, find_tables(text))
    assert m.budget["年初预算数"] == 3200 and m.budget["全年执行数"] == 3325 and m.budget["单位"] == "万元"
    assert m.execution_rate == 95
    # a sentence in 元 is converted too
    assert extract_meta("全年执行数为1,500,000元。", []).budget["全年执行数"] == 150


def test_word_export_artefacts_never_reach_any_field():
    text = (
        "[bookmark: _GoBack]某县水利局2024年度部门整体支出绩效自评报告\n"
        "三、存在问题[bookmark: _GoBack]\n"
        "[bookmark: _GoBack]一是工程管护经费不足。\n"
        "二是[bookmark: _GoBack]基层水管员队伍不稳定。\n"
        "[bookmark: _GoBack]\n"
        "四、下步打算\n加强管护。[bookmark: _GoBack]\n\n"
        "\t三级指标\n\t年度指标值\n\t实际完成值\n\t偏差原因\n\n"
        "\t新建供水工程\n\t[bookmark: _GoBack]≥12处\n\t12处[bookmark: _GoBack]\n\t无\n\n"
    )
    from llm_extract.pipeline import extract_text

    report = extract_text(text)
    assert "bookmark" not in report.to_json()
    cats = by_cat(report.items())
    assert cats["problem"] == ["一是工程管护经费不足。", "二是", "基层水管员队伍不稳定。"]
    assert cats["measure"] == ["加强管护。"]
    assert [(r.name, r.target, r.actual) for r in report.indicators] == [("新建供水工程", "≥12处", "12处")]


def test_shortfall_heading_and_its_problem_label_are_one_item():
    text = (
        "五、存在的问题及整改措施\n"
        "（一）补贴面积核实不够精准\n"
        "问题：抽查发现2个村将撂荒地块纳入补贴面积。\n"
        "整改措施：追回补贴资金1.98万元。\n"
        "（二）存在的其他问题\n"
        "问题：档案管理不规范。\n"
    )
    cats = by_cat(run(text))
    assert cats["problem"] == ["（一）补贴面积核实不够精准\n问题：抽查发现2个村将撂荒地块纳入补贴面积。", "问题：档案管理不规范。"]
    assert cats["measure"] == ["整改措施：追回补贴资金1.98万元。"]


SPACE_TABLE = (
    "表2 某县2024年度农村供水工程项目绩效指标完成情况表\n"
    "一级指标    二级指标        三级指标            年度指标值      实际完成值        分值  得分  偏差原因分析及改进措施\n"
    "产出指标    数量指标        千吨万人供水工程新  2处             2处               6     6\n"
    "                            建数量\n"
    "                            供水管网建设长度    ≥160公里        151.7公里         8     7     受汛期持续降雨影响，\n"
    "                                                                                              村级管网改造未完工，\n"
    "                                                                                              完成率94.8%；已督促施工单位增加作\n"
    "                                                                                              业面，确保明年4月底前完工\n"
    "            质量指标        工程验收合格率      100%            100%              6     6     达标\n"
    "满意度指标  服务对象满意度  受益群众满意度      ≥90%            94.6%             10    10    达标\n"
    "            指标\n"
    "\n"
    "上表所列绩效指标分值合计30分，得分29分。\n"
)


def test_space_aligned_table_rows_wrapped_cells_and_items():
    text = "六、绩效目标完成情况\n" + SPACE_TABLE
    tables = find_tables(text)
    assert len(tables) == 1
    rows = [[c.text for c in r.cells] for r in tables[0].rows]
    assert rows[1][:5] == ["产出指标", "数量指标", "千吨万人供水工程新建数量", "2处", "2处"]
    assert rows[-1][:3] == ["满意度指标", "服务对象满意度指标", "受益群众满意度"]
    from llm_extract.pipeline import extract_text

    report = extract_text(text)
    got = [(r.level1, r.level2, r.name, r.target, r.actual) for r in report.indicators]
    assert got == [
        ("产出指标", "数量指标", "千吨万人供水工程新建数量", "2处", "2处"),
        ("产出指标", "数量指标", "供水管网建设长度", "≥160公里", "151.7公里"),
        ("产出指标", "质量指标", "工程验收合格率", "100%", "100%"),
        ("满意度指标", "服务对象满意度指标", "受益群众满意度", "≥90%", "94.6%"),
    ]
    assert {r.table for r in report.indicators} == {"表2 某县2024年度农村供水工程项目绩效指标完成情况表"}
    assert report.indicators[1].note == "受汛期持续降雨影响，村级管网改造未完工，完成率94.8%；已督促施工单位增加作业面，确保明年4月底前完工"
    cats = by_cat(report.items())
    # a bare target is quoted from its name's first line; a wrapped note cell across its own lines
    assert "千吨万人供水工程新  2处" in cats["goal"] and "供水管网建设长度    ≥160公里" in cats["goal"]
    assert "151.7公里" in cats["achievement"]
    problem = next(q for q in cats["problem"] if q.startswith("受汛期"))
    assert "".join(problem.split()) == "受汛期持续降雨影响，村级管网改造未完工，完成率94.8%"
    measure = next(q for q in cats["measure"] if q.startswith("已督促"))
    assert "".join(measure.split()) == "已督促施工单位增加作业面，确保明年4月底前完工"
    # neither the caption nor the scoring sentence under the table is an item
    assert not any("情况表" in q or "分值" in q for qs in cats.values() for q in qs)


def test_project_report_headings():
    text = (
        "一、项目概况\n项目总投资4286.5万元，其中中央资金2000万元。\n"
        "二、建设内容\n1.新建集中供水工程2处。\n2.改造供水管网160公里。\n"
        "三、资金使用及管理\n（一）资金到位情况\n到位资金4286.5万元，到位率100%。\n"
        "（二）资金管理情况\n项目资金实行专账核算，全年审减工程价款137.48万元。\n"
        "四、组织实施\n（一）招标采购。项目划分为5个标段，全部公开招标，施工合同价合计3712.4万元。\n"
        "五、绩效目标完成情况\n5.基础设施短板加快补齐\n全年完成道路硬化9.6公里。\n"
    )
    cats = by_cat(run(text))
    assert cats["goal"] == ["1.新建集中供水工程2处。", "2.改造供水管网160公里。"]
    assert cats["achievement"] == [
        "项目资金实行专账核算，全年审减工程价款137.48万元。",
        "（一）招标采购。项目划分为5个标段，全部公开招标，施工合同价合计3712.4万元。",
        "全年完成道路硬化9.6公里。",
    ]
    assert set(cats) == {"goal", "achievement"}


def test_deductions_and_a_townships_plans_are_cued():
    text = (
        "六、自评结论\n总自评为91.5分，评价等级为“优”。扣分主要集中在参保人数和道路硬化里程2项指标，共扣8.5分。\n"
        "七、其他需要说明的情况\n本报告在镇政府信息公开专栏公开。我镇将把发现的问题纳入整改台账。\n"
    )
    cats = by_cat(run(text))
    assert cats == {
        "problem": ["扣分主要集中在参保人数和道路硬化里程2项指标，共扣8.5分。"],
        "measure": ["我镇将把发现的问题纳入整改台账。"],
    }


def test_space_table_split_by_a_page_number_is_one_table():
    header = "一级指标    二级指标        三级指标              年度指标值    实际完成值    分值  得分  偏差原因\n"
    text = (
        "表1 龙潭镇2024年度绩效指标完成情况表\n" + header
        + "产出指标    数量指标        居民养老保险参保人数  ≥2.35万人     2.31万人      4     3     部分外出务工人员已在务\n"
        + "                                                                                          工地参保；下一步将入户\n"
        + "                                                                                          核查\n"
        + "- 3 -\n" + header
        + "满意度指标  服务对象满意度  群众满意度            ≥90%          93.6%         10    10\n"
        + "合计                                                                          100   91.5\n"
        + "（二）主要履职成效\n"
    )
    tables = find_tables(text)
    assert len(tables) == 1
    ind = table_items(text, tables[0]).indicators
    assert [(r.level1, r.name, r.target, r.actual) for r in ind] == [
        ("产出指标", "居民养老保险参保人数", "≥2.35万人", "2.31万人"),
        ("满意度指标", "群众满意度", "≥90%", "93.6%"),
    ]
    assert {r.table for r in ind} == {"表1 龙潭镇2024年度绩效指标完成情况表"}
    got = {("".join(text[s:e].split()), c) for s, e, c in table_items(text, tables[0]).items}
    assert ("部分外出务工人员已在务工地参保", "problem") in got and ("下一步将入户核查", "measure") in got


def test_deduction_reason_column_and_cause_then_remedy_cells():
    text = (
        "| 一级指标 | 二级指标 | 三级指标 | 年度指标值 | 实际完成值 | 分值 | 得分 | 扣分原因 |\n"
        "|---|---|---|---|---|---|---|---|\n"
        "| 产出 | 数量指标 | 家庭养老床位建设数 | ≥500张 | 432张 | 5 | 4.3 | 服务机构参与积极性不高，完成率86.4%；建议提高床位运营补贴 |\n"
        "|  | 时效指标 | 土地出让价款入库及时率 | 100% | 96% | 4 | 3 | 2宗地块受让人延期缴款；已下达催缴通知书并计收违约金 |\n"
        "|  | 质量指标 | 上门服务工单合格率 | ≥95% | 91.7% | 5 | 4 | 第三方监管以电话回访为主，服务时长核查覆盖面窄 |\n"
    )
    got = [(text[s:e], c) for s, e, c in table_items(text, find_tables(text)[0]).items if c in ("problem", "measure")]
    assert got == [
        ("服务机构参与积极性不高，完成率86.4%", "problem"),
        ("建议提高床位运营补贴", "measure"),
        ("2宗地块受让人延期缴款", "problem"),
        ("已下达催缴通知书并计收违约金", "measure"),
        ("第三方监管以电话回访为主，服务时长核查覆盖面窄", "problem"),
    ]


def test_framing_sentences_are_not_items():
    text = (
        "三、绩效情况\n"
        "我局2024年度部门整体支出共设置绩效指标22项，其中产出指标13项、效益指标7项。\n"
        "对照年初设定的22项指标，全年有20项指标完成或超额完成。\n"
        "全年完成以下任务：\n"
        "1.新增耕地1260亩。\n"
        "2.完成村庄规划编制36个。\n"
        "注：满意度指标数据来源于政务服务中心“好差评”系统，统计期间为全年。\n"
        "四、下步打算\n"
        "2025年，我局将针对本次自评发现的问题，重点做好以下几个方面的工作。\n"
        "（一）加快村庄规划编制。\n"
        "五、其他需要说明的情况\n"
        "我局将及时在门户网站公开本次自评报告，接受社会监督。\n"
    )
    cats = by_cat(run(text))
    assert cats == {
        "achievement": ["对照年初设定的22项指标，全年有20项指标完成或超额完成。", "1.新增耕地1260亩。", "2.完成村庄规划编制36个。"],
        "measure": ["（一）加快村庄规划编制。"],
    }


def test_results_use_section_plans_and_the_evaluations_own_process():
    text = (
        "四、组织实施\n"
        "（五）群众参与和信息公开。项目实施前召开村民代表会议87场，聘请群众监督员58名。\n"
        "七、自评结论\n"
        "本次自评采取单位自评与领导小组复核相结合的方式进行。自评得分95.5分。\n"
        "八、自评结果应用\n"
        "我局将及时在门户网站公开本次自评报告，接受社会监督。自评结果将作为下年度预算安排的重要依据；"
        "对自评发现的问题建立整改台账，逐项明确完成时限。\n"
        "注：满意度由第三方调查；助餐点日均就餐人数按全年服务人次计算。\n"
    )
    cats = by_cat(run(text))
    assert cats == {
        "achievement": ["（五）群众参与和信息公开。项目实施前召开村民代表会议87场，聘请群众监督员58名。"],
        "measure": ["自评结果将作为下年度预算安排的重要依据；对自评发现的问题建立整改台账，逐项明确完成时限。"],
    }


def test_run_in_points_across_pdf_hard_wraps_split_at_markers_only():
    text = (
        "六、下步打算\n下一步，我局将重点做好以下工作：一是加快项目建设进度，确保年\n底前全部完工；二是强化资金监"
        "管，严格执行国库集中支付制度；三\n是做好工程运行管护，落实管护经费和人员。\n"
    )
    cats = by_cat(run(text))
    assert cats == {"measure": [
        "一是加快项目建设进度，确保年\n底前全部完工；",  # a visual line break inside a point does not cut it
        "二是强化资金监管，严格执行国库集中支付制度；",
        "三\n是做好工程运行管护，落实管护经费和人员。",  # nor does one inside its marker
    ]}


def test_third_party_report_names_the_evaluated_unit_not_the_commissioning_one():
    text = (
        "# 青石县2024年度城乡居民医疗救助资金重点绩效评价报告\n\n"
        "受青石县财政局委托，华信会计师事务所对县医疗保障局2024年度城乡居民医疗救助资金开展重点绩效评价。\n\n"
        "## 一、评价结论\n\n经综合评价，该项目综合得分87.5分，评价等级为“良”。\n"
    )
    m = extract_meta(text, [])
    assert m.unit_name == "县医疗保障局" and m.self_score == 87.5 and m.grade == "良"


def test_short_run_in_paragraphs_are_one_item_per_point():
    text = (
        "二、主要成效\n一是农业生产稳中有进。建成高标准农田1500亩。二是人居环境持续改善，完成改厕320户。\n"
        "三、存在问题及下步打算\n（一）存在问题\n一是资金拨付进度偏慢。二是村级管护力量薄弱。\n"
        "（二）下步打算\n一是加快资金拨付；二是建立村级管护员队伍。\n"
    )
    cats = by_cat(run(text))
    assert cats["achievement"] == ["一是农业生产稳中有进。建成高标准农田1500亩。", "二是人居环境持续改善，完成改厕320户。"]
    assert cats["problem"] == ["一是资金拨付进度偏慢。", "二是村级管护力量薄弱。"]
    assert cats["measure"] == ["一是加快资金拨付；", "二是建立村级管护员队伍。"]

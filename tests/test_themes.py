"""The built-in taxonomy covers every sector's vocabulary (not just health), title phrases weigh
more, PDF line breaks do not split keywords, and eval scores labelled themes."""

from __future__ import annotations

import pytest

from llm_extract.evaluation import score_themes
from llm_extract.gold import GoldError, gold_themes
from llm_extract.models import GoldDoc, GoldItem
from llm_extract.themes import keyword_themes, load_taxonomy

TAX = load_taxonomy()


@pytest.mark.parametrize("text, theme", [
    ("部分学校校舍陈旧，义务教育阶段大班额问题仍然存在。", "education"),
    ("主要农作物病虫害绿色防控覆盖率未达目标，生猪出栏量下降。", "agriculture"),
    ("部分低保对象动态管理不及时，临时救助审批时限偏长。", "civil_affairs"),
    ("城市公共供水管网漏损率偏高，老旧管网占比大。", "water"),
    ("农村公路养护资金不足，部分路段路面破损。", "transport"),
    ("村庄规划编制任务未完成，土地出让收入未达预期。", "natural_resources"),
    ("村集体经济薄弱，乡村治理网格化覆盖不全。", "township"),
    ("安全生产隐患排查不彻底，应急救援队伍演练偏少。", "emergency"),
    ("出境断面总磷超标，畜禽养殖面源污染治理滞后。", "environment"),
    ("上半年预算执行率偏低，资金集中在第四季度支付。", "budget"),
    ("部分绩效指标以定性描述为主，可衡量的效益指标偏少。", "performance_targets"),
    ("项目因征地拆迁推迟开工，工期延后。", "project_delivery"),
    ("已建工程重建轻管，日常维修养护经费不落实。", "maintenance"),
])
def test_each_sector_gets_its_own_theme(text, theme):
    assert keyword_themes(text, TAX)[0] == theme


def test_the_title_phrase_says_what_a_problem_is_about():
    # the body names the primary-care setting more often; the title says it is about talent
    text = "（三）基层卫生人才短缺问题依然突出。乡镇卫生院医师中本科以上学历仅占21%，村医平均年龄56岁。"
    assert keyword_themes(text, TAX)[0] == "talent"


def test_a_pdf_line_break_inside_a_keyword_does_not_hide_it():
    assert keyword_themes("三是面源污\n染治理投入不足。", TAX)[0] == "environment"


def test_gold_themes_resolve_and_unknown_themes_are_named():
    doc = GoldDoc(doc_id="g", items=[GoldItem(category="problem", quote="甲"), GoldItem(category="measure", quote="乙")],
                  themes={"1": "budget"})
    assert gold_themes(doc, TAX.ids) == {0: "budget"}
    with pytest.raises(GoldError, match="theme 'nope'"):
        gold_themes(doc.model_copy(update={"themes": {"1": "nope"}}), TAX.ids)
    with pytest.raises(GoldError, match="is a measure, not a problem"):
        gold_themes(doc.model_copy(update={"themes": {"2": "budget"}}), TAX.ids)


def test_theme_accuracy_and_fallback_share():
    c = score_themes({0: "budget", 1: "water", 2: "talent", 3: "education"},
                     {0: "budget", 1: "water", 2: "other", 3: "talent"}, "other")
    assert (c.accuracy, c.other_share) == (0.5, 0.25)

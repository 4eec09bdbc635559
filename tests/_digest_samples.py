"""Small hand-written reports with real offsets, shared by the digest, view and browser tests."""

from __future__ import annotations

import json
from pathlib import Path

from llm_extract.document import sha256_text
from llm_extract.models import Indicator, Item, Meta, Report, build_report_items

TEXT_A = """甲县卫生健康局2024年度部门整体支出绩效自评报告
一、绩效目标
（一）全年家庭医生签约服务覆盖率达到75%。
二、主要成效
（一）全年完成基层诊疗人次45万，较上年增长8%。
三、存在问题
（一）系统空编严重，全系统空编120名，空编率达30%。
（二）信息化建设滞后，各医疗机构信息系统无法互联互通。
（三）爱国卫生运动群众参与度不足，病媒生物防制基础差。
四、改进措施
（一）推进信息系统对接，建设全县统一的信息平台，实现互联互通。
（二）争取编制部门支持，尽快补充空编人员。
"""

TEXT_B = """乙市卫生健康委员会2024年度自评报告
三、存在的问题
1.系统空编严重，全系统空编386名，空编率达48%。
2.专技人员紧缺，高学历人才和学科带头人不足。
四、下一步措施
1.加强人才引进和培养，提高专业技术人员待遇，稳定人才队伍。
"""

TEXT_C = """丙区卫生健康局2023年度部门整体支出绩效自评报告
（三）存在问题
预算执行率偏低，部分项目资金拨付滞后。
（四）改进措施
加快资金拨付进度，提高预算执行率。
"""

#: A report whose text tries to inject markup; it must show as text everywhere.
XSS = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
TEXT_X = f"""丁县卫生健康局{XSS}
三、存在问题
（一）信息系统存在漏洞{XSS}，需要整改。
四、改进措施
（一）加强信息化安全管理。
"""


def item(text: str, category: str, quote: str, section: str = "", **extra) -> Item:
    start = text.index(quote)
    assert text.count(quote) == 1, quote
    return Item(category=category, text=quote.strip(), quote=quote, start=start, end=start + len(quote),
                section=section, **extra)


def report(doc_id: str, text: str, items: list[Item], *, source: str = "", unit=None, year=None,
           budget=None, indicators=(), self_score=None, ungrounded=()) -> Report:
    return Report(
        doc_id=doc_id, source=source or f"{doc_id}.txt", sha256=sha256_text(text), backend="rules",
        meta=Meta(unit_name=unit, year=year, self_score=self_score, grade="优" if self_score else None,
                  budget=dict(budget or {})),
        indicators=list(indicators), ungrounded=list(ungrounded), **build_report_items(items),
    )


def report_a() -> Report:
    t = TEXT_A
    return report("jia_2024", t, [
        item(t, "goal", "（一）全年家庭医生签约服务覆盖率达到75%。", "一、绩效目标"),
        item(t, "achievement", "（一）全年完成基层诊疗人次45万，较上年增长8%。", "二、主要成效"),
        item(t, "problem", "（一）系统空编严重，全系统空编120名，空编率达30%。", "三、存在问题"),
        item(t, "problem", "（二）信息化建设滞后，各医疗机构信息系统无法互联互通。", "三、存在问题"),
        item(t, "problem", "（三）爱国卫生运动群众参与度不足，病媒生物防制基础差。", "三、存在问题"),
        item(t, "measure", "（一）推进信息系统对接，建设全县统一的信息平台，实现互联互通。", "四、改进措施"),
        item(t, "measure", "（二）争取编制部门支持，尽快补充空编人员。", "四、改进措施"),
    ], unit="甲县卫生健康局", year=2024, self_score=96.5,
        budget={"全年预算数": 2000.0, "全年执行数": 1800.0})


def report_b() -> Report:
    t = TEXT_B
    return report("yi_2024", t, [
        item(t, "problem", "1.系统空编严重，全系统空编386名，空编率达48%。", "三、存在的问题"),
        item(t, "problem", "2.专技人员紧缺，高学历人才和学科带头人不足。", "三、存在的问题"),
        item(t, "measure", "1.加强人才引进和培养，提高专业技术人员待遇，稳定人才队伍。", "四、下一步措施"),
    ], unit="乙市卫生健康委员会", year=2024, self_score=92.0, budget={"执行率": "85.5%"})


def report_c() -> Report:
    t = TEXT_C
    return report("bing_2023", t, [
        item(t, "problem", "预算执行率偏低，部分项目资金拨付滞后。", "（三）存在问题"),
        item(t, "measure", "加快资金拨付进度，提高预算执行率。", "（四）改进措施"),
    ], unit="丙区卫生健康局", year=2023, self_score=88.0, indicators=[
        Indicator(level1="产出指标", level2="质量指标", name="预算执行率", target="≥95%", actual="90%", weight="10", score="8"),
        Indicator(level1="产出指标", level2="数量指标", name="夜间门诊人次", target="≥10 万人次", actual="11.88 万人次", weight="5", score="5"),
    ])


def report_x() -> Report:
    t = TEXT_X
    return report("xss_2024", t, [
        item(t, "problem", f"（一）信息系统存在漏洞{XSS}，需要整改。", f"三、存在问题{XSS}"),
        item(t, "measure", "（一）加强信息化安全管理。", "四、改进措施"),
    ], unit=f"丁县卫生健康局{XSS}", year=2024)


def write_results(folder: Path, reports: list[Report]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for r in reports:
        (folder / f"{r.doc_id}.json").write_text(r.to_json(), encoding="utf-8")
    return folder


def write_with_source(folder: Path, rep: Report, text: str) -> Path:
    """Result JSON plus its source .txt beside it (source recorded as an absolute path)."""
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / f"{rep.doc_id}.txt"
    src.write_text(text, encoding="utf-8")
    data = json.loads(rep.to_json())
    data["source"] = str(src)
    path = folder / f"{rep.doc_id}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


#: A Word-export indicator table (one tab-indented cell per line, a blank line between rows), a
#: deviation cell holding a problem and its remedy, and a PDF-style hard-wrapped paragraph.
TEXT_TABLE = (
    "丙县教育局2024年度部门整体支出绩效自评报告\n"
    "三、绩效指标完成情况\n"
    "\t三级指标\n\t年度指标值\n\t实际完成值\n\t偏差原因\n\n"
    "\t新增学位\n\t≥1350个\n\t1380个\n\t\n\n"
    "\t课后服务覆盖率\n\t100%\n\t96%\n\t部分农村学校师资不足；下一步将统筹校外资源\n\n"
    "四、存在的问题\n"
    "一是部分农村学校课后服务以看管为主，特色课程开设率仅为42%，学生和家长对课后服务的满意度\n"
    "为85.6%，低于目标值。\n"
)


def report_table():
    from llm_extract.models import Indicator

    t = TEXT_TABLE
    rows = []
    for name, target, actual in (("新增学位", "≥1350个", "1380个"), ("课后服务覆盖率", "100%", "96%")):
        s = t.index(name)
        rows.append(Indicator(name=name, target=target, actual=actual, start=s, end=t.index("\n\n", s)))
    return report("bingedu_2024", t, [
        item(t, "goal", "新增学位\n\t≥1350个", "三、绩效指标完成情况"),
        item(t, "achievement", "1380个", "三、绩效指标完成情况"),
        item(t, "achievement", "96%", "三、绩效指标完成情况"),
        item(t, "problem", "部分农村学校师资不足", "三、绩效指标完成情况"),
        item(t, "measure", "下一步将统筹校外资源", "三、绩效指标完成情况"),
        item(t, "problem", "一是部分农村学校课后服务以看管为主，特色课程开设率仅为42%，学生和家长对课后服务的满意度\n为85.6%，低于目标值。",
             "四、存在的问题"),
    ], unit="丙县教育局", year=2024, indicators=rows)

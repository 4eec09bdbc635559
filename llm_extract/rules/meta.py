"""Report metadata from cue phrases and table labels: unit, year, date, self-score, grade, budget."""

from __future__ import annotations

import re
from collections import Counter
from typing import Optional

from ..models import Meta
from ..tables import Table, cell_key

_UNIT_SUFFIX = r"(?:卫生健康局|卫生健康委员会|卫生和计划生育委员会|卫健局|卫健委|局|委员会|中心|医院|办公室|管理处|研究所|站|院|所|厅|处)"
_UNIT_LABELS = re.compile(
    r"(?:评价单位|预算单位名称|单位名称|部门名称|部门（单位）名称|部门\(单位\)名称|填报单位|报送单位|主管部门)"
    r"\s*(?:[（(](?:公章|盖章)[）)])?\s*[：:]?\s*([^\s：:，,。（(]{2,40}?" + _UNIT_SUFFIX + r")"
)
_UNIT_IN_TITLE = re.compile(
    r"(?:20\d\d\s*年度?)\s*([\u4e00-\u9fff（）()]{2,40}?" + _UNIT_SUFFIX + r")\s*(?:部门|单位)?\s*(?:整体)?\s*(?:支出)?\s*(?:绩效)"
)
_UNIT_FREE = re.compile(r"([\u4e00-\u9fff]{2,12}?(?:省|市|县|区|州|旗)[\u4e00-\u9fff]{0,10}?" + _UNIT_SUFFIX + r")")
#: _UNIT_FREE matches lie inside one run of CJK characters with a place character (省/市/…) from
#: its third character on, so only such runs are searched (the same matches, found faster).
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{4,}")
_PLACE_CHAR = re.compile(r"[省市县区州旗]")


def _free_units(head: str) -> list[str]:
    out: list[str] = []
    for m in _CJK_RUN.finditer(head):
        run = m.group()
        if _PLACE_CHAR.search(run, 2):
            out.extend(_UNIT_FREE.findall(run))
    return out

_YEAR_LABEL = re.compile(r"(?:评价年度|评价年份|年度)\s*[：:]\s*(20\d\d)")
_YEAR_TITLE = re.compile(r"(20\d\d)\s*年度?\s*[\u4e00-\u9fff（）()]{0,40}?(?:整体支出|绩效)")
_DATE = re.compile(r"(20\d\d\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)")
_DATE_LABEL = re.compile(r"(?:填报日期|报告日期|日期)\s*[：:]\s*(20\d\d\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)")
# Literal-first patterns ("得分…"), so the regex engine can skip ahead instead of trying every position.
_SCORE = (
    re.compile(r"得分(?:为|是|：|:)?\s*[“\"]?\s*(\d{1,3}(?:\.\d{1,2})?)\s*分"),
    re.compile(r"(?:自评|评价)总?分(?:数|值)?(?:为|是|：|:)\s*(\d{1,3}(?:\.\d{1,2})?)"),
)
_GRADE = re.compile(r"(?:等级|等次|评级|级别)\s*(?:为|是|：|:)?\s*[“\"「]?\s*(优秀|优|良好|良|中等|中|合格|差|不合格)")


def extract_meta(text: str, tables: list[Table]) -> Meta:
    meta = Meta()
    head = text[:3000]
    m = _UNIT_LABELS.search(text)
    if m:
        meta.unit_name = m.group(1)
    else:
        m = _UNIT_IN_TITLE.search(head) or _UNIT_IN_TITLE.search(text)
        if m:
            meta.unit_name = m.group(1)
        else:
            units = Counter(_free_units(head))
            if units:
                meta.unit_name = units.most_common(1)[0][0]
    if meta.unit_name:
        meta.unit_name = re.sub(r"^(?:20\d\d年度?|关于|我|本)", "", meta.unit_name)

    m = _YEAR_LABEL.search(text) or _YEAR_TITLE.search(head[:300])
    if m:
        meta.year = int(m.group(1))
    else:
        # The evaluated year is what the report opens with ("2024年，我局…"); later years are plans.
        first = re.search(r"(20\d\d)\s*年", head[:800])
        if first:
            meta.year = int(first.group(1))
        else:
            years = Counter(int(y) for y in re.findall(r"(20\d\d)\s*年", text))
            if years:
                meta.year = years.most_common(1)[0][0]

    m = _DATE_LABEL.search(text)
    if m:
        meta.report_date = re.sub(r"\s+", "", m.group(1))
    else:
        dates = [re.sub(r"\s+", "", d) for d in _DATE.findall(text[-1500:])]
        if dates:
            meta.report_date = dates[-1]

    score = _score(text, tables)
    if score is not None:
        meta.self_score = score
    m = _GRADE.search(text)
    if m:
        meta.grade = {"优秀": "优", "良好": "良", "中等": "中"}.get(m.group(1), m.group(1))
    meta.budget = _budget(text, tables)
    return meta


_OVERALL = re.compile(r"自评|总|综合|整体|最终|评价")


def _score(text: str, tables: list[Table]) -> Optional[float]:
    hits = sorted((m.start(), float(m.group(1))) for rx in _SCORE for m in rx.finditer(text))
    hits = [(p, v) for p, v in hits if 0 < v <= 100]
    # the overall score is named as such ("自评得分为", "综合得分", "总得分"); part scores
    # ("投入类指标得分18.5分") are not, and never exceed the total
    overall = [v for p, v in hits if _OVERALL.search(text[max(0, p - 8):p + 4])]
    if overall:
        return overall[0]
    if hits:
        return max(v for _, v in hits)
    for t in tables:  # a 总分 row: "总分 | 100 | 96.5"
        for r in t.rows:
            keys = [cell_key(c.text) for c in r.cells]
            if keys and keys[0] in ("总分", "合计", "总计"):
                nums = [k for k in keys[1:] if re.fullmatch(r"\d{1,3}(\.\d+)?", k)]
                if nums:
                    v = float(nums[-1])
                    if 0 < v <= 100:
                        return v
    return None


_BUDGET_LABELS = ("年初预算数", "全年预算数", "全年执行数", "执行率")
_BUDGET_TEXT = re.compile(
    r"(年初预算数?|全年预算数?|调整后预算数?|全年执行数?|实际支出|决算数?|预算执行率|执行率)\s*(?:为|是|：|:|达|共计)?\s*"
    r"(\d[\d,，]*(?:\.\d+)?)\s*(万元|元|亿元|%)"
)


def _budget(text: str, tables: list[Table]) -> dict:
    out: dict = {}
    for t in tables:
        for ri, r in enumerate(t.rows):
            keys = [cell_key(c.text) for c in r.cells]
            if all(any(lbl in k for k in keys) for lbl in ("年初预算数", "全年预算数", "全年执行数")) and ri + 1 < len(t.rows):
                data = [cell_key(c.text) for c in t.rows[ri + 1].cells]
                n, m = len(keys), len(data)
                for lbl in _BUDGET_LABELS:
                    idx = next((i for i, k in enumerate(keys) if lbl in k), None)
                    if idx is None:
                        continue
                    j = m - (n - idx)
                    if 0 <= j < m and data[j]:
                        out.setdefault(lbl, _num(data[j]))
                if out:
                    return out
    for m in _BUDGET_TEXT.finditer(text):
        label, val, unit = m.group(1), m.group(2).replace(",", "").replace("，", ""), m.group(3)
        key = {"年初预算": "年初预算数", "全年预算": "全年预算数", "全年执行": "全年执行数", "预算执行率": "执行率"}.get(
            label, label
        )
        if unit == "%":
            out.setdefault(key, val + "%")
        else:
            v = float(val)
            out.setdefault(key, v / 10000 if unit == "元" else (v * 10000 if unit == "亿元" else v))
    return out


def _num(s: str):
    try:
        return float(s.replace(",", ""))
    except ValueError:
        return s

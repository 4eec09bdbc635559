"""Report metadata from cue phrases and table labels: unit, year, date, self-score, grade, budget."""

from __future__ import annotations

import re
from collections import Counter
from typing import Optional

from ..models import Meta
from ..tables import Table, cell_key

_UNIT_SUFFIX = (
    r"(?:卫生健康局|卫生健康委员会|卫生和计划生育委员会|卫健局|卫健委|人民政府|街道办事处|办事处|局|委员会|中心|医院"
    r"|办公室|管理处|研究所|站|院|所|厅|处)"
)
_UNIT_LABELS = re.compile(
    r"(?:评价单位|预算单位名称|单位名称|部门名称|部门（单位）名称|部门\(单位\)名称|填报单位|报送单位|主管部门)"
    r"\s*(?:[（(](?:公章|盖章)[）)])?\s*[：:]?\s*([^\s：:，,。（(]{2,40}?" + _UNIT_SUFFIX + r")"
)
_UNIT_IN_TITLE = re.compile(
    r"(?:20\d\d\s*年度?)\s*([\u4e00-\u9fff（）()]{2,40}?" + _UNIT_SUFFIX + r")\s*(?:部门|单位)?\s*(?:整体)?\s*(?:支出)?\s*(?:绩效)"
)
#: A title that names the unit before the year: "水利局2024年度部门整体支出绩效自评报告".
_UNIT_BEFORE_YEAR = re.compile(
    r"(?m)^[#*\s]*([\u4e00-\u9fff（）()]{2,40}?" + _UNIT_SUFFIX + r")\s*(?:关于)?\s*20\d\d\s*年度?[^\n]{0,30}?(?:绩效|报告)"
)
#: A third-party evaluation names the unit it evaluated: "对县医疗保障局2024年度…开展重点绩效评价"
#: (not the finance bureau that commissioned it: "受青石县财政局委托").
_UNIT_EVALUATED = re.compile(
    r"对([\u4e00-\u9fff]{2,20}?" + _UNIT_SUFFIX + r")[^。；]{0,40}?(?:开展|进行|实施)[^。；]{0,12}评价"
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

_YEAR_LABEL = re.compile(r"年[度份]\s*[：:]\s*(20\d\d)")  # 评价年度：/评价年份：/年度：, literal-first
_YEAR_TITLE = re.compile(r"(20\d\d)\s*年度?\s*[\u4e00-\u9fff（）()]{0,40}?(?:整体支出|绩效)")
_DATE = re.compile(r"(20\d\d\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)")
_DATE_LABEL = re.compile(r"日期\s*[：:]\s*(20\d\d\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)")  # 填报日期：/报告日期：
# Each pattern opens with ONE literal ("得分…", "自评…"), so the regex engine jumps from one
# occurrence to the next; a leading "(?:自评|评价)" makes it try every position (~8x slower).
_SCORE_NUMBER = r"(\d{1,3}(?:\.\d{1,2})?)"
_SCORE = (
    re.compile(r"得分(?:为|是|：|:)?\s*[“\"]?\s*" + _SCORE_NUMBER + r"\s*分"),
    *(re.compile(lead + r"总?分(?:数|值)?(?:为|是|：|:)\s*" + _SCORE_NUMBER) for lead in ("自评", "评价")),
    # "总自评为95分", "自评总分95分", "综合评分为92.5分"
    *(re.compile(lead + r"(?:总分|分数|结果)?(?:为|是|：|:)?\s*[“\"]?\s*" + _SCORE_NUMBER + r"\s*分")
      for lead in ("自评", "评分")),
)
_GRADE = re.compile(r"(?:等级|等次|评级|级别)\s*(?:为|是|：|:)?\s*[“\"「]?\s*(优秀|优|良好|良|中等|中|合格|差|不合格)")


def extract_meta(text: str, tables: list[Table]) -> Meta:
    meta = Meta()
    head = text[:3000]
    m = _UNIT_LABELS.search(text)
    if m:
        meta.unit_name = m.group(1)
    else:
        m = (_UNIT_IN_TITLE.search(head) or _UNIT_BEFORE_YEAR.search(head) or _UNIT_IN_TITLE.search(text)
             or _UNIT_EVALUATED.search(head))
        if m:
            meta.unit_name = m.group(1)
        else:
            units = Counter(_free_units(head))
            if units:
                meta.unit_name = units.most_common(1)[0][0]
    if meta.unit_name:
        meta.unit_name = _full_name(text, re.sub(r"^(?:20\d\d年度?|关于|我|本|受|由|经|对)", "", meta.unit_name))

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
    rate = _execution_rate(text, meta.budget)
    if rate is not None:
        meta.execution_rate = rate
    return meta


_PLACE_END = "省市县区州旗镇乡"
_NOT_PLACE = re.compile(r"[的我本和及与在由对是为将了各全该此其于即]")


def _full_name(text: str, unit: str) -> str:
    """The unit's name with its place, as the body states it, when the title gave it without
    ("水利局" in the title, "某某县水利局" in the text). The longest place prefix found as often as
    the shortest one wins; a name the text never writes is never made up."""
    if len(unit) > 12 or _NOT_PLACE.search(unit) or any(c in _PLACE_END for c in unit[:-1]):
        return unit  # already placed ("廉江市卫生健康局"), or not a bare unit name
    counts: Counter[str] = Counter()
    for m in re.finditer(re.escape(unit), text):
        before = text[max(0, m.start() - 8):m.start()]
        for k in range(2, len(before) + 1):
            prefix = before[-k:]
            if not re.fullmatch(r"[\u4e00-\u9fff]+", prefix) or _NOT_PLACE.search(prefix):
                break
            if prefix[-1] in _PLACE_END:
                counts[prefix] += 1
    if not counts:
        return unit
    best = max(counts.values())
    return max((p for p, n in counts.items() if n == best), key=len) + unit


#: "预算执行率为96.64%", "全年执行率达98.2%"; the clause before it names what the rate is of.
_RATE = re.compile(r"执行率\s*(?:为|是|：|:|达到?|达)?\s*(\d{1,3}(?:\.\d{1,2})?)\s*[%％]")
_SUB_RATE = re.compile(r"基本支出|项目支出|人员经费|公用经费|人员支出|专项|项目资金|三公|上半年|[一二三四]季度|\d月|某项目|资金执行率")
_TARGET_WORDS = re.compile(r"不低于|≥|目标|力争|要求|确保")
_TOTAL_RATE = re.compile(r"部门|整体|总体|全年|年度|预算执行率|单位")


def _execution_rate(text: str, budget: dict) -> Optional[float]:
    """The department's total execution rate (%): the budget table's 执行率, else the first rate
    stated for the whole budget — never a sub-rate such as 基本支出's or a quarter's."""
    v = budget.get("执行率")
    if v is not None:
        n = re.search(r"\d+(?:\.\d+)?", str(v))
        if n:
            return float(n.group())
    fallback = None
    for m in _RATE.finditer(text):
        clause = re.split(r"[，,。；;\n]", text[max(0, m.start() - 30):m.start()])[-1]
        if _SUB_RATE.search(clause):
            continue
        value = float(m.group(1))
        if not 0 < value <= 100 or text.startswith(("以上", "以下"), m.end()) or _TARGET_WORDS.search(clause):
            continue  # a target ("执行率达到95%以上"), not the year's figure
        if _TOTAL_RATE.search(clause) or clause.strip() in ("", "预算"):
            return value
        fallback = fallback if fallback is not None else value
    return fallback


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
#: Header labels of a budget table, each read as one of _BUDGET_LABELS (first match wins).
_BUDGET_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("年初预算数", ("年初预算",)),
    ("全年预算数", ("全年预算", "调整后预算", "预算调整后", "全年预算数")),
    ("全年执行数", ("全年执行", "执行数", "实际支出", "支出数", "决算数", "执行金额")),
    ("执行率", ("执行率",)),
)
_BUDGET_TEXT = re.compile(
    r"(年初预算数?|全年预算数?|调整后预算数?|全年执行数?|执行数|全年支出数?|支出数|实际支出|决算数?|预算执行率|执行率|预算数)"
    r"\s*(?:为|是|：|:|达|共计|调整为|调整至)?\s*"
    r"(\d[\d,，]*(?:\.\d+)?)\s*(万元|元|亿元|%)"
)
_TEXT_KEYS = {"年初预算": "年初预算数", "全年预算": "全年预算数", "全年执行": "全年执行数", "执行数": "全年执行数",
              "全年支出": "全年执行数", "全年支出数": "全年执行数", "支出数": "全年执行数", "实际支出": "全年执行数",
              "预算执行率": "执行率", "预算数": "全年预算数"}
#: A sentence about a part of the budget ("“三公”经费预算数…", "其中基本支出…").
_PART = re.compile(r"三公|其中|公务")
_TOTAL_ROW = re.compile(r"合计|总计|小计|部门整体|整体支出|全部")
_SCALE = {"元": 1 / 10000, "万元": 1.0, "亿元": 10000.0}


def _budget(text: str, tables: list[Table]) -> dict:
    """The budget's totals by label, amounts in 万元 whatever unit the report writes them in
    (a table's "单位：元" or "（元）" header is read, 元 and 亿元 converted); "单位" says so."""
    out = _table_budget(text, tables)
    if not out:
        for m in _BUDGET_TEXT.finditer(text):
            sentence = re.split(r"[。；;\n]", text[max(0, m.start() - 60):m.start()])[-1]
            if _SUB_RATE.search(re.split(r"[，,]", sentence)[-1]) or _PART.search(sentence):
                continue  # 基本支出's, "三公" or a project's own figure, not the department's
            label, val, unit = m.group(1), m.group(2).replace(",", "").replace("，", ""), m.group(3)
            key = _TEXT_KEYS.get(label, label)
            if unit == "%":
                out.setdefault(key, val + "%")
            else:
                out.setdefault(key, round(float(val) * _SCALE[unit], 6))
    if any(isinstance(v, float) for v in out.values()):
        out["单位"] = "万元"
    return out


def _table_budget(text: str, tables: list[Table]) -> dict:
    """Totals from a budget table: a header naming a budget and what was spent, then its total
    row (合计/总计, else the first row under the header), cells aligned from the right."""
    for t in tables:
        for ri, r in enumerate(t.rows):
            if not any("预算" in c.text for c in r.cells):
                continue  # cheap test first: this runs on every row of every table
            keys = [cell_key(c.text) for c in r.cells]
            cols = {}
            for lbl, names in _BUDGET_COLUMNS:
                idx = next((i for i, k in enumerate(keys) if any(nm in k for nm in names) and i not in cols.values()), None)
                if idx is not None:
                    cols[lbl] = idx
            if "全年执行数" not in cols or not ({"年初预算数", "全年预算数"} & set(cols)) or ri + 1 >= len(t.rows):
                continue
            below = t.rows[ri + 1:ri + 8]
            total = next((row for row in below if row.cells and _TOTAL_ROW.search(cell_key(row.cells[0].text))), below[0])
            data = [cell_key(c.text) for c in total.cells]
            scale = _SCALE[_table_unit(text, t, keys)]
            out: dict = {}
            n, m = len(keys), len(data)
            for lbl, idx in cols.items():
                j = m - (n - idx)
                if 0 <= j < m and data[j]:
                    v = _num(data[j])
                    out[lbl] = round(v * scale, 6) if isinstance(v, float) and lbl != "执行率" else v
            if out:
                return out
    return {}


def _table_unit(text: str, table: Table, header: list[str]) -> str:
    """万元, 元 or 亿元: as the header cells or the lines just above the table say (万元 if silent)."""
    for place in ("".join(header), text[max(0, table.start - 120):table.start]):
        m = re.search(r"(万元|亿元|元)", place)
        if m:
            return m.group(1)
    return "万元"


def _num(s: str):
    try:
        return float(s.replace(",", ""))
    except ValueError:
        return s

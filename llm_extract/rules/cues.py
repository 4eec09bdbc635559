"""Cue phrases that mark a sentence as a problem or a planned measure, wherever it stands.

Two strengths: strong cues are trusted anywhere (a "下一步，我局将…" sentence inside a results
section is a measure); weak cues only decide between categories inside a section whose heading
already says it holds problems or measures.
"""

from __future__ import annotations

import re

from ..headings import match_marker

#: Problem cues. Split in two so each scans fast: `re` skips ahead on a pattern whose every
#: alternative opens with a literal character, but not on one that also holds "^" alternatives.
_PROBLEM_AT_START = re.compile(r"(存在的?|主要)?(问题|不足|困难)(及原因|原因)?[:：]")
_PROBLEM_ANYWHERE = re.compile(
    r"存在(?:的|着)?(?:一些|主要|突出|以下)?(?:问题|不足|短板|困难|薄弱环节)"
    r"|不足之处|问题(?:主要)?(?:有|是|在于|表现(?:在|为))"
    r"|仍然?(?:存在|有|不|未|需|较|薄弱|偏低|滞后|缺乏)"
    r"|依然然?(?:存在|有|不|未|需|较|薄弱|偏低|滞后|缺乏)"
    r"|依旧然?(?:存在|有|不|未|需|较|薄弱|偏低|滞后|缺乏)"
    r"|仅(?:有|为|占|完成|达)"
    r"|但(?:是)?[^。；]{0,24}(?:仍|尚|还)(?:存在|有|不|未|需|较)"
    r"|然而(?:是)?[^。；]{0,24}(?:仍|尚|还)(?:存在|有|不|未|需|较)"
    r"|扣分(?:原因|项|情况|主要|集中|指标)|共扣\d|偏差原因"
    # each alternative opens with a literal, so `re` can skip ahead (see the note above)
    r"|延后\d|推迟\d{1,3}(?:天|日|个月)|延期\d{1,3}(?:天|日|个月)|逾期\d{1,3}(?:天|日|个月)"
    r"|较(?:合同|计划)?工期(?:延后|推迟|滞后)"
    r"|未能?(?:全部|完全|按期|如期|按时|足额)?(?:完成|达到|达标|到位|完工|竣工|建成)|未达(?:到)?(?:预期|目标|要求)"
)

WEAK_PROBLEM = re.compile(
    r"问题|不足|短板|薄弱|滞后|不到位|不够|有待|欠缺|缺乏|缺口|偏低|较低|不高|不强|不完善|不健全"
    r"|不平衡|不充分|未能|未达|尚未|难以|困难|压力|突出|差距|扣分|偏差|紧缺|老化|流失|不规范|不及时"
    r"|不精准|不明确|不合理|严重|单一|落后|短缺|不匹配|空编|不一|较大|较多|低于"
)

#: Measure cues, split like the problem cues: openings, then cues anywhere in the sentence.
_MEASURE_AT_START = re.compile(
    r"(改进|整改|下步|下一步|应对)?(措施|建议|对策|举措)[:：]"
    r"|(下一步|今后|下阶段|下一阶段|接下来|明年|来年|20\d\d年(?=.{0,10}将))"
    r"|(本|我)?(局|委|委员会|单位|中心|院|站|所|部门|镇|乡|街道|县|区|市|队|办)(将|拟|计划)"
    r"|建议"
)
_MEASURE_ANYWHERE = re.compile(
    r"下一步[，,]|下一步(?:工作|计划|打算|我)"
    r"|我(?:局|委|单位|中心|院|部门|们|镇|乡|街道|县|区|市|站|所|队|办)(?:将|要|会|拟|计划|准备)"
    r"|将作为[^。；]{0,30}(?:依据|参考)"
    r"|将(?:进一步|继续|持续|加大|加强|加快|着力|全力|切实|积极|认真|重点|不断|逐步|强化|完善|推进|推动"
    r"|建立|健全|优化|落实|做好|严格|坚持|深化|抓好|提升|提高)"
    r"|拟(?:于|在|对|将|进一步|开展|实施)|计划(?:于|在|对|将|进一步|开展|实施)"
)

#: A target set for the evaluated year ("2024 年底前，…要达到基本标准").
GOAL_CUE = re.compile(r"年底前|年内(?:完成|实现|达到)|力争|目标(?:是|为)|计划(?:完成|实现|达到)|预计(?:完成|实现|达到)|要求?达到")

#: How a target is written ("≥12处", "不低于95%", "达到90%以上", "控制在预算以内").
TARGET_OP = re.compile(
    r"≥|≤|＞=|>=|不低于|不少于|不高于|不超过|不大于|大于等于|小于等于|达到[^。；;，,]{0,20}以上|控制在[^。；;，,]{0,20}以[内下]"
)
#: Words that report a result, not a target ("实际完成", "已建成", "较上年").
_RESULT_MARK = re.compile(r"实际|已|完成了|实现了|达到了|较上年|同比|均已|全部|共计|累计|超额|为\d")
#: An indicator class opening a list of targets ("产出指标：…", "数量指标方面，…").
_INDICATOR_CLASS = re.compile(r"(?:产出|效益|数量|质量|时效|成本|满意度|社会效益|经济效益|生态效益|可持续影响)指标")


def is_target_statement(s: str) -> bool:
    """A list of indicators with their targets, set before the results are reported: a goal
    wherever it stands ("产出指标：新建供水工程≥12处，水质达标率不低于90%")."""
    ops = TARGET_OP.findall(s)
    if not ops or _RESULT_MARK.search(s):
        return False
    return len(ops) >= 2 or bool(_INDICATOR_CLASS.search(s, 0, 14))


def is_target_point(body: str) -> bool:
    """One point of an indicator list, stated as its target ("病虫害绿色防控覆盖率达到52%以上；"):
    short, and at least half of its clauses carry a target (a narrative of work done that once
    says "达到国家C级以上标准" is not a target)."""
    if len(body) > 80 or _RESULT_MARK.search(body):
        return False
    ops = len(TARGET_OP.findall(body))
    return ops > 0 and 2 * ops >= len(_CLAUSES.findall(body.rstrip("；;。，, "))) + 1


_CLAUSES = re.compile(r"[，,；;。]")


#: What every framing or scoring sentence holds ("以下", "设置", "公开", "分值", "下表"; most sentences
#: hold none): the framing checks in rules.paragraphs run only after it.
NOT_A_CLAIM_HINT = re.compile(
    r"注[：:]|以下[^。；]{0,12}(?:工作|方面|几点|任务)|如下[^。；]{0,12}(?:工作|方面|几点|任务)"
    r"|设[置定][^。；]{0,16}指标|指标共|公开[^。；，]{0,12}报告|报告[^。；]{0,12}公开"
    r"|分值|计得\d|得分\d|得\d{1,3}(?:\.\d+)?分|下表|见表"
)

#: Every problem, measure and goal cue that can stand anywhere, in one pattern: most sentences
#: carry none, and one scan tells (see has_no_cue).
_ANY_CUE = re.compile(
    "|".join([_PROBLEM_ANYWHERE.pattern, _MEASURE_ANYWHERE.pattern, GOAL_CUE.pattern, TARGET_OP.pattern,
              NOT_A_CLAIM_HINT.pattern])
)


def has_no_cue(s: str, body: str) -> bool:
    """True when sentence `s` (`body`: s without its marker) has no problem, measure or goal cue
    and no framing hint, so is_strong_problem(s), has_measure_cue(body), GOAL_CUE.search(s),
    is_target_statement(s) and NOT_A_CLAIM_HINT.search(s) are all false."""
    return not (_ANY_CUE.search(s) or _PROBLEM_AT_START.match(s) or _MEASURE_AT_START.match(body))


#: A target reported as met ("绩效目标基本达成", "未出现明显偏离"): a result, wherever it stands.
GOAL_MET = re.compile(r"目标(已|均|基本|全面)?(顺利|全面|基本)?(达成|完成|实现)|未出现(明显)?偏(离|差)")

#: A lead-in that announces remedies ("…制定并推进了以下具体核查与改进措施：", "将着重推进以下工作：").
MEASURE_LEADIN = re.compile(
    r"(措施|举措|计划|打算|做法|工作)[:：]$|(?<!现)(将|拟|计划)[^。]{0,30}(以下|如下)[^。]{0,12}[:：]$"
)

_PAST = re.compile(r"(完成|开展|做|实施|推进)了|已(经)?|取得")


def is_measure_leadin(s: str) -> bool:
    """'…我们将着重推进以下工作：' announces plans; '中心全年还完成了以下工作：' announces results."""
    if not MEASURE_LEADIN.search(s):
        return False
    return bool(re.search(r"措施|举措|计划|打算|对策", s)) or not _PAST.search(s)


#: Signature / date lines closing a report or a table: never items.
SIGNATURE = re.compile(r"(负责人|填表人|联系电话|盖章|公章|签字|签名)|^\S{0,30}20\d\d\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$")

#: Words that say a result was reached (an achievement stated outside a results section).
ACHIEVED = re.compile(
    r"(完成|达到|达成|实现|建成|建立了|开展了?|举办|取得|获得|获评|荣获|提升至|提高到|下降|增长|降低|覆盖"
    r"|节约|办理|处置|接种|筛查|签约|新建|改造|投入使用|累计|共计|全年|收回|督促|查处|检查|培训|组建|新增|拨付|发放)"
)
#: A figure with a unit: results are counted in people, places, money and rates (not years or 文号).
HAS_FIGURE = re.compile(
    r"\d[\d.,，]*\s*(%|％|个百分点|万|亿|元|人|家|个|项|次|场|户|份|台|套|例|所|名|张|条|起|剂|对|公里|平方米|㎡|小时|倍|床|辆|批)"
)

#: A pure budget statement (metadata, not an item): the budget's own totals.
BUDGET_SENTENCE = re.compile(
    r"(预算数|决算数|预算收入|预算支出|财政拨款|收入合计|支出合计|年初预算|全年预算|调整预算|基本支出|项目支出)"
    r"[^。；]{0,20}\d[\d.,，]*\s*(万元|元|亿元)"
)
RESULT_WORDS = re.compile(r"较上年|同比|下降|增长|节约|控制率|提高|降低")

#: How the self-evaluation itself was run (boilerplate wherever it appears).
PROCESS_SENTENCE = re.compile(
    r"开展了?[^。；]{0,12}(?:绩效)?自评|进行了?[^。；]{0,12}(?:绩效)?自评|组织了?[^。；]{0,12}(?:绩效)?自评"
    r"|自评(?:工作|范围|小组|依据|方案)|评价工作|本次(?:自评|评价)|自评采[取用]|评价采[取用]"
)


def is_budget_statement(s: str) -> bool:
    return bool(BUDGET_SENTENCE.search(s)) and not RESULT_WORDS.search(s)


#: "对存在的问题限期整改", "发现存在的问题": the phrase names problems being handled, which is work done.
_HANDLED = re.compile(r"(对|发现|解决|针对|整改|排查|查找|梳理|剖析|聚焦|查摆|及时)[^，。；]{0,3}$")


def is_strong_problem(s: str) -> bool:
    if _PROBLEM_AT_START.match(s):
        return True
    for m in _PROBLEM_ANYWHERE.finditer(s):
        if not _HANDLED.search(s[max(0, m.start() - 6):m.start()]):
            return True
    return False


def strip_marker(s: str) -> str:
    """The sentence without a leading enumeration marker (so ^-anchored cues still apply)."""
    s = s.strip()
    mk = match_marker(s)
    return s[mk.length:] if mk else s


def has_measure_cue(body: str) -> bool:
    """Measure cues of a sentence already stripped of its enumeration marker."""
    return bool(_MEASURE_AT_START.match(body) or _MEASURE_ANYWHERE.search(body))


def is_strong_measure(s: str) -> bool:
    return has_measure_cue(strip_marker(s))


#: Explicit category labels opening a sentence ("问题：…", "整改措施：…", "整改成效：…", "年度目标：…").
#: A label is the strongest evidence a report gives: what follows it, up to the next label or
#: point of its own rank, is of that category whatever its wording (LABELING.md).
_LABELS: tuple[tuple[str, "re.Pattern[str]"], ...] = (
    ("measure", re.compile(
        r"(?:整改|改进|下一步|下步|应对|解决|完善|工作)?(?:措施|建议|对策|举措|意见|方向|打算|思路)(?:及计划)?[:：]"
        r"|(?:整改|改进|工作)(?:方案|计划)[:：]")),
    ("problem", re.compile(
        r"(?:存在的?|主要|突出|发现的?)?(?:问题|不足|短板)(?:描述|表现|及原因|和原因)?[:：]"
        r"|(?:问题|产生|偏差|扣分)?原因(?:分析)?[:：]")),
    ("achievement", re.compile(r"(?:整改|工作|主要)?(?:成效|成果|进展|完成情况)[:：]|整改(?:情况|结果)[:：]")),
    ("goal", re.compile(r"(?:年度|绩效|预期|总体|工作)*目标(?:任务)?[:：]")),
)
_LABEL_MAX = 12


def explicit_label(body: str) -> str | None:
    """The category an opening label names ("整改措施：" → measure), for a sentence already
    stripped of its enumeration marker; None when it opens with no label."""
    head = body[:_LABEL_MAX]
    if "：" not in head and ":" not in head:
        return None  # the usual case, decided without a regex
    for cat, rx in _LABELS:
        if rx.match(body):
            return cat
    return None

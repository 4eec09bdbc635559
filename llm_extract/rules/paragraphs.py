"""Items from narrative paragraphs: cut per enumerated point, categorised by section and cues."""

from __future__ import annotations

import re
from typing import Iterator, Optional

from ..headings import ENUM_BREAK, match_marker
from ..structure import Block, Section, sentence_spans
from ..textview import trim_spans
from .cues import (
    ACHIEVED,
    GOAL_CUE,
    GOAL_MET,
    is_measure_leadin,
    HAS_FIGURE,
    NOT_A_CLAIM_HINT,
    PROCESS_SENTENCE,
    SIGNATURE,
    WEAK_PROBLEM,
    explicit_label,
    has_measure_cue,
    has_no_cue,
    is_budget_statement,
    is_strong_problem,
    is_target_point,
    is_target_statement,
    strip_marker,
)

Span = tuple[int, int, str]  # start, end, category



SCORE_SENTENCE = re.compile(r"得分|等级|评分|总分|自评结果为")
#: Scoring arithmetic wherever it stands ("指标分值合计90分，得分85分"): metadata, not a result.
_SCORE_ARITHMETIC = re.compile(r"分值|计得\d|得分\d|得\d+(?:\.\d+)?分")
#: A table's caption line, and a sentence that only points at a table ("…详见下表。").
_CAPTION = re.compile(r"^(?:表\s*\d+\S*)?[^。；;，,：:]{0,50}表$")
_TABLE_POINTER = re.compile(r"(?:详见|见|如)下表|如下表所示|见表\s*\d")
#: Framing, not a claim: how many indicators were set ("共设置绩效指标22项"), a note on a table's
#: data source ("注：满意度指标由…"), that the report will be published, a "以下几个方面的工作。" lead-in.
_FRAMING = re.compile(r"^注[：:]|^[^。；]{0,30}(?:以下|如下)[^。；]{0,12}(?:工作|方面|几点|任务)[。：:]?$")
_INDICATOR_COUNT = re.compile(r"(?:设置|设定)[^。；]{0,16}指标[^。；]{0,4}\d+[项个]|指标共\d+[项个]")
_COUNTS_RESULTS = re.compile(r"完成|实现|达到|未")
_PUBLISHING = re.compile(r"公开[^。；，]{0,12}报告|报告[^。；]{0,12}公开")

_PUBLISHING_ONLY = re.compile(r"问题|整改|改进|加强|完善|提升")


_SENTENCE_MARK = re.compile(r"[。！？!?；;]")


#: Below this length a paragraph read sentence by sentence is not scanned for run-in points: its
#: sentences already end at each point's 。/；, and the scan is the costliest step of a paragraph.
_SCAN_SHORT = 260


def points(text: str, start: int, end: int, *, always: bool = False) -> list[tuple[int, int]]:
    """Cut a paragraph at inline enumeration markers (一是, （1）, ①, 1、) when it has two or more.
    Goals and measures are one item per point whatever the paragraph's length (`always`)."""
    if not always and end - start < _SCAN_SHORT:
        return [(start, end)]
    marks = [m.end() for m in ENUM_BREAK.finditer(text, start, end)]
    if not marks or (len(marks) < 2 and match_marker(text[start:start + 6]) is None):
        return [(start, end)]  # two points at least: the paragraph's own opening marker counts
    cuts = [start, *marks, end]
    return trim_spans(text, zip(cuts, cuts[1:]))


def _sentence_category(s: str, kind: str, body: Optional[str] = None) -> Optional[str]:
    """Category of one sentence inside a section of `kind` (None: not an item).

    `body` is the sentence without its enumeration marker, when the caller has it already. This
    runs for every sentence of every report, so each cue is tested at most once, and not at all
    when one scan (has_no_cue) finds the sentence carries none — the usual case."""
    if kind == "measures":
        return "measure"
    if body is None:
        body = strip_marker(s)
    cued = not has_no_cue(s, body)
    if kind == "problems":
        if cued and is_strong_problem(s):
            return "problem"
        if GOAL_MET.search(s):
            return "achievement"  # "2024 年度绩效目标基本达成，未出现明显偏离" under a problems heading
        if cued and has_measure_cue(body):
            return "measure"
        return "problem" if WEAK_PROBLEM.search(s) else None  # None: continues the statement before
    if kind == "goals":
        return "measure" if cued and has_measure_cue(body) else "goal"
    if kind == "mixed":
        if cued and has_measure_cue(body):
            return "measure"
        if (cued and is_strong_problem(s)) or WEAK_PROBLEM.search(s):
            return "problem"
        return None  # decided by the section's default in paragraph_items
    hint = cued and NOT_A_CLAIM_HINT.search(s) is not None  # framing: achievements, score, other, budget
    if hint and _is_framing(s.strip()):
        return None
    if kind in ("achievements", "score"):
        if kind == "score" and SCORE_SENTENCE.search(s) and not (cued and is_strong_problem(s)):
            return None  # the self-score is metadata
        if hint and (_SCORE_ARITHMETIC.search(s) or (_TABLE_POINTER.search(s) and len(s) <= 60)):
            return None
        if cued and has_measure_cue(body) and not _reported_result(s):
            return "measure"
        if cued and is_strong_problem(s):
            return "problem"
        if cued and (GOAL_CUE.search(s) or is_target_statement(s)):
            return "goal"
        if kind == "score" and PROCESS_SENTENCE.search(s):
            return None  # how the self-evaluation was done
        return "achievement"
    # other / budget: only strong cues, and plain results with figures
    if cued and has_measure_cue(body):
        return "measure"
    if cued and is_strong_problem(s):
        return "problem"
    if kind == "other" and cued and GOAL_CUE.search(s) and "目标" in s:
        return "goal"
    if cued and is_target_statement(s):
        return "goal"
    if (
        kind == "other"
        and ACHIEVED.search(s)
        and HAS_FIGURE.search(s)
        and not is_budget_statement(s)
        and not PROCESS_SENTENCE.search(s)
    ):
        return "achievement"
    return None


#: The framing clause before a run-in goal list: "…2023年度部门整体支出绩效目标为：".
_GOALS_LEADIN = re.compile(r"[^。；]{0,80}(?:(目标|任务|指标)[^。；：:]{0,10}(为|是|如下|包括|有|主要有)|目标)[：:]")


def _semicolon_parts(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) cut after each ；/; (the separator stays with its part)."""
    parts, s = [], start
    for i in range(start, end):
        if text[i] in "；;":
            parts.append((s, i + 1))
            s = i + 1
    if s < end:
        parts.append((s, end))
    return parts


#: A remark about the goals just listed ("上述目标均…", "以上指标…").
_ABOUT_THE_GOALS = re.compile(r"^(上述|以上|前述|这些)(绩效)?(目标|指标)")

#: A sentence that opens an enumeration after a colon: "…做好三方面工作：一是…".
_OPENS_LIST = re.compile(r"[：:]\s*(一是|其一|首先|（一）|\(一\)|（1）|\(1\)|1[、.．]|①)")

#: Words that put a statement in the future, whatever else it says.
_FUTURE = re.compile(r"下一步|今后|下阶段|下一阶段|明年|来年|将继续|将进一步|计划|拟")


def _is_framing(s: str) -> bool:
    s = "".join(s.split())  # PDF text wraps anywhere, even inside "指标"
    if _FRAMING.search(s) or (_INDICATOR_COUNT.search(s) and not _COUNTS_RESULTS.search(s)):
        return True
    return bool(_PUBLISHING.search(s)) and not _PUBLISHING_ONLY.search(s)


def _plans_ahead(s: str, kind: str) -> bool:
    """A lead-in announcing planned measures. Under a results heading ("主要绩效") "…重点抓好以下
    工作：" introduces the work done, unless it speaks of the future."""
    return is_measure_leadin(s) and (kind not in ("achievements", "score") or bool(_FUTURE.search(s)))


def _reported_result(s: str) -> bool:
    """'我局将全部项目纳入监控，督促整改问题7个' uses 将 as 把: with done-verbs and counted results
    and no word of the future, it reports work done."""
    return bool(ACHIEVED.search(s) and HAS_FIGURE.search(s) and not _FUTURE.search(s))


def _mixed_default(section_title: str) -> str:
    """In a mixed section, what an uncued sentence is: the first content category the heading names."""
    t = "".join(section_title.split())
    order = []
    for cat, rx in (
        ("achievement", r"成效|成绩|成果|完成|绩效情况|效益"),
        ("problem", r"问题|不足|偏差|扣分|困难"),
        ("measure", r"措施|改进|整改|建议|下一步"),
        ("goal", r"目标"),
    ):
        m = re.search(rx, t)
        if m:
            order.append((m.start(), cat))
    return min(order)[1] if order else "problem"


_COLON_THEN_POINT = re.compile(r"[：:](?=\s*(一是|其一|首先|（一）|\(一\)|（1）|\(1\)|①))")


def _split_before_points(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """'…仍存在一些不足：一是…' read as the lead-in and the first point, so the lead-in can be dropped."""
    out = []
    for a, b in spans:
        m = _COLON_THEN_POINT.search(text, a, b)
        if m and m.end() < b and m.start() - a <= 60:
            out.extend([(a, m.end()), (m.end(), b)])
        else:
            out.append((a, b))
    return trim_spans(text, out)


#: How far before its colon a label's sentence can start ("（1）下一步整改措施：").
_LABEL_REACH = 16


def _foreign_label(text: str, a: int, b: int, kind: str) -> bool:
    """Whether a point of a goals/measures section holds a label naming another category."""
    own = "measure" if kind == "measures" else "goal"
    for colon in ("：", ":"):
        c = text.find(colon, a, b)
        while c >= 0:
            # a label ends in a colon within a few characters of its sentence's start
            opening = _SENTENCE_MARK.split(text[max(a, c - _LABEL_REACH):c + 1])[-1]
            label = explicit_label(strip_marker(opening))
            if label is not None and label != own:
                return True
            c = text.find(colon, c + 1, b)
    return False


def _with_titles_attached(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A point's short opening title ("（一）基本公共卫生服务项目。") is read with the sentence after it,
    so it takes that sentence's category instead of being judged on its own — unless that sentence
    opens with a label ("1.拨付滞后。整改措施：…"): then the title is the point's own statement."""
    if len(spans) >= 2:
        a, b = spans[0]
        first = text[a:b]
        if (
            len(first) <= 22
            and match_marker(first.strip()) is not None
            and explicit_label(text[spans[1][0]:spans[1][1]]) is None
            and match_marker(text[spans[1][0]:spans[1][0] + 6]) is None  # "一是A。二是B。": two points
        ):
            return [(a, spans[1][1]), *spans[2:]]
    return spans


#: A paragraph title naming the goals themselves ("2024年度部门整体绩效目标"), not a remark about
#: them ("预算绩效目标的可行性").
_GOALS_TITLE = re.compile(r"目标(?:任务)?$")


def _goal_statement(block: Block, ctx: dict) -> bool:
    """Whether a paragraph states goals wherever it stands: it is titled as goals ("年度绩效目标：…",
    "2.2024年度部门整体绩效目标。…"), or it is a point of the list such a paragraph opened (a marker
    of another style than the titled paragraph's; an unmarked paragraph or one of that same style
    ends the list)."""
    if block.title_kind == "goals" and _GOALS_TITLE.search(block.title):
        ctx["goal_list"] = block.marker.style if block.marker else ""
        return True
    style = ctx.get("goal_list")
    if style is None:
        return False
    if block.marker is None or block.marker.style == style or block.title_kind not in (None, "goals"):
        ctx["goal_list"] = None
        return False
    return True


#: Longest paragraph title ("2.2024年度部门整体绩效目标。") read as the opening of its first point.
_INLINE_TITLE_POINT = 30

#: A paragraph title about how the self-evaluation was run ("自评工作开展情况。").
_PROCESS_TITLE = re.compile(r"自评|评价工作|评价方法|评价依据")

#: Run-in point markers that start a new item even inside one paragraph ("…。二是…").
_RUN_IN_STYLES = frozenset(("shi", "ord", "pnum", "circ"))

#: Marker styles of list points (as opposed to outline headings).
_POINT_STYLES = frozenset(("shi", "num", "pnum", "circ", "ord"))


def paragraph_items(text: str, block: Block, section: Section, ctx: Optional[dict] = None) -> Iterator[Span]:
    """Yield (start, end, category) items of one paragraph block.

    `ctx` carries an open enumeration across paragraphs: after "存在的问题主要有：一是…", the
    following 二是/三是 points are problems too even where they carry no cue of their own.
    """
    ctx = {} if ctx is None else ctx
    kind = section.kind
    if block.title_kind == "boilerplate" and (kind != "achievements" or _PROCESS_TITLE.search(block.title)):
        kind = "boilerplate"  # "（一）机构设置：…"; under a results heading only the evaluation's own process
    if kind != "measures" and _goal_statement(block, ctx):
        kind = "goals"  # "2.2024年度部门整体绩效目标。（一）…" inside 基本情况, and its points
    if kind == "boilerplate":
        return
    compact = "".join(text[block.start:block.end].split())
    if len(compact) <= 60 and (SIGNATURE.search(compact) or (compact[-1:] == "表" and _CAPTION.search(compact))):
        return  # a signature, or a table's caption ("表1 龙潭镇2024年度…绩效指标完成情况表")
    if compact.startswith(("注：", "注:")) and kind not in ("problems", "measures"):
        return  # a note under a table: how its figures were gathered
    if len(compact) <= 80 and compact.endswith(("：", ":")) and not _SENTENCE_MARK.search(compact):
        lead = "measure" if _plans_ahead(compact, kind) else _sentence_category(compact, kind)
        ctx["list_cat"] = lead if lead in ("problem", "measure") else None
        return  # a lead-in to a list ("设定了以下年度绩效目标："), not a claim of its own
    if kind == "goals" and compact.endswith(("：", ":")) and len(compact) <= 160:
        return  # how the goals were set, ending "…主要绩效目标为：": framing for the list that follows
    if kind == "goals" and _ABOUT_THE_GOALS.match(compact):
        return  # "上述目标均设置了可量化的指标值": a remark about the list, not a goal
    label_rank = ctx.get("label_rank")
    if ctx.get("label") and block.marker is not None and label_rank is not None and block.marker.rank <= label_rank:
        ctx["label"] = None  # the next point of the labelled point's rank: its own labels decide
    held: Optional[int] = None  # start of a paragraph title read with the first point
    for a, b in points(text, block.start, block.end, always=kind in ("goals", "measures")):
        seg = text[a:b]
        if a == block.start and b < block.end and kind in ("goals", "measures"):
            if seg.endswith(("：", ":")):
                continue  # "…绩效目标如下：" / "…重点抓好以下工作：" before the points: framing, not an item
            if block.title and len(seg) <= _INLINE_TITLE_POINT and seg.endswith(("。", ".")):
                held = a  # "2.2024年度部门整体绩效目标。（一）…": the title opens the first point
                continue
        if held is not None:
            a, held = held, None
            seg = text[a:b]
        if kind in ("goals", "measures") and _foreign_label(text, a, b, kind):
            kind = "mixed"  # "问题：…。整改措施：…" inside a measures section: labels decide, sentence by sentence
        if kind == "goals":
            m = _GOALS_LEADIN.search(text, a, min(b, a + 160))
            if m and m.end() < b:
                # "…部门整体支出绩效目标为：A；B；C。" — the framing is not a goal; each listed one is
                for gs, ge in trim_spans(text, _semicolon_parts(text, m.end(), b)):
                    yield gs, ge, "goal"
                continue
        if kind in ("goals", "measures") and ("以下" in seg or "如下" in seg or "指标" in seg) and _is_framing(seg):
            continue  # "…重点做好以下几个方面的工作。", "…设置一级指标3个、二级指标9个…"
        if kind in ("goals", "measures"):
            # one item per point; a goals point is a measure only when its opening says so
            yield a, b, "measure" if kind == "measures" else _sentence_category(seg[:80], kind)
            continue
        # sentence-level decisions, grouped into runs of one category
        default = _mixed_default(section.title) if kind == "mixed" else None
        run: Optional[list] = None
        spans = sentence_spans(text, a, b)
        if text.find("：", a, b) >= 0 or text.find(":", a, b) >= 0:  # only a colon can open a list
            spans = _split_before_points(text, spans)
        for si, (sa, sb) in enumerate(_with_titles_attached(text, spans)):
            s = text[sa:sb]
            stripped = s.strip()
            mk = match_marker(stripped)
            body = stripped[mk.length:] if mk else stripped
            cat = _sentence_category(s, kind, body)
            ends_colon = stripped.endswith(("：", ":"))
            if ends_colon and _plans_ahead(s, kind):
                cat = "measure"
            enum = mk is not None and mk.style in _POINT_STYLES
            if enum and cat in ("achievement", None) and kind != "problems" and is_target_point(body):
                cat = "goal"  # "（4）病虫害绿色防控覆盖率达到52%以上；" in a list of indicators
            listed = ctx.get("list_cat")
            label = explicit_label(body)
            if label is not None:
                ctx["label"], ctx["label_section"] = label, block.section
                ctx["label_rank"] = mk.rank if mk is not None else (block.marker.rank if block.marker else None)
                cat = label
            elif ctx.get("label") == "measure" or (ctx.get("label") == "problem" and cat not in ("problem", "measure")):
                cat = ctx["label"]  # after "整改措施：" every clause and point is a measure
            elif kind in ("other", "achievements", "mixed", "problems") and listed and enum and cat not in ("problem", "measure"):
                cat = listed  # an uncued point of an open problem/measure enumeration
            elif cat in ("problem", "measure") and (
                ends_colon or (enum and kind == "other") or _OPENS_LIST.search(s)
            ):  # a lead-in opens a list ("…三方面工作：一是…"); so does a cued first point where headings say nothing
                ctx["list_cat"] = cat
            elif si == 0 and not enum and cat not in ("problem", "measure"):
                ctx["list_cat"] = None  # a new unnumbered statement closes the enumeration
            if len(s) <= 60 and ends_colon and cat in ("problem", "measure", "achievement"):
                if run:
                    yield tuple(run)  # type: ignore[misc]
                    run = None
                continue  # "存在的问题主要有：", "全年完成以下任务：" introduce the points; they are not one
            if (
                kind in ("other", "achievements")
                and run
                and run[2] == "problem"
                and cat in (None, "achievement")
                and WEAK_PROBLEM.search(s)
                and not _reported_result(s)
            ):
                cat = "problem"  # "造成上述问题的原因…不够", "…力量依然薄弱" continue the problems
            if cat is None and kind == "mixed":
                cat = default
            if cat is None and kind == "other" and run and run[2] == "measure" and not PROCESS_SENTENCE.search(s):
                cat = "measure"  # "…将作为预算安排的依据；对发现的问题建立整改台账…" goes on with the plan
            if cat is None and kind == "problems":
                # an uncued sentence continues the current statement; a point opens as a problem
                cat = run[2] if run else (listed or "problem")
            if (
                kind == "achievements"
                and cat in ("achievement", "goal")
                and run
                and run[2] in ("problem", "measure", "goal")
                and not ACHIEVED.search(s)
            ):
                cat = run[2]  # the rest of a problem/measure statement stays with it
            if cat is None:
                if run:
                    yield tuple(run)  # type: ignore[misc]
                    run = None
                continue
            if run and run[2] == cat and not (enum and mk.style in _RUN_IN_STYLES and si > 0):
                run[1] = sb  # (a "二是…" sentence is a point of its own, not the previous one's tail)
            else:
                if run:
                    yield tuple(run)  # type: ignore[misc]
                run = [sa, sb, cat]
        if run:
            yield tuple(run)  # type: ignore[misc]

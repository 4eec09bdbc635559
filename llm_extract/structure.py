"""Document → heading tree, classified sections and paragraph blocks, all as offsets into doc.text.

Structure is the cheap signal: headings tell where goals, results, problems and measures are, so
the rules backend reads them directly and the LLM backend sends only the relevant sections.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Optional

from .document import Document
from .headings import MD_HEADING, TERMINAL, Marker, match_marker, split_title
from .tables import Table, find_tables
from .textview import ARTEFACT, has_artefacts, strip_artefacts

KINDS = ("boilerplate", "budget", "goals", "achievements", "problems", "measures", "mixed", "score", "other")

#: Heading cue words per section kind (checked on the heading text only, never on body text).
#: Order matters for the non-content kinds: the first that matches wins.
_CUES: dict[str, tuple[str, ...]] = {
    "problems": ("问题", "不足", "扣分", "偏差", "差距", "困难", "短板", "薄弱", "制约因素", "原因分析"),
    "measures": ("措施", "改进", "整改", "建议", "下一步", "下步", "工作计划", "工作思路", "打算", "努力方向",
                 "拟应用", "意见", "对策"),
    "goals": ("绩效目标", "总体目标", "年度目标", "预期目标", "工作目标", "目标设定", "目标任务", "指标值", "指标设定",
              "目标设置", "指标设置", "建设内容", "建设任务"),
    "achievements": ("主要绩效", "成效", "成绩", "成果", "完成情况", "绩效情况", "履职", "效益", "效果", "产出",
                     "主要工作", "重点工作", "工作开展", "亮点", "工作情况", "实施情况", "取得", "绩效分析",
                     "绩效表现", "整体绩效", "自评情况", "评价情况", "指标分析", "经验", "做法"),
    "score": ("自评结论", "自评结果", "自评得分", "评价结论", "评价结果", "总体评价", "自评等级", "综合评价"),
    "budget": ("预算", "收支", "支出情况", "收入情况", "决算", "资金情况", "经费", "三公", "财务", "资金使用",
               "资金管理", "基础数据"),
    "boilerplate": ("基本情况", "概况", "立项依据", "立项背景", "项目背景", "职能", "职责", "机构设置", "机构情况",
                    "内设机构", "人员情况", "人员编制", "人员构成", "编制情况", "开展情况", "报送",
                    "公开", "其他需要说明", "其他说明", "评价依据", "评价方法", "评价对象", "评价范围"),
}
#: How the self-evaluation itself was run: boilerplate even when the heading says 工作开展/情况.
_PROCESS_CUES = ("自评工作", "评价工作", "自评组织", "评价小组", "自评小组", "工作过程", "自评材料", "自评过程",
                 "评价过程", "评价方法", "评价依据")
#: Hedge: these headings mention 预算/资金 but are about results, not budget tables.
_SCORE_OVERRIDE = re.compile(r"(得分|等级|结论)")


_CUE_RX = {k: re.compile("|".join(map(re.escape, v))) for k, v in _CUES.items()}
_PROCESS_RX = re.compile("|".join(map(re.escape, _PROCESS_CUES)))
#: Kinds a heading can announce as content, in the order classify_heading prefers them.
_CONTENT_KINDS = ("problems", "measures", "goals", "achievements")
_OTHER_TITLE = re.compile(r"结果(拟)?应用|公开情况|其他需要说明|其他说明|其他事项")
_FIXING_PROBLEMS = re.compile(r"问题整改|整改问题|整改情况|整改落实")
#: "基础设施短板加快补齐": a shortfall being made good is a result, not a problem.
_RESOLVED = re.compile(r"(短板|问题|难题|瓶颈|困难|差距)[^，,；;]{0,4}(补齐|补强|破解|解决|化解|缩小|改善|得到)")
#: How a project was carried out ("五、组织实施"): its work done when it stands at the top level;
#: under a self-evaluation heading it is that evaluation's process and inherits boilerplate.
_IMPLEMENTATION = re.compile(r"组织实施|项目实施|实施管理")
#: "（三）资金管理情况": how the funds were managed (results), not the budget's figures.
_FUNDS_MANAGED = re.compile(r"资金管理(情况)?$")


def classify_heading(title: str) -> Optional[str]:
    """The section kind a heading announces, or None when it carries no cue."""
    t = "".join(title.split())
    if _PROCESS_RX.search(t):
        return "boilerplate"
    if _SHORTFALL_TITLE.search(t):
        return "problems"  # a point titled by its shortfall: "（三）专业技术人员结构不够合理"
    found = [k for k, rx in _CUE_RX.items() if rx.search(t)]
    if not found and not _SCORE_OVERRIDE.search(t):
        return None
    if "problems" in found and _RESOLVED.search(t):
        return "achievements"
    if found == ["budget"] and _FUNDS_MANAGED.search(t):
        return "achievements"
    if _OTHER_TITLE.search(t):
        return "other"  # how results will be used/published: only cued sentences are items
    if _RESULT_OF_GOALS.search(t):  # "绩效目标完成情况" reports results, not goals
        t = _RESULT_OF_GOALS.sub("完成情况", t)
        found = [k for k, rx in _CUE_RX.items() if rx.search(t)]
    elif "goals" in found and "achievements" in found and not _CUE_RX["achievements"].search(_CUE_RX["goals"].sub("", t)):
        found.remove("achievements")  # "部门整体绩效目标": 整体绩效 is part of the goal phrase
    content = [k for k in found if k in _CONTENT_KINDS]
    if "problems" in content and "measures" in content:
        if _FIXING_PROBLEMS.search(t):
            content.remove("problems")  # about fixing problems: measures
        else:
            return "mixed"  # "存在的问题及改进措施", "偏差原因及改进措施"
    if "goals" in content and "achievements" in content:
        return "mixed"
    if len(content) > 1 and "problems" in content:
        return "mixed"
    if content:
        return content[0]
    if "score" in found or (_SCORE_OVERRIDE.search(t) and "自评" in t):
        return "score"
    for k in ("budget", "boilerplate"):
        if k in found:
            return k
    return None


#: Headings that state a shortfall are problem points, whatever else they mention.
_SHORTFALL_TITLE = re.compile(
    r"未完成|未达到|未达标|不够|不足|滞后|偏低|偏慢|缓慢|不完善|不健全|不合理|不到位|前松后紧|薄弱|短缺|紧缺|不平衡"
    r"|不高|不强|不精准|不规范|不及时|较低"
)
#: A heading that only names the section ("存在的不足", "主要问题"), not one shortfall.
_GENERIC_PROBLEMS = re.compile(r"存在|主要问题|问题及|问题和|问题$|不足$|^不足|原因")


def is_shortfall_point(title: str) -> bool:
    """A point's heading that states one shortfall ("（二）高标准农田建设项目验收和管护滞后")."""
    t = "".join(title.split()).strip("*#")
    return bool(_SHORTFALL_TITLE.search(t)) and not _GENERIC_PROBLEMS.search(t)


#: "绩效目标完成情况", "目标实现情况": results against the goals.
_RESULT_OF_GOALS = re.compile(r"(绩效)?目标(的)?(完成|实现|达成)")


@dataclass
class Section:
    index: int
    title: str
    level: int
    start: int
    end: int
    heading_start: int
    heading_end: int
    parent: Optional[int]
    own_kind: Optional[str]
    kind: str = "other"
    path: tuple[str, ...] = ()
    style: str = ""

    @property
    def path_str(self) -> str:
        return " > ".join(self.path)


@dataclass
class Block:
    kind: str  # "heading" | "para" | "table"
    start: int
    end: int
    section: int = 0
    marker: Optional[Marker] = None
    #: A short heading phrase that opens the paragraph ("（一）机构设置：…"), and the kind it announces.
    title: str = ""
    title_kind: Optional[str] = None
    table: Optional[Table] = None
    #: Page furniture lines ("— 3 —", a running header) inside the paragraph: kept in its span so
    #: offsets stay whole, but never inside an item's quote.
    holes: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Structure:
    text: str
    sections: list[Section] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


_RANK = {"cn": 1, "dec1": 1, "pcn": 2, "dec2": 2, "num": 3, "dec3": 3, "pnum": 4, "rpar": 4, "circ": 5}
_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}


_ORDINAL = re.compile(r"^\s*[#\s]*[（(]?\s*([一二三四五六七八九十零〇两]{1,3}|\d{1,2})")
_INNER_STOP = re.compile(r"[。；;！？!?]")
_PLAIN_HEADING_STOP = re.compile(r"[，,、；;。：:！？!?\d%％]")
_CLAUSE_MARK = re.compile(r"[，,；;]")


def ordinal(title: str) -> int:
    """The number a heading's marker carries (（三）→3, 12、→12); 0 when there is none."""
    m = _ORDINAL.match(title)
    if not m:
        return 0
    tok = m.group(1)
    if tok.isdigit():
        return int(tok)
    if tok == "十":
        return 10
    if tok.startswith("十"):
        return 10 + _CN_DIGITS.get(tok[1], 0)
    if "十" in tok:
        a, _, b = tok.partition("十")
        return _CN_DIGITS.get(a, 1) * 10 + (_CN_DIGITS.get(b, 0) if b else 0)
    return _CN_DIGITS.get(tok[0], 0)


_PLAIN_HEADING_MAX = 22
#: A bare line ending in 。 is a heading only when it ends like one ("自评工作过程。"), not a sentence.
_HEADING_NOUN = r"(情况|过程|质量|问题|措施|成效|目标|结论|结果|分析|说明|计划|打算|思路|建议|不足之处)$"
_MARKER_HEADING_MAX = 40
_INLINE_TITLE_MAX = 18


def _heading_candidate(
    line: str, prev_line_ends_open: bool, line_marker: Optional[Marker]
) -> Optional[tuple[str, str, Optional[Marker]]]:
    """(style, title, marker) when a stripped line is a heading, else None. `line_marker` is
    match_marker(line), which the caller needs too."""
    md = MD_HEADING.match(line)
    if md:
        body = line[md.end():].strip().strip("*").strip()
        mk = match_marker(body)
        if mk and mk.style not in ("shi", "ord"):
            return mk.style, body, mk
        return f"md{len(md.group(1))}", body, None
    mk = line_marker
    if mk:
        if mk.style in ("shi", "ord"):
            return None
        body = line[mk.length:].strip()
        inner = body.rstrip("。.：:")
        if not inner or len(body) > _MARKER_HEADING_MAX or _INNER_STOP.search(inner):
            return None
        if body.endswith(("；", ";", "，", ",")):
            return None
        if len(body) >= 24 and not body.endswith(tuple(TERMINAL)) and mk.style != "part":
            return None  # the first line of a hard-wrapped paragraph, not a title
        return mk.style, line.strip(), mk
    # bare keyword line: short, no inner punctuation, not a wrapped continuation
    s = line.strip().strip("*").strip()
    inner = s.rstrip("。.：:")
    if (
        not prev_line_ends_open
        and 2 <= len(inner) <= _PLAIN_HEADING_MAX
        and not _PLAIN_HEADING_STOP.search(inner)
        and classify_heading(inner) is not None
        and (not s.endswith(("。", ".")) or re.search(_HEADING_NOUN, inner))
    ):
        return "plain", s, None
    return None


def analyze(doc: Document | str) -> Structure:
    """Headings, sections (with inherited kinds and paths) and blocks for a document or text."""
    text = doc.text if isinstance(doc, Document) else doc
    tables = find_tables(text)
    st = Structure(text=text, tables=tables)
    root = Section(0, "", 0, 0, len(text), 0, 0, None, None, "other", (), "root")
    st.sections.append(root)
    stack: list[int] = [0]  # open section indices

    # iterate lines outside tables
    furniture, wrap = page_furniture(text)
    artefacts = has_artefacts(text)
    holes: list[tuple[int, int]] = []  # furniture lines since the open paragraph's last line
    table_iter = iter(tables)
    next_table = next(table_iter, None)
    pos = 0
    para: Optional[Block] = None
    last_line_ends_open = False
    last_line_full = False  # ended a sentence exactly at the hard-wrap width: may go on

    def close_para() -> None:
        nonlocal para
        if para is not None:
            st.blocks.append(para)
            para = None
        holes.clear()

    n = len(text)
    while pos <= n:
        if next_table is not None and pos >= next_table.start:
            close_para()
            st.blocks.append(Block("table", next_table.start, next_table.end, stack[-1], table=next_table))
            pos = next_table.end + 1
            next_table = next(table_iter, None)
            last_line_ends_open = False
            continue
        nl = text.find("\n", pos)
        if nl < 0:
            nl = n
        if next_table is not None and next_table.start < nl:
            nl = next_table.start - 1 if next_table.start > pos else nl
        line = text[pos:nl]
        stripped = line.strip()
        if artefacts and ("[" in stripped or "{" in stripped):
            stripped = strip_artefacts(stripped)  # read the line as if "[bookmark: _GoBack]" were not there
        if not stripped or stripped in furniture:
            # blank, or a running page header/footer of a PDF export: transparent, so a paragraph
            # broken by a page break stays one paragraph (the furniture becomes one of its holes)
            if stripped and para is not None:
                holes.append((pos + len(line) - len(line.lstrip()), pos + len(line.rstrip())))
            pos = nl + 1
            continue
        lead = len(line) - len(line.lstrip())
        ls, le = pos + lead, pos + len(line.rstrip())
        unbolded = _unbold(stripped)
        line_mk = match_marker(unbolded)
        cand = _heading_candidate(unbolded, last_line_ends_open and para is not None, line_mk)
        if cand is None and not st.blocks and para is None and _is_title(stripped):
            cand = ("title", stripped, None)
        if cand is not None and cand[0] in ("pcn", "num", "pnum", "circ", "rpar"):
            nxt = _next_marker_style(text, nl + 1, next_table.start if next_table else n)
            if nxt == cand[0] or nxt in ("cn", "md", "end") or (
                nxt in _RANK and _RANK[nxt] < _RANK[cand[0]] and ordinal(text[nl + 1:].lstrip()) > 1
            ):
                cand = None  # a short point in a list ("(12) 指导…工作。" then "(13) …"), not a heading
            elif (
                para is not None
                and para.marker is not None
                and para.marker.style == cand[0]
                and para.end - para.start <= _MARKER_HEADING_MAX + 10
            ):
                cand = None  # the last point of such a list: the one before it was a point too
        if cand is not None:
            close_para()
            style, title, mk = cand
            sec = _open_section(st, stack, style, title, ls, le)
            st.blocks.append(Block("heading", ls, le, sec.index, marker=mk, title=title))
            last_line_ends_open = last_line_full = False
        else:
            mk = line_mk if unbolded is stripped else match_marker(stripped)
            joinable = para is not None and mk is None and (last_line_ends_open or (last_line_full and lead == 0))
            if joinable:
                para.end = le
                para.holes.extend(holes)
                holes.clear()
            else:
                close_para()
                para = Block("para", ls, le, stack[-1], marker=mk)
                _inline_title(para, stripped, mk)
            last_line_ends_open = not stripped.endswith(tuple(TERMINAL))
            last_line_full = wrap > 0 and len(stripped) >= wrap
        pos = nl + 1
    close_para()
    if artefacts:
        _artefact_holes(st)
    _finish(st)
    return st


def _artefact_holes(st: Structure) -> None:
    """Word-export artefacts inside paragraphs become holes, like page furniture: no item holds one."""
    paras = [b for b in st.blocks if b.kind == "para"]
    starts = [b.start for b in paras]
    for m in ARTEFACT.finditer(st.text):
        i = bisect_right(starts, m.start()) - 1
        if i >= 0 and m.end() <= paras[i].end:
            paras[i].holes.append(m.span())
            paras[i].holes.sort()


_PAGE_NUMBER = re.compile(
    r"^(?:[-—–－_·\s]*\d{1,4}[-—–－_·\s]*|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?|\d{1,4}\s*/\s*\d{1,4}"
    r"|(?:page|Page)\s*\d{1,4}(?:\s*of\s*\d{1,4})?)$"
)


def page_furniture(text: str) -> tuple[set[str], int]:
    """Lines that are page furniture in a PDF export: page numbers ("— 3 —", "第 3 页 共 8 页")
    and short lines repeated on at least three pages (running headers such as the report title);
    and the hard-wrap width of PDF text (0 when lines are not hard-wrapped), see _wrap_width."""
    counts: dict[str, int] = {}
    out: set[str] = set()
    open_lengths: list[int] = []
    n_lines = 0
    for raw in text.split("\n"):
        if raw[:1] == "\t":  # table cells repeat by nature
            continue
        line = raw.strip()
        if not line:
            continue
        n_lines += 1
        if line[-1] not in TERMINAL and len(line) >= 12:
            open_lengths.append(len(line))
        if len(line) > 40:
            continue
        if _PAGE_NUMBER.match(line):
            out.add(line)
            continue
        counts[line] = counts.get(line, 0) + 1
    out.update(
        line for line, n in counts.items()
        if n >= 3 and len(line) >= 6 and not match_marker(line) and not re.search(r"[。；;：:]$", line) and "\t" not in line
    )
    return out, _wrap_width(open_lengths, n_lines)


def _wrap_width(open_lengths: list[int], n_lines: int) -> int:
    """The length from which a line of hard-wrapped PDF text is "full": most lines stop
    mid-sentence at about the same length, so a line of that length ending in 。 may be a
    sentence that happened to end at the margin, its paragraph going on below. 0: not wrapped."""
    if len(open_lengths) < 8 or len(open_lengths) < 0.4 * n_lines:
        return 0
    lengths = sorted(open_lengths)
    lo, hi = lengths[len(lengths) // 5], lengths[(len(lengths) * 4) // 5]
    return lo if hi - lo <= max(3, hi // 8) else 0


def _unbold(line: str) -> str:
    """A line wrapped in markdown emphasis ("**三、主要成效**") read without the markers."""
    if line.startswith(("**", "__")) and line.rstrip("。：:").endswith(("**", "__")) and len(line) > 4:
        return line.replace("**", "").replace("__", "").strip()
    return line


def _is_title(line: str) -> bool:
    """The document's own title line ("某局2024年度部门整体支出绩效自评报告")."""
    return len(line) <= 60 and bool(re.search(r"(报告|自评表|评价表)$", line.strip("*# "))) and not re.search(
        r"[。；;，,]", line
    )


def _next_marker_style(text: str, pos: int, limit: int) -> Optional[str]:
    """Marker style of the next non-blank line before `limit` (a table start), if any."""
    while pos < limit:
        nl = text.find("\n", pos)
        if nl < 0:
            nl = len(text)
        line = text[pos:nl].strip()
        if line:
            if line.startswith("#"):
                return "md"
            mk = match_marker(line)
            return mk.style if mk else None
        pos = nl + 1
    return "end" if limit >= len(text) else None


#: A short opening sentence with a subject ("本报告在…公开。", "我局…") is a statement, not a title.
_SUBJECT = re.compile(r"(?:本|我|该|经|根据|按照|对照)")


def _inline_title(block: Block, line: str, mk: Optional[Marker]) -> None:
    """Record a short heading phrase opening a paragraph ("（一）机构设置：…", "2. 人员情况。…")."""
    body = line[mk.length:] if mk else line
    title, rest = split_title(body)
    if rest and 1 <= len(title) <= _INLINE_TITLE_MAX and not _CLAUSE_MARK.search(title) and not _SUBJECT.match(title):
        block.title = title
        block.title_kind = classify_heading(title)


def _open_section(st: Structure, stack: list[int], style: str, title: str, start: int, end: int) -> Section:
    """Place a heading in the tree: a style already open becomes a sibling; 一、 is always top level;
    markdown levels nest by '#' count; any other new style nests under the current section."""
    secs = st.sections
    if style == "part":
        del stack[1:]
    elif style == "cn":
        while len(stack) > 1 and not secs[stack[-1]].style.startswith(("md", "part")):
            stack.pop()
        # keep markdown ancestors only when they are of a shallower level than any cn seen
        while len(stack) > 1 and secs[stack[-1]].style.startswith("md") and secs[stack[-1]].style >= "md2":
            stack.pop()
    elif style == "title":
        del stack[1:]
    elif style.startswith("md"):
        while len(stack) > 1 and secs[stack[-1]].style.startswith("md") and secs[stack[-1]].style >= style:
            stack.pop()
        while len(stack) > 1 and not secs[stack[-1]].style.startswith("md"):
            stack.pop()
    else:
        open_styles = [secs[i].style for i in stack[1:]]
        rank = _RANK.get(style)
        if (
            style not in open_styles
            and rank is not None
            and ordinal(title) > 1
            and any(_RANK.get(st_, 0) > rank for st_ in open_styles)
        ):
            # "（三）…" after a run of "1./2./3." continues an earlier （一）（二） sequence: climb out
            # of the deeper-ranked sections instead of nesting under them.
            while len(stack) > 1 and _RANK.get(secs[stack[-1]].style, 0) > rank:
                stack.pop()
        if style in open_styles:
            while secs[stack[-1]].style != style:
                stack.pop()
            stack.pop()
        elif style == "plain" and len(stack) > 1 and secs[stack[-1]].style == "plain":
            stack.pop()
    parent = stack[-1]
    sec = Section(
        index=len(secs),
        title=title,
        level=len(stack),
        start=start,
        end=len(st.text),
        heading_start=start,
        heading_end=end,
        parent=parent,
        own_kind=classify_heading(title),
        style=style,
    )
    secs.append(sec)
    stack.append(sec.index)
    return sec


def _finish(st: Structure) -> None:
    """Section ends, inherited kinds and heading paths."""
    secs = st.sections
    n = len(st.text)
    # A section ends where the next section of its level or higher starts. One pass with a stack
    # of still-open sections (levels strictly rising) keeps this linear in the number of headings.
    open_: list[Section] = []
    for t in secs[1:]:
        while open_ and open_[-1].level >= t.level:
            open_.pop().end = t.start
        open_.append(t)
    for s in open_:
        s.end = n
    for s in secs:
        if s.parent is None:
            s.kind = s.own_kind or "other"
            s.path = ()
            continue
        p = secs[s.parent]
        s.kind = s.own_kind or p.kind
        if s.own_kind is None and p.parent is None and _IMPLEMENTATION.search(s.title):
            s.kind = "achievements"
        if s.own_kind == "budget" and p.kind in ("achievements", "score"):
            # "预算执行情况" inside a performance analysis reports results, not the budget tables
            s.kind = "achievements"
        elif s.own_kind in ("budget", "boilerplate") and p.kind in ("problems", "measures", "mixed"):
            # "（一）预算执行方面" under 存在的问题: a problem point named by its topic
            s.kind = p.kind
        s.path = (*p.path, s.title)


#: A sentence: text up to and including its end mark (and closing quotes), or a trailing piece
#: without one. Group 1 is the sentence with surrounding whitespace left out.
_SENTENCE = re.compile(
    r"\s*([^。！？!?；;\s](?:[^。！？!?；;]*[。！？!?；;][”’」』）)]*|(?:[^。！？!?；;]*[^。！？!?；;\s])?)"
    r"|[。！？!?；;][”’」』）)]*)"
)


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split text[start:end] after sentence-ending punctuation; trimmed spans, none empty."""
    return [m.span(1) for m in _SENTENCE.finditer(text, start, end)]

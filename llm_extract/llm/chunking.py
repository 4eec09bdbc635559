"""Report → token-budgeted chunks that follow section and paragraph boundaries.

A chunk is made of whole blocks of Document.text, in order, plus the heading path of where it
starts, which the prompt shows the model. Routed blocks are packed up to the token budget even
where routing skipped text between them: each contiguous run is a `part` (an exact slice of the
document, so a quote found in it has document offsets), and the parts are joined with a line
"……" that tells the model text was left out. Fewer, fuller calls repeat the system prompt and
examples less often.
Routing drops boilerplate and budget sections (职能, 机构设置, 人员情况, 预算/收支 tables) before
anything is sent — except their paragraphs that carry an item cue (routing.py) — and the
self-evaluation tables the layout reader reads whole; a block longer than the budget is split after sentence ends (。；！？) — tables
at row breaks — with a little overlap so a point cut in two is still whole in one of the pieces.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Optional

from .routing import is_leadin, item_cue, reader_skips_judgement
from ..rules.table_items import reads_table
from ..tables import interleaved
from ..textview import trim_spans
from .tokens import count_tokens

if TYPE_CHECKING:
    from ..structure import Block, Structure

#: Section kinds not sent to a model unless route="all" (LABELING.md: mandate, staff, budget tables).
SKIP_KINDS = frozenset({"boilerplate", "budget"})
#: Kinds that keep a block even inside a skipped section ("（三）绩效目标：…" under 基本情况).
CONTENT_KINDS = frozenset({"goals", "achievements", "problems", "measures", "mixed"})
#: Share of the budget repeated at the start of the next piece when a long block is split.
OVERLAP_RATIO = 0.15
#: Between two parts of a chunk where routing left text out.
PART_SEPARATOR = "\n\n……\n\n"
#: A chunk this small without any sentence end is a stray title line and is not sent.
MIN_CHUNK_TOKENS = 24

#: Cells that make a table worth sending (goals, results, indicators, deviations) ...
_TABLE_CONTENT = re.compile(r"目标|实际完成|完成情况|完成值|指标值|绩效指标|偏差原因|存在问题|改进措施")
#: ... and cells that mark a pure budget table (基础数据表, 收支 tables) when none of those appear.
_TABLE_BUDGET = re.compile(r"预算数|决算数|执行数|三公|经费|万元|支出")
_SENT_END = re.compile(r"[。；！？!?;]+[”’」』）)]*")
_ROW_BREAK = re.compile(r"\n[ \t]*\n")
_LINE_BREAK = re.compile(r"\n")


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int  # of the first part
    end: int  # of the last part
    text: str  # the parts' text joined by PART_SEPARATOR (== doc.text[start:end] for one part)
    section_path: str  # heading path where the chunk starts ("" at the top of the document)
    tokens: int
    #: (offset, heading path) at each point inside the chunk where the section changes.
    marks: tuple[tuple[int, str], ...] = field(default=(), repr=False)
    #: The contiguous [start, end) spans of Document.text the chunk is made of, in order.
    parts: tuple[tuple[int, int], ...] = ()

    def section_at(self, offset: int) -> str:
        """Heading path of the section holding document offset `offset` (within the chunk)."""
        if not self.marks:
            return self.section_path
        i = bisect.bisect_right([m[0] for m in self.marks], offset) - 1
        return self.marks[max(i, 0)][1]


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    section: int
    tokens: int
    heading: bool = False
    new_top: bool = False  # opens a top-level section: a good place to start a new chunk
    gap_before: bool = False  # routing left a block out between the previous piece and this one


def routed_blocks(structure: "Structure", route: str = "relevant") -> list[bool]:
    """`is_routed` for every block of `structure`, plus one rule that needs the blocks before: in a
    section routing would skip, the enumerated points after a sent lead-in ("年度绩效目标如下：")
    or a paragraph titled as content ("2.2024年度部门整体绩效目标。…") are sent too, until a
    block that is no such point."""
    out: list[bool] = []
    follow = -1  # section whose lead-in was sent
    lead_style = None  # marker style of that lead-in: a point of the same style is its sibling
    for b in structure.blocks:
        sent = is_routed(b, structure, route)
        point = b.kind == "para" and b.marker is not None
        if not sent and follow == b.section and point and b.marker.style != lead_style \
                and getattr(b, "title_kind", None) not in SKIP_KINDS:
            sent = True
        elif not point or b.marker.style == lead_style:
            follow = -1
        if sent and b.kind == "para" and _skipped_kind(b, structure) and (
                getattr(b, "title_kind", None) in CONTENT_KINDS or is_leadin(structure.text[b.start:b.end])):
            follow, lead_style = b.section, (b.marker.style if b.marker is not None else None)
        out.append(sent)
    return out


def _skipped_kind(block: "Block", structure: "Structure") -> bool:
    secs = structure.sections
    return 0 <= block.section < len(secs) and secs[block.section].kind in SKIP_KINDS


def is_routed(block: "Block", structure: "Structure", route: str = "relevant") -> bool:
    """Whether a block goes to the model: everything under route='all'; otherwise not boilerplate
    or budget sections, unless the block's own inline title announces content or its sentences
    carry a goal/achievement/problem/measure cue (routing.item_cue), and not the tables the layout
    reader reads itself (see `layout_read_tables`)."""
    if route == "all":
        return True
    kind = structure.sections[block.section].kind if 0 <= block.section < len(structure.sections) else "other"
    if block.kind == "table":
        # A table whose goal/result or indicator columns the layout reader found is read by it, not
        # by a model (LABELING.md defines those items cell by cell). Other tables are judged by their
        # cells: one that looks like a self-evaluation table (预期目标/实际完成/指标值) is sent
        # wherever it sits; a table of budget figures only is not.
        if _layout_read(block, structure):
            return False
        body = structure.text[block.start:block.end] if getattr(structure, "text", None) else ""
        if body and _TABLE_CONTENT.search(body):
            return True
        if body and _TABLE_BUDGET.search(body):
            return False
    if kind in SKIP_KINDS:
        if getattr(block, "title_kind", None) in CONTENT_KINDS:
            return True
        body = structure.text[block.start:block.end] if block.kind == "para" and structure.text else ""
        return bool(body) and item_cue(body, budget=kind == "budget") is not None
    return True


def layout_read_tables(structure: "Structure", route: str = "relevant") -> list["Block"]:
    """Table blocks not sent to a model under `route` because the layout reader extracts them;
    a model backend takes their items from `backends.rules.table_block_items`."""
    if route == "all":
        return []
    return [b for b in structure.blocks if _layout_read(b, structure)]


def _layout_read(block: "Block", structure: "Structure") -> bool:
    """A table block whose goal/result or indicator columns the layout reader recognises, and
    whose cells it can quote as they stand (a cell wrapped around other columns' text, as in a
    space-aligned table copied out of a PDF, is left to the model)."""
    if block.kind != "table" or block.table is None or not structure.text:
        return False
    text, table = structure.text, block.table
    return not any(interleaved(text, c) for r in table.rows for c in r.cells) \
        and reads_table(text, table) and not reader_skips_judgement(text, table)


def chunk_document(
    text: str,
    structure: "Structure",
    *,
    max_tokens: int = 2000,
    route: str = "relevant",
    model: Optional[str] = None,
    counter: Optional[Callable[[str], int]] = None,
) -> list[Chunk]:
    """Chunks of `text` (the Document.text that `structure` was built from), in document order.

    Never returns an empty or whitespace-only chunk; a document whose every block is routed away
    yields no chunks.
    """
    if max_tokens < 20:
        raise ValueError("max_tokens must be at least 20")
    count = counter or (lambda s: count_tokens(s, model))
    pieces: list[_Piece] = []
    skipped = False
    for b, sent in zip(structure.blocks, routed_blocks(structure, route)):
        if not text[b.start:b.end].strip():
            continue
        if not sent:
            skipped = True
            continue
        sec = structure.sections[b.section] if 0 <= b.section < len(structure.sections) else None
        is_heading = b.kind == "heading"
        new_top = is_heading and sec is not None and sec.level <= 1
        tok = count(text[b.start:b.end])
        if tok <= max_tokens:
            pieces.append(_Piece(b.start, b.end, b.section, tok, is_heading, new_top, gap_before=skipped))
        else:
            spans = split_long(text, b.start, b.end, max_tokens, count, table=b.kind == "table")
            for i, (s, e) in enumerate(spans):
                pieces.append(_Piece(s, e, b.section, count(text[s:e]), gap_before=skipped and i == 0))
        skipped = False
    groups = _pack(text, pieces, max_tokens, count)
    paths = [s.path_str if hasattr(s, "path_str") else " > ".join(s.path) for s in structure.sections]
    chunks = []
    for g in groups:
        parts = _parts(g)
        start, end = parts[0][0], parts[-1][1]
        body = PART_SEPARATOR.join(text[s:e] for s, e in parts)
        if not body.strip() or all(p.heading for p in g) or _is_stray_title(body, count):
            continue
        marks: list[tuple[int, str]] = []
        for p in g:
            path = paths[p.section] if 0 <= p.section < len(paths) else ""
            if not marks or marks[-1][1] != path:
                marks.append((p.start, path))
        tokens = g[0].tokens if len(g) == 1 else count(body)
        chunks.append(Chunk(len(chunks), start, end, body, marks[0][1], tokens, tuple(marks), tuple(parts)))
    return chunks


def _parts(group: list[_Piece]) -> list[tuple[int, int]]:
    """The contiguous runs of a group: a new part starts only where routing left a block out (text
    between blocks that is no block, such as a PDF's running header, stays in its part)."""
    parts: list[list[int]] = []
    for p in group:
        if parts and not p.gap_before:
            parts[-1][1] = max(parts[-1][1], p.end)
        else:
            parts.append([p.start, p.end])
    return [(s, e) for s, e in parts]


def _is_stray_title(body: str, count: Callable[[str], int]) -> bool:
    """A few words left between routed-away blocks ("附件1 …基础数据表"): a title, not an item."""
    return not _SENT_END.search(body) and count(body) < MIN_CHUNK_TOKENS


def _pack(text: str, pieces: list[_Piece], budget: int, count: Callable[[str], int]) -> list[list[_Piece]]:
    """Greedy packing of consecutive pieces, across text routing left out. A new chunk starts when
    the budget would overflow, or at a top-level heading once the current chunk is half full. A
    chunk does not end with a heading: trailing headings move on to the next chunk with their
    body."""
    groups: list[list[_Piece]] = []
    cur: list[_Piece] = []
    join = max(2, count(PART_SEPARATOR))  # tokens a join may cost (an estimate on the safe side)

    def est(group: list[_Piece]) -> int:
        return sum(p.tokens for p in group) + join * max(len(group) - 1, 0)

    def exact(group: list[_Piece]) -> int:
        return count(PART_SEPARATOR.join(text[s:e] for s, e in _parts(group)))

    for p in pieces:
        if cur:
            total = est(cur) + join + p.tokens
            over = total > budget or (total > budget * 0.85 and exact([*cur, p]) > budget)
            if over or (p.new_top and est(cur) >= budget // 2):
                n = 0
                while n < len(cur) - 1 and cur[-1 - n].heading:
                    n += 1
                carry = cur[len(cur) - n:] if n else []
                groups.append(cur[: len(cur) - n])
                # trailing headings open the next chunk; when they do not fit beside its first
                # block they are left out (the next chunk's section path names them)
                cur = carry if carry and est(carry) + join + p.tokens <= budget else []
        cur.append(p)
    if cur:
        groups.append(cur)
    return groups


def split_long(
    text: str,
    start: int,
    end: int,
    budget: int,
    count: Callable[[str], int],
    *,
    table: bool = False,
    overlap_ratio: float = OVERLAP_RATIO,
) -> list[tuple[int, int]]:
    """Split text[start:end] into spans of at most `budget` tokens, cut after sentence ends (tables:
    at row breaks first), consecutive spans sharing about `overlap_ratio` of the budget."""
    units = _units(text, start, end, budget, count, table)
    toks = [count(text[s:e]) for s, e in units]
    gaps = [0] + [count(text[units[k - 1][1]:units[k][0]]) for k in range(1, len(units))]
    overlap = int(budget * overlap_ratio)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        j, used = i + 1, toks[i]
        while j < len(units):
            est = used + gaps[j] + toks[j]
            if est > budget or (est > budget * 0.8 and count(text[units[i][0]:units[j][1]]) > budget):
                break
            used = est
            j += 1
        spans.append((units[i][0], units[j - 1][1]))
        if j >= len(units):
            break
        # the next piece repeats the last unit(s): at least one short unit, up to `overlap` tokens
        k, back = j, 0
        while k - 1 > i and (back + toks[k - 1] <= overlap or (k == j and toks[k - 1] <= budget // 3)):
            back += toks[k - 1] + gaps[k - 1]
            k -= 1
        i = k
    return spans


def _units(
    text: str, start: int, end: int, budget: int, count: Callable[[str], int], table: bool
) -> list[tuple[int, int]]:
    """Smallest cut units, each within the budget: rows/sentences, then lines, then characters."""
    seps = [_ROW_BREAK, _SENT_END, _LINE_BREAK] if table else [_SENT_END, _LINE_BREAK]
    return list(_cut(text, start, end, budget, count, seps))


def _cut(text, start, end, budget, count, seps) -> Iterable[tuple[int, int]]:
    if count(text[start:end]) <= budget or not seps:
        if count(text[start:end]) <= budget:
            yield from trim_spans(text, [(start, end)])
        else:
            yield from _hard_cut(text, start, end, budget, count)
        return
    cuts = [m.end() + start for m in seps[0].finditer(text[start:end])]
    bounds = [start, *[c for c in cuts if start < c < end], end]
    for s, e in zip(bounds, bounds[1:]):
        for span in trim_spans(text, [(s, e)]):
            yield from _cut(text, span[0], span[1], budget, count, seps[1:])


def _hard_cut(text, start, end, budget, count) -> Iterable[tuple[int, int]]:
    """Character windows for text with no usable break (one huge sentence)."""
    n = end - start
    tok = max(count(text[start:end]), 1)
    step = max(1, int(n * budget / tok * 0.9))
    for s in range(start, end, step):
        yield from trim_spans(text, [(s, min(s + step, end))])



"""Where the document's structure says what an item is, it outweighs a model's category.

Models mislabel items (a measure filed as a problem becomes a false "unaddressed problem" in the
digest). Some structure is strong evidence and overrides the model:

- a table column: a 年度指标值/预期目标 cell is a goal, a 实际完成值/实际完成情况 cell an
  achievement (the layout reader's column reading);
- an explicit label, the same ones the rules backend reads (rules.cues.explicit_label): 问题： /
  原因： / 扣分原因： make what follows a problem, 整改措施： / 整改建议： / 下一步打算： a measure,
  年度目标： a goal, 整改成效： / 完成情况： an achievement — to the end of its paragraph, or, for a
  label that ends its paragraph or is a heading line (a lead-in), over the points after it up to
  the next heading;
- a 扣分原因 list: the points under a heading naming 扣分 (and no remedy) are problems, and so
  is an item opening "扣分原因主要是……" / "扣分主要集中在……";
- an item that opens with "下一步，" / "下一步将" is a measure: the phrase is its own label.

Section headings alone are weak evidence (sections mix categories), so there the model's
category stands. An answer that runs one item into the next, across a label, a "下一步，" turn
or a heading (a problem into the measure after it, most often), is split there first
(`split_points`), each piece taking the category its boundary announces.
"""

from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING, Optional

from ..categories import KIND_CATEGORY as _KIND_CATEGORY
from ..headings import match_marker
from ..rules.cues import explicit_label
from ..rules.table_items import table_items
from ..structure import sentence_spans

if TYPE_CHECKING:
    from ..structure import Structure

#: Where a merged answer turns from a problem to a measure without a colon ("……。下一步，将……").
_MEASURE_TURN = re.compile(r"下一?步[，,]|下一步(?:我|将|要|拟)")
_AT_START = re.compile(r"(?:^|[\n。；;！？!?]|[（(]?[0-9一二三四五六七八九十]{1,2}[)）、.．]|[①-⑳])[ \t\u3000]*$")
#: A heading naming deductions: what stands under it is a problem — unless it names remedies too.
#: (Not 原因: "存在的问题及原因分析" sections hold results and plans as well.)
_DEDUCTION = re.compile(r"扣分")
_REMEDY_TOO = re.compile(r"措施|建议|整改|改进|计划|打算|对策")
#: An item that opens by stating deductions ("扣分原因主要是……", "扣分主要集中在……").
_DEDUCTION_OPENER = re.compile(r"(?:主要)?扣分(?:原因|项|指标|情况|主要|集中)")
#: How far before a span a table cell it overlaps may start (a goal quote starting at its name cell).
_CELL_REACH = 600


class Arbiter:
    """Structural evidence of one document, read once; `category` and `split_points` per item."""

    def __init__(self, structure: "Structure"):
        self.st = structure
        self.text = structure.text
        self._heads = sorted((b.start, b.end) for b in structure.blocks if b.kind == "heading")
        self._head_starts = [h[0] for h in self._heads]
        self._block_starts = [b.start for b in structure.blocks]
        self._labels = self._find_labels()
        self._label_starts = [lb[0] for lb in self._labels]
        cells: list[tuple[int, int, str]] = []
        for t in structure.tables:
            cells.extend(i for i in table_items(self.text, t).items if i[2] in ("goal", "achievement"))
        self._cells = sorted(cells)

    # -- evidence ----------------------------------------------------------------------------

    def _find_labels(self) -> list[tuple[int, int, str, int]]:
        """(start, end, category, end of scope) of every explicit label opening a sentence, a point
        or a heading line — the labels the rules backend reads (rules.cues.explicit_label). A label
        inside a paragraph governs the rest of that paragraph ("（3）……。整改措施：……；……" — the
        next point is not its business); a label that ends its paragraph or is a heading line is
        a lead-in and governs the points after it, up to the next heading."""
        text, out = self.text, []
        for b in self.st.blocks:
            if b.kind == "table":
                continue
            for s, e in sentence_spans(text, b.start, b.end):
                mk = match_marker(text[s:e])
                ls = s + (mk.length if mk is not None else 0)
                cat = explicit_label(text[ls:e])
                if cat is None:
                    continue
                colons = [i for i in (text.find("：", ls, e), text.find(":", ls, e)) if i >= 0]
                le = min(colons) + 1
                scope = b.end if b.kind != "heading" else le
                if not text[le:scope].strip():  # a lead-in: up to the next heading
                    h = bisect.bisect_right(self._head_starts, le)
                    scope = self._heads[h][0] if h < len(self._heads) else len(text)
                out.append((ls, le, cat, scope))
        return sorted(out)

    def _label_before(self, pos: int) -> Optional[str]:
        """The category of the last label at or before `pos` whose scope reaches `pos`."""
        i = bisect.bisect_right(self._label_starts, pos) - 1
        if i < 0:
            return None
        _, _, cat, scope = self._labels[i]
        return cat if pos < scope else None

    def _cell(self, start: int, end: int) -> Optional[str]:
        i = bisect.bisect_left(self._cells, (end, 0, ""))  # cells starting before the span ends
        n = end - start
        while i > 0 and self._cells[i - 1][0] >= start - _CELL_REACH:
            i -= 1
            s, e, cat = self._cells[i]
            if min(e, end) - max(s, start) > n // 2:
                return cat
        return None

    def _under_deductions(self, pos: int) -> bool:
        """Whether `pos` lies in a section (or under a heading) naming 扣分 and no remedies."""
        k = bisect.bisect_right(self._block_starts, pos) - 1
        if k < 0:
            return False
        secs = self.st.sections
        b = self.st.blocks[k]
        sec = secs[b.section] if 0 <= b.section < len(secs) else None
        while sec is not None and sec.parent is not None:
            if _DEDUCTION.search(sec.title) and not _REMEDY_TOO.search(sec.title):
                return True
            sec = secs[sec.parent]
        return False

    def evidence(self, start: int, end: int) -> Optional[str]:
        """The category strong structure gives the span [start, end), or None."""
        cell = self._cell(start, end)
        if cell is not None:
            return cell
        label = self._label_before(start + 1)
        if label is not None:
            return label
        if _opens_with_turn(self.text, start, end):
            return "measure"  # "下一步，我局将……": the item announces itself
        if self._under_deductions(start) or _DEDUCTION_OPENER.match(_body(self.text, start, end)):
            return "problem"
        return None

    def section_category(self, pos: int) -> Optional[str]:
        """The category the heading of the section holding `pos` announces (weak evidence: only a
        tie-breaker between two readings of one span), or None."""
        k = bisect.bisect_right(self._block_starts, pos) - 1
        if k < 0:
            return None
        b = self.st.blocks[k]
        secs = self.st.sections
        kind = secs[b.section].kind if 0 <= b.section < len(secs) else None
        return _KIND_CATEGORY.get(kind)

    def category(self, start: int, end: int, model: str) -> tuple[str, bool]:
        """(category, corrected): the model's category unless strong evidence says otherwise."""
        ev = self.evidence(start, end)
        if ev is None or ev == model:
            return model, False
        return ev, True

    # -- merged answers ----------------------------------------------------------------------

    def split_points(self, start: int, end: int) -> list[tuple[int, int, Optional[str]]]:
        """Where a span runs across a label (整改措施：, 问题：…), a "下一步，" turn or a heading, its
        pieces (the heading line itself left out), each with the category its boundary announces
        (None for the first piece, and after a heading with no kind); else [(start, end, None)]."""
        cuts: list[tuple[int, int, Optional[str]]] = []  # (end of one piece, start of the next, its category)
        i = bisect.bisect_right(self._label_starts, start)
        while i < len(self._labels) and self._labels[i][0] < end:
            s, _, cat, _ = self._labels[i]
            cuts.append((s, s, cat))
            i += 1
        for m in _MEASURE_TURN.finditer(self.text, start + 1, end):
            if _AT_START.search(self.text[max(0, m.start() - 8):m.start()]):
                cuts.append((m.start(), m.start(), "measure"))
        # a heading inside the span (not at its start: that is the point's own heading phrase)
        h = bisect.bisect_right(self._head_starts, start)
        while h < len(self._heads) and self._heads[h][0] < end:
            hs, he = self._heads[h]
            cuts.append((hs, he, self.section_category(he)))
            h += 1
        if not cuts:
            return [(start, end, None)]
        out: list[tuple[int, int, Optional[str]]] = []
        at, cat = start, None
        for a, b, nxt in sorted(set(cuts), key=lambda c: (c[0], c[1])):
            if a > at:
                out.append((at, a, cat))
            if b >= at:
                at, cat = max(at, b), nxt
        if end > at:
            out.append((at, end, cat))
        pieces = [(*_trim(self.text, s, e), c) for s, e, c in out]
        return [(s, e, c) for s, e, c in pieces if e - s >= 4]


def _body(text: str, start: int, end: int) -> str:
    """The span's opening words without its enumeration marker."""
    head = text[start:min(end, start + 24)].lstrip()
    mk = match_marker(head)
    return head[mk.length:] if mk is not None else head


def _opens_with_turn(text: str, start: int, end: int) -> bool:
    """Whether the span opens (after its marker) with "下一步，" / "下一步将" / "下步，"."""
    return _MEASURE_TURN.match(_body(text, start, end)) is not None


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e

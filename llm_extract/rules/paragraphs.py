"""Items from narrative paragraphs: cut per enumerated point, categorised by section and cues."""

from __future__ import annotations

import re
from typing import Iterator, Optional

from ..headings import INLINE_ENUM
from ..structure import Block, Section, sentence_spans
from .cues import (
    ACHIEVED,
    GOAL_CUE,
    SIGNATURE,
    BUDGET_SENTENCE,
    HAS_FIGURE,
    WEAK_MEASURE,
    WEAK_PROBLEM,
    is_strong_measure,
    is_strong_problem,
)

Span = tuple[int, int, str]  # start, end, category

#: Paragraphs longer than this that enumerate inline (一是…二是…) are cut per point.
_SPLIT_LONG = 260


SCORE_SENTENCE = re.compile(r"得分|等级|评分|总分|自评结果为")


def points(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut a paragraph at inline enumeration markers (一是, （1）, ①, 1、) when it has two or more."""
    seg = text[start:end]
    marks = [m.start() for m in INLINE_ENUM.finditer(seg) if m.start() > 0]
    if len(marks) < 2 or (end - start) < _SPLIT_LONG:
        return [(start, end)]
    cuts = [0, *marks, len(seg)]
    out = []
    for a, b in zip(cuts, cuts[1:]):
        a2, b2 = start + a, start + b
        while a2 < b2 and text[a2].isspace():
            a2 += 1
        while b2 > a2 and text[b2 - 1].isspace():
            b2 -= 1
        if b2 > a2:
            out.append((a2, b2))
    return out


def _sentence_category(s: str, kind: str) -> Optional[str]:
    """Category of one sentence inside a section of `kind` (None: not an item)."""
    if kind == "measures":
        return "measure"
    if kind == "problems":
        return "measure" if is_strong_measure(s) and not is_strong_problem(s) else "problem"
    if kind == "goals":
        if is_strong_measure(s):
            return "measure"
        return "goal"
    if kind == "mixed":
        if is_strong_measure(s):
            return "measure"
        if is_strong_problem(s) or WEAK_PROBLEM.search(s):
            return "problem"
        return None  # decided by the section's default in paragraph_items
    if kind in ("achievements", "score"):
        if kind == "score" and SCORE_SENTENCE.search(s):
            return None  # the self-score is metadata
        if is_strong_measure(s):
            return "measure"
        if is_strong_problem(s):
            return "problem"
        if GOAL_CUE.search(s):
            return "goal"
        return "achievement"
    # other / score / budget: only strong cues, and plain results with figures
    if is_strong_measure(s):
        return "measure"
    if is_strong_problem(s):
        return "problem"
    if kind == "other" and ACHIEVED.search(s) and HAS_FIGURE.search(s) and not BUDGET_SENTENCE.search(s):
        return "achievement"
    return None


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


def paragraph_items(text: str, block: Block, section: Section) -> Iterator[Span]:
    """Yield (start, end, category) items of one paragraph block."""
    kind = "boilerplate" if block.title_kind == "boilerplate" else section.kind
    if kind == "boilerplate":
        return
    compact = "".join(text[block.start:block.end].split())
    if len(compact) <= 60 and SIGNATURE.search(compact):
        return
    whole_kinds = {"goals": "goal", "achievements": "achievement", "problems": "problem", "measures": "measure"}
    for a, b in points(text, block.start, block.end):
        seg = text[a:b]
        if kind in whole_kinds and kind != "achievements":
            cat = _sentence_category(seg[:80], kind) if kind != "measures" else "measure"
            if kind == "problems" and cat == "measure" and not is_strong_measure(seg[:40]):
                cat = "problem"
            yield a, b, cat
            continue
        # sentence-level decisions, grouped into runs of one category
        default = _mixed_default(section.title) if kind == "mixed" else None
        run: Optional[list] = None
        for sa, sb in sentence_spans(text, a, b):
            s = text[sa:sb]
            cat = _sentence_category(s, kind)
            if cat is None and kind == "mixed":
                cat = default
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
            if run and run[2] == cat:
                run[1] = sb
            else:
                if run:
                    yield tuple(run)  # type: ignore[misc]
                run = [sa, sb, cat]
        if run:
            yield tuple(run)  # type: ignore[misc]

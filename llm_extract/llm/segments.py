"""Numbered segments of an excerpt, for answers that cite text instead of copying it.

The excerpt is cut where an item can start or end (docs/labeling.md "Cutting items"): at line
starts, table cells (tabs), enumeration markers (一是, （2）, ①, 3、), after sentence ends and clause
separators (。！？；), and after labels ending in a colon (整改措施：). Each segment is a trimmed
[start, end) span of Document.text; the model sees it behind its number ("[12]…") and answers with
the first and last number of each item. A cited range maps back to offsets exactly —
segments[first].start to segments[last].end — so there is nothing to align and nothing to guess.

Segments are computed from the text and the chunk's parts alone, so the planner (which renders
them) and the answer reader (which resolves them) agree without sharing state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from ..headings import ENUM_MARK, ENUM_SEPARATORS

#: The number in front of every segment. Square brackets and ASCII digits are one or two tokens
#: in every common tokenizer, and Chinese report text seldom holds "[12]".
MARKER = "[{n}]"
MARKER_RX = re.compile(r"\[(\d+)\]")
#: A "[digits]" already in the source (MARKER_RX) is shown with full-width brackets, so that a
#: number the model reads is always one of ours.

#: A segment ends after these (a closing quote or bracket right after stays with it).
_ENDS = "。！？!?；;：:"
_CLOSERS = "”’」』）)】"
_CUT_AFTER = re.compile(rf"[{re.escape(_ENDS)}][{re.escape(_CLOSERS)}]*")
#: Table cells: a tab (Word exports), a markdown pipe, or a run of two or more spaces (PDF text
#: tables lay cells out with spaces).
_CELL = re.compile(r"\t|\||[ \u3000]{2,}")
_COMMA = re.compile(r"[，,]")


@dataclass(frozen=True)
class Segment:
    id: int
    start: int
    end: int


def cut_points(text: str, start: int, end: int) -> list[int]:
    """Offsets in (start, end) where a new segment may begin."""
    cuts: set[int] = set()
    for m in _CUT_AFTER.finditer(text, start, end):
        cuts.add(m.end())
    i = text.find("\n", start, end)
    while i >= 0:
        cuts.add(i + 1)
        i = text.find("\n", i + 1, end)
    for m in _CELL.finditer(text, start, end):
        cuts.add(m.start())
        cuts.add(m.end())
    for m in _COMMA.finditer(text, start, end):  # two items sharing one table cell
        ls = text.rfind("\n", 0, m.start()) + 1
        if text.startswith("\t", ls) or "|" in text[ls:m.start()]:
            cuts.add(m.end())
    for m in ENUM_MARK.finditer(text, start, end):
        if m.start() > start and text[m.start() - 1] in ENUM_SEPARATORS:
            cuts.add(m.start())
    return sorted(c for c in cuts if start < c < end)


def segment_span(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The trimmed, non-empty segments of text[start:end], in order."""
    out: list[tuple[int, int]] = []
    bounds = [start, *cut_points(text, start, end), end]
    for a, b in zip(bounds, bounds[1:]):
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            out.append((a, b))
    return out


def segment_parts(text: str, parts: Sequence[tuple[int, int]]) -> list[Segment]:
    """Segments of a chunk's parts, numbered from 1 across the whole chunk."""
    spans = [sp for s, e in parts for sp in segment_span(text, s, e)]
    return [Segment(i, s, e) for i, (s, e) in enumerate(spans, 1)]


def render_numbered(text: str, parts: Sequence[tuple[int, int]], separator: str,
                    segments: Optional[Sequence[Segment]] = None) -> str:
    """The chunk's text as the model reads it in cite mode: each segment behind its number, the
    whitespace between segments kept, parts joined by `separator` like the quote format's."""
    segs = list(segments) if segments is not None else segment_parts(text, parts)
    out: list[str] = []
    k = 0
    for pi, (s, e) in enumerate(parts):
        if pi:
            out.append(separator)
        at = s
        while k < len(segs) and segs[k].start < e:
            seg = segs[k]
            out.append(text[at:seg.start])
            out.append(MARKER.format(n=seg.id))
            out.append(MARKER_RX.sub(r"［\1］", text[seg.start:seg.end]))
            at = seg.end
            k += 1
        out.append(text[at:e])
    return "".join(out)


def resolve(segments: Sequence[Segment], parts: Sequence[tuple[int, int]], first: int,
            last: int) -> Optional[list[tuple[int, int]]]:
    """The source spans a cited range [first, last] covers: one per part it lies in (a range
    across a "……" omission is split there, since the text between was never sent). None when an
    id is not a segment of this excerpt or the range runs backwards."""
    n = len(segments)
    if not (1 <= first <= last <= n):
        return None
    spans: list[tuple[int, int]] = []
    for seg in segments[first - 1:last]:
        if spans and _same_part(parts, spans[-1][0], seg.start):
            spans[-1] = (spans[-1][0], seg.end)
        else:
            spans.append((seg.start, seg.end))
    return spans


def _same_part(parts: Sequence[tuple[int, int]], a: int, b: int) -> bool:
    return any(s <= a < e and s <= b < e for s, e in parts)


def covering_range(segments: Sequence[Segment], start: int, end: int) -> Optional[tuple[int, int]]:
    """The segment range a span is best cited by: from the first to the last segment whose
    content lies mostly inside [start, end); None when no segment does. (The mock oracle cites
    gold quotes this way; prompts derive their cite-format examples with it.)"""
    inside = [g.id for g in segments if _mostly_inside(g, start, end)]
    return (inside[0], inside[-1]) if inside else None


def _mostly_inside(g: Segment, start: int, end: int) -> bool:
    overlap = min(g.end, end) - max(g.start, start)
    return overlap > 0 and 2 * overlap >= g.end - g.start


def ids_in(numbered: str) -> Iterable[int]:
    """The segment numbers a numbered excerpt shows, in order."""
    return (int(m.group(1)) for m in MARKER_RX.finditer(numbered))

"""Place every quote a backend returns at exact character offsets of Document.text.

Chinese text has no spaces to tokenise on, and models copy it imperfectly: they drop the hard line
breaks of PDF text, turn ，into , or （ into (, or slip a character. So alignment works on
characters, in this order:

1. inside the quote's chunk (its window), scanning from where the previous item of the same
   answer ended (models answer in reading order, so a repeated "100%" in a table lands on the
   right cell): the quote verbatim ("exact"), else on a view without whitespace and with
   punctuation width folded (textview), whose characters map back to original offsets
   ("normalized");
2. the same two anywhere in the document, nearest to the chunk;
3. "fuzzy" — rapidfuzz partial alignment on that view above a threshold, edges refined by
   aligning the quote's head and tail; "A……B" elisions are aligned by their two ends.

The stored quote is always text[start:end] (never the model's spelling), trimmed of surrounding
whitespace, with the alignment kind recorded. Quotes that cannot be placed are dropped and
counted, or kept with null offsets on request.

A quote from a chunk whose parts are known (`Grounder.place`) is placed only inside those parts —
never in text routing left out — in answer order, preferring an occurrence no earlier item of the
answer covers; a short quote also matches with numerals folded (3 = 三) and one slip when that
match is unique; a quote running across the "……" omission line is placed piece by piece
(`place_pieces`); a point whose marker or heading phrase the model left off is extended back
to it (`extend_to_marker`), and a quote cut off mid-clause on to its sentence end
(`extend_to_sentence_end`).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from .backends.base import RawItem
from .headings import ENUM_MARK, ENUM_SEPARATORS, match_marker, split_title
from .models import Item
from .textview import TextView, make_view

DEFAULT_FUZZY_THRESHOLD = 90.0
#: Shorter normalised quotes are not fuzzy-aligned: a few characters match too many places.
MIN_FUZZY_CHARS = 8
#: Characters of the quote's head/tail used to refine a fuzzy span's edges.
EDGE_CHARS = 12
_ELLIPSIS = re.compile(r"(?:…{1,2}|\.{3,6}|。{3,6}|⋯+)")
#: Short quotes (in normalised characters) searched with numerals folded and one slip allowed.
SHORT_MAX = 24
MIN_SHORT_CJK = 4
#: Chinese digits read as Arabic ones, character for character (so view offsets stay aligned).
_NUMERALS = str.maketrans("〇零一二两三四五六七八九", "001223456789")
_CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")
#: A point's heading phrase a model may leave off with its marker ("（一）加强预算管理。…").
_TITLE_MAX = 18
#: How far back from a quote its point's marker may start (marker, heading phrase, punctuation).
_MARKER_REACH = 8 + _TITLE_MAX + 4

Span = tuple[int, int]


@dataclass(frozen=True)
class Alignment:
    start: int
    end: int
    kind: str  # "exact" | "normalized" | "fuzzy"
    score: float = 100.0


@dataclass
class GroundingResult:
    items: list[Item] = field(default_factory=list)
    #: Unaligned items (offsets None, alignment "none"); filled only with keep_ungrounded=True.
    ungrounded: list[Item] = field(default_factory=list)
    #: Unaligned items that were dropped (0 with keep_ungrounded=True).
    dropped: int = 0


class Grounder:
    """Aligns quotes against one text; the normalised view is built once, on first need."""

    def __init__(self, text: str, *, fuzzy_threshold: float = DEFAULT_FUZZY_THRESHOLD):
        self.text = text
        self.fuzzy_threshold = fuzzy_threshold
        self._view: Optional[TextView] = None

    @property
    def view(self) -> TextView:
        if self._view is None:
            self._view = make_view(self.text)
        return self._view

    def align(
        self,
        quote: str,
        window: Optional[tuple[int, int]] = None,
        hint: Optional[tuple[int, int]] = None,
        after: Optional[tuple[int, int]] = None,
    ) -> Optional[Alignment]:
        """Where `quote` sits in the text, or None. `window` is the chunk it came from (searched
        first); `hint` is a claimed (start, end), accepted only if it holds the quote verbatim
        or equal after normalising;
        `after` is the span of the previous item from the same answer: models list items in
        reading order, so a repeated phrase ("100%", "已完成" in a table) is looked for after it
        first, then from its start (overlapping items), then from the window start."""
        text = self.text
        q = quote.strip()
        if not q:
            return None
        ws, we = _clip(window, len(text))
        if hint is not None:
            hs, he = hint
            if hs is not None and he is not None and 0 <= hs < he <= len(text):
                if text[hs:he].strip() == q:
                    return _trim(text, hs, he, "exact")
                if make_view(text[hs:he]).text == make_view(q).text:  # a backend already placed it
                    return _trim(text, hs, he, "normalized")
        ordered = window is not None or after is not None
        starts = [ws]
        if after is not None and ws <= after[0] <= we:
            starts = [min(after[1], we), after[0], ws]
        qv: Optional[str] = None
        i0 = i1 = 0
        # 1-2. inside the window, at each reading-order start: verbatim, then normalised
        for a in starts:
            pos = text.find(q, a, we)
            if qv is None:
                qv = make_view(q).text
                if not qv:
                    return None
                i0, i1 = self._view_range(ws, we)
            va = bisect.bisect_left(self.view.index, a)
            # In a chunk's answer the earliest match in reading order wins (a verbatim match
            # further on may be another cell that happens to be spelled like the model's
            # rewrite); with no chunk and no previous item, a verbatim match wins.
            hit = self.view.text.find(qv, va, i1) if va < i1 else -1
            if pos >= 0 and (not ordered or hit < 0 or self.view.index[hit] >= pos):
                return Alignment(pos, pos + len(q), "exact")
            if hit >= 0:
                s, e = self.view.span(hit, hit + len(qv))
                return Alignment(s, e, "normalized")
        assert qv is not None
        # ... then anywhere in the document, nearest to the window
        pos = _nearest(text, q, ws)
        if pos >= 0:
            return Alignment(pos, pos + len(q), "exact")
        view = self.view
        hit = _nearest(view.text, qv, i0)
        if hit < 0:  # a stray edge punctuation mark ("。" added or dropped at the end)
            stripped = qv.strip(_EDGE_PUNCT)
            if stripped and stripped != qv and len(stripped) >= 2:
                vstarts = [bisect.bisect_left(view.index, a) for a in starts]
                hit = _find_view(view.text, stripped, vstarts, i1)
                hit = -1 if hit is None else hit
                if hit >= 0:
                    qv = stripped
        if hit >= 0:
            s, e = view.span(hit, hit + len(qv))
            return Alignment(s, e, "normalized")
        # 3. fuzzy
        return self._fuzzy(q, qv, i0, i1, (ws, we))

    def place(
        self,
        quote: str,
        parts: Sequence[Span],
        *,
        after: Optional[Span] = None,
        taken: Sequence[Span] = (),
    ) -> Optional[Alignment]:
        """Where a quote from a chunk made of `parts` sits, searching those parts only: verbatim or
        normalised occurrences in reading order from the previous item (`after`), the first one
        no earlier item of the answer (`taken`) covers winning; then, for a short quote, a unique
        match with numerals folded and one slip; then fuzzy, part by part."""
        q = quote.strip()
        parts = [(max(0, a), min(len(self.text), b)) for a, b in parts if a < b]
        if not q or not parts:
            return None
        qv = make_view(q).text
        if not qv:
            return None
        cands = self._occurrences(q, qv, parts)
        if not cands:  # a stray edge punctuation mark ("。" added or dropped at the end)
            stripped = qv.strip(_EDGE_PUNCT)
            if stripped and stripped != qv and len(stripped) >= 2:
                cands = self._occurrences(None, stripped, parts)
        if cands:
            return _in_answer_order(cands, parts[0][0], after, taken)
        short = self._short_match(qv, parts)
        if short is not None:
            return short
        best: Optional[Alignment] = None
        if len(qv) >= MIN_FUZZY_CHARS:
            for a, b in parts:
                i0, i1 = self._view_range(a, b)
                if i1 - i0 < len(qv) * 0.5:
                    continue
                hit = self._partial(qv, i0, i1)
                if hit is not None and (best is None or hit[2] > best.score):
                    ds, de = self._refine(qv, hit[0], hit[1])
                    ds, de = max(ds, i0), min(de, i1)
                    if de > ds:
                        s, e = self.view.span(ds, de)
                        best = Alignment(s, e, "fuzzy", hit[2])
        return best

    def place_pieces(self, quote: str, parts: Sequence[Span], *, after: Optional[Span] = None,
                     taken: Sequence[Span] = ()) -> list[Alignment]:
        """A quote with "……" in it: the omission line between two parts of the chunk, or the
        model's own elision. Each piece is placed; pieces in one part make one span (head to
        tail), pieces in different parts separate spans — never one span over left-out text."""
        pieces = [p for p in _ELLIPSIS.split(quote) if make_view(p).text.strip(_EDGE_PUNCT)]
        if len(pieces) < 2:
            return []
        spans: list[tuple[int, Alignment]] = []  # (part index, alignment)
        prev = after
        for piece in pieces:
            al = self.place(piece, parts, after=prev, taken=taken)
            if al is None:
                continue
            k = next((i for i, (a, b) in enumerate(parts) if a <= al.start and al.end <= b), -1)
            if spans and spans[-1][0] == k and al.start >= spans[-1][1].end:
                head = spans[-1][1]
                spans[-1] = (k, Alignment(head.start, al.end, "fuzzy", min(head.score, al.score)))
            else:
                spans.append((k, al))
            prev = (al.start, al.end)
        return [al for _, al in spans]

    # -- helpers ---------------------------------------------------------------------------

    def _occurrences(self, q: Optional[str], qv: str, parts: Sequence[Span]) -> list[Alignment]:
        """Every verbatim (q) and normalised (qv) occurrence inside the parts, by start; where
        both start at one place the verbatim one is kept."""
        text, view = self.text, self.view
        found: dict[int, Alignment] = {}
        for a, b in parts:
            i0, i1 = self._view_range(a, b)
            hit = view.text.find(qv, i0, i1)
            while hit >= 0:
                s, e = view.span(hit, hit + len(qv))
                found.setdefault(s, Alignment(s, e, "normalized"))
                hit = view.text.find(qv, hit + 1, i1)
            if q is not None:
                pos = text.find(q, a, b)
                while pos >= 0:
                    found[pos] = Alignment(pos, pos + len(q), "exact")
                    pos = text.find(q, pos + 1, b)
        return [found[k] for k in sorted(found)]

    def _short_match(self, qv: str, parts: Sequence[Span]) -> Optional[Alignment]:
        """A short quote (>= MIN_SHORT_CJK CJK characters) equal once numerals are folded, or one
        edit away — accepted only when exactly one place in the parts matches."""
        if len(qv) > SHORT_MAX or len(_CJK_CHAR.findall(qv)) < MIN_SHORT_CJK:
            return None
        fq = qv.translate(_NUMERALS)
        hits: list[tuple[int, int, int]] = []  # view start, view end, edits
        for a, b in parts:
            i0, i1 = self._view_range(a, b)
            seg = self.view.text[i0:i1].translate(_NUMERALS)
            pos = seg.find(fq)
            while pos >= 0:
                hits.append((i0 + pos, i0 + pos + len(fq), 0))
                pos = seg.find(fq, pos + 1)
            if hits:
                continue
            n = len(fq)
            for i in range(0, max(0, len(seg) - n + 2)):
                for m in (n, n - 1, n + 1):
                    w = seg[i:i + m]
                    if len(w) == m and Levenshtein.distance(fq, w, score_cutoff=1) <= 1:
                        hits.append((i0 + i, i0 + i + m, 1))
        if not hits:
            return None
        exact = [h for h in hits if h[2] == 0]
        pool = exact or hits
        # windows one character apart find one location more than once: unique means one place
        if max(h[0] for h in pool) - min(h[0] for h in pool) > 2:
            return None
        ds, de, edits = min(pool, key=lambda h: (h[2], abs((h[1] - h[0]) - len(fq))))
        s, e = self.view.span(ds, de)
        return Alignment(s, e, "normalized" if edits == 0 else "fuzzy", 100.0 if edits == 0 else 90.0)

    def _view_range(self, ws: int, we: int) -> tuple[int, int]:
        idx = self.view.index
        return bisect.bisect_left(idx, ws), bisect.bisect_left(idx, we)

    def _fuzzy(self, q: str, qv: str, i0: int, i1: int, window: tuple[int, int]) -> Optional[Alignment]:
        parts = [p for p in _ELLIPSIS.split(q) if p.strip()]
        if len(parts) >= 2:  # "一是……三是……": align the head and the tail, keep what lies between
            head = self.align(parts[0], window=window)
            if head is not None:
                tail = self.align(parts[-1], window=(head.end, len(self.text)))
                if tail is not None and tail.start >= head.end and tail.end - head.start <= 6 * len(q) + 200:
                    return Alignment(head.start, tail.end, "fuzzy", min(head.score, tail.score))
        if len(qv) < MIN_FUZZY_CHARS:
            return None
        vt = self.view.text
        best = None
        if i1 - i0 >= len(qv):
            best = self._partial(qv, i0, i1)
        if best is None:
            best = self._partial(qv, 0, len(vt))
        if best is None:
            return None
        ds, de, score = best
        ds, de = self._refine(qv, ds, de)
        s, e = self.view.span(ds, de)
        return Alignment(s, e, "fuzzy", score)

    def _partial(self, qv: str, a: int, b: int) -> Optional[tuple[int, int, float]]:
        r = fuzz.partial_ratio_alignment(qv, self.view.text[a:b], score_cutoff=self.fuzzy_threshold)
        if r is None or r.dest_end <= r.dest_start:
            return None
        return a + r.dest_start, a + r.dest_end, r.score

    def _refine(self, qv: str, ds: int, de: int) -> tuple[int, int]:
        """partial_ratio returns a window as long as the quote; when the model dropped or added
        characters its edges are off. Re-align the quote's head and tail near each edge."""
        vt = self.view.text
        k = min(EDGE_CHARS, len(qv) // 3)
        if k < 4:
            return ds, de
        margin = max(k, (de - ds) // 5)
        head, tail = qv[:k], qv[-k:]
        a = max(0, ds - margin)
        r = fuzz.partial_ratio_alignment(head, vt[a: ds + margin + k], score_cutoff=self.fuzzy_threshold)
        new_ds = a + r.dest_start if r is not None else ds
        b = max(new_ds, de - margin - k)
        r = fuzz.partial_ratio_alignment(tail, vt[b: de + margin], score_cutoff=self.fuzzy_threshold)
        new_de = b + r.dest_end if r is not None else de
        if new_de <= new_ds:
            return ds, de
        return new_ds, new_de


_EDGE_PUNCT = ".,;:!?\"'()[]<>-~…。，；：！？"


def _in_answer_order(cands: list[Alignment], first: int, after: Optional[Span],
                     taken: Sequence[Span]) -> Alignment:
    """The occurrence a model meant: reading on from the previous item of its answer, then from
    that item's start (overlapping items), then from the chunk start — at each, the first
    occurrence no earlier item covers; if every one is covered, the first in that order."""
    starts = [first] if after is None else [after[1], after[0], first]
    for a in starts:
        for c in cands:
            if c.start >= a and not _covered(c, taken):
                return c
    for a in starts:
        for c in cands:
            if c.start >= a:
                return c
    return cands[0]


def _covered(al: Alignment, taken: Sequence[Span]) -> bool:
    n = al.end - al.start
    return any(min(al.end, e) - max(al.start, s) > n // 2 for s, e in taken)


_CLAUSE_END = "。；;！？!?，,、：:）)”’」』…|"
_SENTENCE_STOP = re.compile(r"[。；;！？!?]|\n")
#: How far a quote cut off mid-clause is carried on to its sentence end, at most.
_TAIL_MAX = 300


def extend_to_sentence_end(text: str, start: int, end: int, limit: int) -> int:
    """The end of the sentence a span stops inside, when it stops mid-clause (a model that ran out
    of breath: "…全年完成培训12" for "…全年完成培训12场次。"); else `end`. A span ending at a clause
    mark, a line end or `limit` (the end of the text that was sent) is left as it is."""
    if end >= limit or end <= start or text[end - 1] in _CLAUSE_END or text[end] in _CLAUSE_END \
            or text[end].isspace():
        return end
    m = _SENTENCE_STOP.search(text, end, min(limit, end + _TAIL_MAX))
    if m is None:
        return end
    return m.end() if m.group() != "\n" else m.start()


def extend_to_marker(text: str, start: int, end: int) -> int:
    """The start of the point a span begins in, when the span starts right after that point's
    enumeration marker ("一是", "（2）", "3、") or its marker and heading phrase ("（一）加强预算
    管理。"): models often leave those off; LABELING.md keeps them in the quote. Else `start`."""
    ls = text.rfind("\n", 0, start) + 1
    if not text[ls:start].strip() or match_marker(text[start:end]) is not None:
        return start  # opens its line, or has its own marker
    # where a point may begin: the line start, or after a separator inside the line (run-in
    # 一是…二是…), no further back than a marker and a heading phrase reach
    lo = max(ls, start - _MARKER_REACH)
    begins = [m.start() for m in ENUM_MARK.finditer(text, lo, start)
              if m.start() > ls and text[m.start() - 1] in ENUM_SEPARATORS]
    if lo == ls:
        line = text[ls:start]
        begins.append(ls + len(line) - len(line.lstrip()))
    for b in sorted(set(begins), reverse=True):
        if b >= start:
            continue
        mk = match_marker(text[b:end])
        if mk is None:
            continue
        after_mk = b + mk.length
        if after_mk == start or (after_mk < start and not text[after_mk:start].strip()):
            return b
        if after_mk < start:
            title, rest = split_title(text[after_mk:end])
            gap = text[after_mk + len(title) + 1:start]
            if rest and 1 <= len(title) <= _TITLE_MAX and not gap.strip() and "，" not in title:
                return b
        return start
    return start


def _clip(window: Optional[tuple[Optional[int], Optional[int]]], n: int) -> tuple[int, int]:
    if not window or window[0] is None or window[1] is None:
        return 0, n
    a, b = max(0, int(window[0])), min(n, int(window[1]))
    return (a, b) if a < b else (0, n)


def _nearest(text: str, q: str, anchor: int) -> int:
    """The occurrence of q closest to `anchor` (a chunk start), or -1."""
    best, pos = -1, text.find(q)
    while pos >= 0:
        if best < 0 or abs(pos - anchor) < abs(best - anchor):
            best = pos
        pos = text.find(q, pos + 1)
    return best


def _find_view(vt: str, qv: str, starts: list[int], i1: int) -> Optional[int]:
    for i0 in starts:
        hit = vt.find(qv, i0, i1) if i0 < i1 else -1
        if hit >= 0:
            return hit
    hit = _nearest(vt, qv, starts[-1])
    return hit if hit >= 0 else None


def _trim(text: str, s: int, e: int, kind: str) -> Alignment:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return Alignment(s, e, kind)


_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def display_text(quote: str) -> str:
    """The item's short form: hard line breaks and cell tabs undone, leading enumeration marker
    ("一是", "（1）", "①") dropped, whitespace collapsed."""
    lines = [ln.strip() for ln in quote.splitlines() if ln.strip()]
    out = ""
    for ln in lines:
        if out and not (_CJK.match(out[-1]) or _CJK.match(ln[0])):
            out += " "
        out += ln
    out = re.sub(r"[ \t\u3000]+", " ", out).strip()
    mk = match_marker(out)
    if mk is not None and mk.length < len(out):
        out = out[mk.length:].strip()
    return out


def ground_items(
    text: str,
    raw_items: Iterable[RawItem],
    *,
    keep_ungrounded: bool = False,
    fuzzy_threshold: float = DEFAULT_FUZZY_THRESHOLD,
    grounder: Optional[Grounder] = None,
) -> GroundingResult:
    """Align each raw item's quote to `text`; see the module docstring for the order of attempts."""
    g = grounder or Grounder(text, fuzzy_threshold=fuzzy_threshold)
    res = GroundingResult()
    cursors: dict[tuple, tuple[int, int]] = {}  # per answer (window, pass): the previous item's span
    for raw in raw_items:
        window = (raw.window_start, raw.window_end) if raw.window_start is not None else None
        hint = (raw.start, raw.end) if raw.start is not None and raw.end is not None else None
        answer = (raw.window_start, raw.window_end, raw.pass_)
        if raw.parts and hint is None:  # from a routed chunk: only the text that was sent
            al = g.place(raw.quote, raw.parts, after=cursors.get(answer))
        else:
            al = g.align(raw.quote, window=window, hint=hint, after=cursors.get(answer) if window else None)
        if al is not None:
            cursors[answer] = (al.start, al.end)
        base = {
            "category": raw.category,
            "section": raw.section,
            "confidence": raw.confidence,
            "pass": raw.pass_,
        }
        if al is None:
            if keep_ungrounded:
                q = raw.quote.strip()
                res.ungrounded.append(
                    Item.model_validate({**base, "text": raw.text or display_text(q), "quote": q,
                                         "start": None, "end": None, "alignment": "none"})
                )
            else:
                res.dropped += 1
            continue
        quote = text[al.start:al.end]
        res.items.append(
            Item.model_validate({**base, "text": display_text(quote), "quote": quote,
                                 "start": al.start, "end": al.end, "alignment": al.kind})
        )
    return res

"""Deduplicate items that overlapping chunks and repeated passes found more than once.

Rule: two items of the same category whose spans overlap by at least half of the shorter one are
one item, and the merged item covers the UNION of their spans. Why union rather than "keep the
longer": the usual duplicate is the same point seen twice — once whole, once cut at a chunk edge
or cut differently by another pass — and the union restores the whole point without inventing
text (both spans are grounded source, and they overlap, so the union is contiguous source too).
Why the half-overlap test rather than any overlap: two neighbouring points whose fuzzy edges touch
by a character or two are different items and stay separate.

Items of different categories are never merged (a sentence two passes read differently is
reported under both). Items without offsets (kept ungrounded) are deduplicated by quote.
"""

from __future__ import annotations

from typing import Optional

from .grounding import display_text
from .models import Item

#: Overlap, as a share of the shorter span, from which two same-category items are one.
MIN_OVERLAP = 0.5
_TRUST = {"exact": 0, "normalized": 1, "fuzzy": 2, "none": 3}


def merge_items(items: list[Item], *, text: Optional[str] = None, min_overlap: float = MIN_OVERLAP) -> list[Item]:
    """Merged items in document order. `text` (Document.text) is needed to rebuild the quote of a
    union that neither item covers alone; without it the union's quote is stitched from the two."""
    grounded = [it for it in items if it.start is not None and it.end is not None]
    loose = [it for it in items if it.start is None or it.end is None]
    if not loose and not _any_overlap(grounded):
        # the common case (rules output, one pass): nothing to merge, only order
        return sorted(grounded, key=lambda i: (i.start, i.end, i.category))
    out: list[Item] = []
    by_cat: dict[str, list[Item]] = {}
    for it in grounded:
        by_cat.setdefault(it.category, []).append(it)
    for cat_items in by_cat.values():
        cat_items.sort(key=lambda i: (i.start, -(i.end - i.start)))
        clusters: list[Item] = []
        for it in cat_items:
            # compare with every open cluster that still reaches this item (spans sorted by start)
            target = None
            for c in reversed(clusters):
                if c.end <= it.start:
                    continue
                if _overlap(c, it) >= min_overlap * min(c.end - c.start, it.end - it.start):
                    target = c
                    break
            if target is None:
                clusters.append(it)
            else:
                clusters[clusters.index(target)] = _union(target, it, text)
        out.extend(clusters)
    seen: set[tuple[str, str]] = set()
    for it in loose:
        key = (it.category, "".join(it.quote.split()))
        if key not in seen:
            seen.add(key)
            out.append(it)
    return sorted(out, key=lambda i: (i.start if i.start is not None else 1 << 60, i.end or 0, i.category))


def _any_overlap(items: list[Item]) -> bool:
    """Whether two items of one category share any character (one pass over the sorted spans)."""
    last_end: dict[str, int] = {}
    for it in sorted(items, key=lambda i: (i.start, i.end)):
        if it.start < last_end.get(it.category, -1):
            return True
        last_end[it.category] = max(last_end.get(it.category, -1), it.end)
    return False


def _overlap(a: Item, b: Item) -> int:
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def _union(a: Item, b: Item, text: Optional[str]) -> Item:
    start, end = min(a.start, b.start), max(a.end, b.end)
    if (a.start, a.end) == (start, end):
        keeper, quote, kind = a, a.quote, a.alignment
    elif (b.start, b.end) == (start, end):
        keeper, quote, kind = b, b.quote, b.alignment
    else:
        first, last = (a, b) if a.start <= b.start else (b, a)
        keeper = first
        quote = text[start:end] if text is not None else first.quote + last.quote[first.end - last.start:]
        kind = max(a.alignment, b.alignment, key=lambda k: _TRUST.get(k, 3))
    first = a if a.start <= b.start else b
    conf = [c for c in (a.confidence, b.confidence) if c is not None]
    passes = [p for p in (a.pass_, b.pass_) if p is not None]
    data = keeper.model_dump(by_alias=True)
    data.update(
        start=start,
        end=end,
        quote=quote,
        text=display_text(quote) if quote != keeper.quote else keeper.text,
        alignment=kind,
        section=first.section or keeper.section,
        confidence=max(conf) if conf else None,
        **{"pass": min(passes) if passes else None},
    )
    return Item.model_validate(data)

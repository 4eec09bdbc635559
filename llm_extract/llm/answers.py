"""A model's answer for one chunk → raw items placed in the source, split where they run together,
and with the category structure gives them.

Per answer, in reading order: each quote is placed inside the parts of the chunk that were sent
(grounding.Grounder.place), a quote across the "……" omission line piece by piece; a point whose
marker or heading phrase the model left off is extended back to it, and one cut off mid-clause
on to its sentence end; an answer running one item into the next (a problem into its measure,
most often) is cut at the label, turn or heading between them; and strong structure corrects the
category (arbitration). Items that cannot be placed go on without offsets, for grounding to
report. With several passes, `reconcile` settles two passes' conflicting readings of one span.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Optional

from .arbitration import Arbiter
from ..backends.base import RawItem
from ..grounding import Alignment, Grounder, display_text, extend_to_marker, extend_to_sentence_end

if TYPE_CHECKING:
    from .schema import ExtractedItem
    from .chunking import Chunk
    from ..models import Stats
    from ..structure import Structure


class AnswerReader:
    """Reads every chunk answer of one document (the grounder's view and the structural evidence
    are built once)."""

    def __init__(self, text: str, structure: "Structure", grounder: Optional[Grounder] = None):
        self.text = text
        self.grounder = grounder or Grounder(text)
        self.arbiter = Arbiter(structure)

    def raw_items(self, chunk: "Chunk", answer: Iterable["ExtractedItem"], pass_no: int,
                  stats: "Stats") -> list[RawItem]:
        parts = list(chunk.parts) or [(chunk.start, chunk.end)]
        out: list[RawItem] = []
        prev: Optional[tuple[int, int]] = None
        taken: list[tuple[int, int]] = []
        for it in answer:
            placed = self._place_item(it, chunk, parts, prev, taken)
            if not placed:
                out.append(RawItem(category=it.category, quote=it.quote, section=chunk.section_path,
                                   window_start=chunk.start, window_end=chunk.end, parts=parts, pass_=pass_no))
                continue
            for al in placed:
                start = extend_to_marker(self.text, al.start, al.end)
                if any(s < al.start and e > start for s, e in taken):
                    start = al.start  # the model quoted the marker's heading phrase as an item of its own
                prev = (al.start, al.end)
                taken.append(prev)
                limit = next((b for a, b in parts if a <= al.start < b), al.end)
                end = extend_to_sentence_end(self.text, start, al.end, limit)
                pieces = self.arbiter.split_points(start, end)
                if len(pieces) > 1:
                    _bump(stats, "split_merged")
                for s, e, announced in pieces:
                    cat, corrected = self.arbiter.category(s, e, announced or it.category)
                    if corrected:
                        _bump(stats, "recategorised")
                    quote = self.text[s:e]
                    # extended to a marker or cut at a boundary, the span is still placed as
                    # the model's quote was
                    out.append(RawItem(category=cat, quote=quote, text=display_text(quote),
                                       section=chunk.section_at(s), start=s, end=e, alignment=al.kind,
                                       window_start=chunk.start, window_end=chunk.end, parts=parts,
                                       pass_=pass_no))
        return out

    def reconcile(self, items: list[RawItem], stats: "Stats") -> None:
        """Two passes that read one span as different categories: where the section's heading
        names one of the two, both take it (merging then makes them one item); otherwise both
        readings stay."""
        placed = sorted((it for it in items if it.start is not None and it.end is not None),
                        key=lambda it: it.start)
        for i, a in enumerate(placed):
            for b in placed[i + 1:]:
                if b.start >= a.end:
                    break
                if a.pass_ == b.pass_ or a.category == b.category:
                    continue
                overlap = min(a.end, b.end) - max(a.start, b.start)
                if overlap * 2 < min(a.end - a.start, b.end - b.start):
                    continue
                cat = self.arbiter.section_category(max(a.start, b.start))
                if cat in (a.category, b.category):
                    a.category = b.category = cat
                    _bump(stats, "pass_conflicts_settled")

    def _place_item(self, it, chunk: "Chunk", parts, prev, taken) -> list[Alignment]:
        """Where one answered item lies; a copied quote is searched for (a cited range is
        resolved instead: llm/citing.CiteReader)."""
        return self._place(it.quote, parts, prev, taken)

    def _place(self, quote: str, parts, prev, taken) -> list[Alignment]:
        g = self.grounder
        al = g.place(quote, parts, after=prev, taken=taken)
        if al is not None and al.kind != "fuzzy":
            return [al]
        pieces = g.place_pieces(quote, parts, after=prev, taken=taken)
        if pieces:
            return pieces
        return [al] if al is not None else []


def _bump(stats: "Stats", name: str) -> None:
    setattr(stats, name, int(getattr(stats, name, 0) or 0) + 1)

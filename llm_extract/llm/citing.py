"""The citing answer format end to end, around llm/segments.py: the numbered excerpt a chunk is
sent as, the messages (few-shot answers given as segment ranges), and the reader that turns an
answer's ranges back into source offsets.

A range resolves exactly or not at all: ids outside the excerpt, or a range running backwards,
leave the item unplaced, and grounding reports it as ungrounded (its stand-in quote matches no
source text) — nothing is searched for or guessed. A placed item then goes through the same
marker/sentence extension, problem|measure split and category arbitration as a copied quote.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Optional

from ..gold import find_in_order
from ..grounding import Alignment
from .answers import AnswerReader
from .chunking import PART_SEPARATOR
from .prompts import Example, PromptError, PromptSet
from .segments import Segment, covering_range, render_numbered, resolve, segment_parts

if TYPE_CHECKING:
    from .chunking import Chunk
    from .cite_schema import CitedItem


def _local_parts(chunk: "Chunk") -> list[tuple[int, int, int]]:
    """(start, end) of each part in chunk.text, with the part's document offset."""
    parts = list(chunk.parts) or [(chunk.start, chunk.end)]
    out, at = [], 0
    for s, e in parts:
        out.append((at, at + (e - s), s))
        at += (e - s) + len(PART_SEPARATOR)
    return out


def chunk_segments(chunk: "Chunk") -> list[Segment]:
    """The chunk's numbered segments in Document.text offsets (what the model was shown)."""
    local = _local_parts(chunk)
    segs = segment_parts(chunk.text, [(a, b) for a, b, _ in local])
    out = []
    for g in segs:
        shift = next(d - a for a, b, d in local if a <= g.start < b)
        out.append(Segment(g.id, g.start + shift, g.end + shift))
    return out


def numbered_text(chunk: "Chunk") -> str:
    """chunk.text with every segment behind its number, parts still joined by the "……" line."""
    return render_numbered(chunk.text, [(a, b) for a, b, _ in _local_parts(chunk)], PART_SEPARATOR)


def example_answer(ex: Example) -> dict:
    """A few-shot example's items as segment ranges. Examples are written as verbatim quotes (as
    in every prompt version) and shown to the model as citations; a quote that is not exactly a
    run of whole segments is a broken example (PromptError), never silently widened."""
    text = ex.text
    segs = segment_parts(text, [(0, len(text))])
    items, ps, pe = [], 0, 0
    for cat, quote in ex.items:
        i = find_in_order(text, quote, ps, pe)
        if i < 0:
            raise PromptError(f"example quote not in its text: {quote[:30]!r}")
        ps, pe = i, i + len(quote)
        rng = covering_range(segs, i, i + len(quote))
        spans = resolve(segs, [(0, len(text))], *rng) if rng else None
        if not spans or text[spans[0][0]:spans[-1][1]] != quote.strip():
            raise PromptError(f"example quote is not a run of whole segments: {quote[:30]!r}")
        items.append({"category": cat, "first": rng[0], "last": rng[1]})
    return {"items": items}


def cite_messages(prompts: PromptSet, chunk: "Chunk", pass_no: int = 1, *,
                  json_instructions: bool = False) -> list[dict[str, str]]:
    """Chat messages in the citing format: system, few-shot pairs (numbered example, ranges),
    then the numbered excerpt."""
    system = prompts.system.strip()
    if json_instructions:
        system += "\n\n" + prompts.json_format.strip()
    msgs = [{"role": "system", "content": system}]
    for ex in prompts.examples:
        shown = render_numbered(ex.text, [(0, len(ex.text))], PART_SEPARATOR)
        msgs.append({"role": "user", "content": prompts.render_user(shown, ex.section_path)})
        msgs.append({"role": "assistant", "content": json.dumps(example_answer(ex), ensure_ascii=False)})
    msgs.append({"role": "user", "content": cite_user(prompts, chunk, pass_no)})
    return msgs


def cite_user(prompts: PromptSet, chunk: "Chunk", pass_no: int = 1) -> str:
    return prompts.render_user(numbered_text(chunk), chunk.section_path, pass_no)


#: Completion tokens of a cited answer per segment sent, and per call: an item costs ~17 tokens
#: ({"category": …, "first": n, "last": n}) whatever its length, so the answer scales with how many
#: items an excerpt holds, which its segment count follows better than its length. Calibrated on
#: the oracle's cited answers over every gold set (tiktoken): 5.3 per segment pooled, 4.3–6.3 per
#: set (benchmarks/README.md).
TOKENS_PER_SEGMENT, TOKENS_PER_CALL = 5.25, 5


def completion_estimate(chunk: "Chunk") -> int:
    """The completion tokens a cited answer for `chunk` is expected to take (for `estimate`)."""
    return round(TOKENS_PER_SEGMENT * len(chunk_segments(chunk))) + TOKENS_PER_CALL


class CiteReader(AnswerReader):
    """AnswerReader for cited answers: a range is placed by its segments' offsets, not searched."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._segments: dict[tuple, list[Segment]] = {}

    def _place_item(self, it: "CitedItem", chunk: "Chunk", parts, prev, taken) -> list[Alignment]:
        key = (chunk.start, chunk.end, tuple(parts))
        segs = self._segments.get(key)
        if segs is None:
            segs = self._segments[key] = chunk_segments(chunk)
        spans: Optional[list[tuple[int, int]]] = resolve(segs, parts, it.first, it.last)
        return [Alignment(s, e, "exact") for s, e in spans] if spans else []

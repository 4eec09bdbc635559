"""One document through the pipeline: load → structure → backend → ground → merge → Report.

Metadata and indicator rows come from the deterministic rules for every backend (they are table
and cue lookups, where a model adds cost but no accuracy); backends supply the four item lists.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .backends.base import PartialExtraction, RawItem
from .document import Document
from .grounding import ground_items
from .loaders import load
from .merge import merge_items
from .models import Item, Report, Stats, build_report_items
from .rules.meta import extract_meta
from .rules.table_items import table_items
from .structure import Structure, analyze

if TYPE_CHECKING:
    from .backends.base import Backend


def indicators_of(doc: Document, st: Structure):
    rows = []
    for t in st.tables:
        rows.extend(table_items(doc.text, t).indicators)
    return rows


def _fast_ground(text: str, raw) -> tuple[list[Item], list]:
    """Items whose offsets already index their quote exactly need no alignment (the rules path)."""
    ok, rest = [], []
    for r in raw:
        if r.start is not None and r.end is not None and 0 <= r.start < r.end <= len(text) and text[r.start:r.end] == r.quote:
            ok.append(
                Item(category=r.category, text=r.text or r.quote, quote=r.quote, start=r.start, end=r.end,
                     section=r.section, alignment=r.alignment or "exact", confidence=r.confidence,
                     **{"pass": r.pass_})
            )
        else:
            rest.append(r)
    return ok, rest


async def aextract_document(doc: Document, backend: "Backend", *, keep_ungrounded: bool = False) -> Report:
    """Extract one loaded document with `backend` (async so LLM calls of many documents overlap).

    Raises PartialExtraction (with the incomplete report attached) when some model calls failed."""
    t0 = time.perf_counter()
    st = analyze(doc)
    result = await backend.aextract(doc, st)
    items, rest = _fast_ground(doc.text, result.items)
    text = doc.text
    for it in result.grounded:
        if it.start is not None and it.end is not None and text[it.start:it.end] == it.quote:
            items.append(it)
        else:  # a backend bug must not produce offsets that lie
            rest.append(RawItem(category=it.category, quote=it.quote, text=it.text, section=it.section))
    ungrounded: list[Item] = []
    dropped = 0
    if rest:
        g = ground_items(doc.text, rest, keep_ungrounded=keep_ungrounded)
        items.extend(g.items)
        ungrounded = list(g.ungrounded)
        dropped = g.dropped
    items = merge_items(items, text=doc.text)
    meta = extract_meta(doc.text, st.tables)
    if result.meta is not None:
        for k, v in result.meta.model_dump(exclude_none=True).items():
            if v not in (None, {}, ""):
                setattr(meta, k, v)
    stats = result.stats.model_copy() if result.stats else Stats()
    stats.chars = len(doc.text)
    stats.ungrounded_dropped = dropped
    stats.seconds = round(time.perf_counter() - t0, 4)
    report = Report(
        doc_id=doc.doc_id,
        source=doc.source,
        sha256=doc.sha256,
        backend=backend.name,
        model=getattr(backend, "model", None),
        prompt_version=getattr(backend, "prompt_version", None),
        meta=meta,
        indicators=indicators_of(doc, st),
        ungrounded=ungrounded,
        stats=stats,
        **build_report_items(items),
    )
    if result.failed_calls:  # never passed off as the document's result: see PartialExtraction
        raise PartialExtraction(failed=result.failed_calls, calls=result.calls, last_error=result.last_error,
                                report=report)
    return report


def extract_document(doc: Document, backend: "Backend", **kw) -> Report:
    return asyncio.run(aextract_document(doc, backend, **kw))


def extract_path(path: str | Path, backend: "Backend", **kw) -> Report:
    """Load and extract one file (raises loaders.LoadError for unreadable input)."""
    return extract_document(load(path), backend, **kw)


def extract_text(text: str, backend: "Backend | None" = None, doc_id: str = "doc") -> Report:
    """Python-API convenience: extract from a string with the rules backend by default."""
    if backend is None:
        from .backends.rules import RulesBackend

        backend = RulesBackend()
    return extract_document(Document.from_text(text, doc_id=doc_id), backend)

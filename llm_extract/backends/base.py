"""The one small interface every extraction backend implements.

A backend sees a Document and its Structure and returns raw items (category + quote, optionally
offsets and the chunk window the quote came from). Grounding and merging happen after, the same
way for every backend, so a rules item and a model item mean the same thing.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Optional, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from ..models import Category, Item, Meta, Stats

if TYPE_CHECKING:
    from ..document import Document
    from ..structure import Structure


class RawItem(BaseModel):
    """A backend's claim before grounding: `quote` should be source text, offsets are hints."""

    category: Category
    quote: str
    text: str = ""
    section: str = ""
    start: Optional[int] = None
    end: Optional[int] = None
    #: The [window_start, window_end) of Document.text the quote was taken from (a chunk); grounding
    #: searches there first, then the whole document.
    window_start: Optional[int] = None
    window_end: Optional[int] = None
    #: The [start, end) spans of the window that were actually sent (a routed chunk's parts): a
    #: quote is placed only there, never in text routing left out.
    parts: Optional[list[tuple[int, int]]] = None
    #: How a backend that placed the quote itself did it (start/end then index it exactly).
    alignment: Optional[str] = None
    confidence: Optional[float] = None
    pass_: Optional[int] = None


class BackendResult(BaseModel):
    items: list[RawItem] = Field(default_factory=list)
    #: Items a backend cut from the source itself (rules): offsets exact by construction, so they
    #: skip alignment. The pipeline still checks text[start:end] == quote before keeping them.
    grounded: list[Item] = Field(default_factory=list)
    #: Metadata the backend found beyond the rule-based meta (fields set here win).
    meta: Optional[Meta] = None
    stats: Stats = Field(default_factory=Stats)
    #: Model calls made for the document and how many of them failed for good (retries and re-asks
    #: exhausted). A result with failed calls is incomplete: the pipeline refuses to pass it off as
    #: finished (see PartialExtraction).
    calls: int = 0
    failed_calls: int = 0
    last_error: Optional[str] = None


class BackendError(Exception):
    """A document-level backend failure (every call failed, endpoint unreachable, auth...)."""


class PartialExtraction(BackendError):
    """Some, not all, of a document's model calls failed for good. What the others found is in
    `report`, but it is not the document's result: a batch does not write it, so a rerun redoes the
    document (asking only for the failed calls when the response cache is on)."""

    def __init__(self, *, failed: int, calls: int, last_error: Optional[str], report=None):
        self.failed, self.calls, self.last_error, self.report = failed, calls, last_error, report
        super().__init__(f"{failed} of {calls} model calls failed"
                         + (f"; last error: {last_error}" if last_error else ""))


@runtime_checkable
class Backend(Protocol):
    name: str
    model: Optional[str]
    prompt_version: Optional[str]

    async def aextract(self, doc: "Document", structure: "Structure") -> BackendResult: ...


class SyncBackend:
    """Base for CPU-only backends: implement `extract`; `aextract` runs it inline."""

    name = "sync"
    model: Optional[str] = None
    prompt_version: Optional[str] = None

    def extract(self, doc: "Document", structure: "Structure") -> BackendResult:  # pragma: no cover
        raise NotImplementedError

    async def aextract(self, doc: "Document", structure: "Structure") -> BackendResult:
        return self.extract(doc, structure)

    async def aclose(self) -> None:
        await asyncio.sleep(0)

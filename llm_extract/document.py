"""A loaded report: its text is the one coordinate system every offset in the output indexes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Document:
    doc_id: str
    source: str
    text: str
    sha256: str
    kind: str = "txt"
    encoding: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_text(cls, text: str, doc_id: str = "doc", source: str = "<memory>", kind: str = "txt") -> "Document":
        """Build a document from an in-memory string (tests, notebooks, the Python API)."""
        return cls(doc_id=doc_id, source=source, text=text, sha256=sha256_text(text), kind=kind)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_text(text: str) -> str:
    return sha256_bytes(text.encode("utf-8"))


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()

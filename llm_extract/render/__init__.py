"""Digest output formats, chosen by the output file's extension.

Each writer only formats a finished `Digest`; none of them decides what goes in it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from ..digest import Digest, DigestUsageError


def _writers() -> dict[str, Callable[[Digest, Path], list[Path]]]:
    from . import csv as csv_out, html, json as json_out, markdown, xlsx

    return {".md": markdown.write, ".markdown": markdown.write, ".html": html.write, ".htm": html.write,
            ".xlsx": xlsx.write, ".csv": csv_out.write, ".json": json_out.write}


FORMATS = (".md", ".html", ".xlsx", ".csv", ".json")


def check_format(out: str | Path) -> str:
    """The output format of a path, or DigestUsageError naming the supported ones."""
    suffix = Path(out).suffix.lower()
    if suffix not in _writers():
        raise DigestUsageError(
            f"cannot tell the output format from '{Path(out).name}' (use one of: {', '.join(FORMATS)})"
        )
    return suffix


def write_digest(d: Digest, out: str | Path, *, views: Optional[dict[str, str]] = None) -> list[Path]:
    """Write the digest in the format of `out`'s extension; returns every file written.

    `views` (doc_id → link to the report's view page, from `views.write_views`) turns every
    citation of an HTML digest into a link to the item's place in its report."""
    p = Path(out)
    suffix = check_format(p)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    if views is not None and suffix in (".html", ".htm"):
        from . import html

        return html.write(d, p, views=views)
    return _writers()[suffix](d, p)

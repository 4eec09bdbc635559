"""Small formatting helpers shared by the markdown and HTML digests."""

from __future__ import annotations

from typing import Optional

from ..categories import CATEGORY_NAMES  # noqa: F401 - re-exported for the renderers
from ..digest import Digest, Entry

#: Near-duplicate clusters shown per theme, and citations listed per cluster (the JSON/xlsx have all).
MAX_CLUSTERS = 15
MAX_MEMBERS = 10


#: What each link reason means, for readers (links.py makes them, strongest first).
LINK_REASON_TEXT = {
    "same_cell": "the remedy half of the same table cell or sentence",
    "follows": "comes right after the problem in its (sub)section",
    "same_section": "stands in the subsection the problem heads",
    "names": "repeats the problem's own words",
    "theme+wording": "same theme and similar wording",
    "theme": "same theme only (weakest)",
    "wording": "similar wording",
}


def num(v: Optional[float], digits: int = 2) -> str:
    if v is None:
        return "—"
    return f"{v:.{digits}f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)


def pct(v: Optional[float]) -> str:
    return "—" if v is None else f"{num(v)}%"


def who(e: Entry) -> str:
    """'unit, year' of an entry (doc_id when the report states no unit)."""
    return (e.unit or e.doc_id) + (f", {e.year}" if e.year else "")


def where(section: str, start: Optional[int], end: Optional[int]) -> str:
    parts = [section] if section else []
    if start is not None:
        parts.append(f"chars {start}–{end}")
    return " · ".join(parts)


def one_line(text: str) -> str:
    return " ".join(text.split())


def problems_by_doc(d: Digest) -> dict[str, list[Entry]]:
    out: dict[str, list[Entry]] = {}
    for p in d.problems:
        out.setdefault(p.doc_id, []).append(p)
    return out


def title(d: Digest) -> str:
    return "绩效自评报告问题与措施汇总 · Performance report digest"


def filter_text(d: Digest) -> str:
    f = d.filters
    parts = []
    if f.year is not None:
        parts.append(f"year {f.year}")
    if f.unit:
        parts.append(f"unit contains “{f.unit}”")
    if f.themes:
        parts.append("themes " + ", ".join(d.theme_name(t) for t in f.themes))
    if len(f.categories) < 4:
        parts.append("categories " + ", ".join(f.categories))
    return "; ".join(parts) or "none"

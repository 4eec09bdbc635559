"""Digest as one self-contained HTML file: inline CSS/JS/SVG, no network, sortable tables.

Rendered with jinja2 autoescaping, so every string that came from a document is escaped; a
Content-Security-Policy forbids loading anything from outside the file.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Optional

import jinja2
from markupsafe import Markup

from ..atomic import atomic_path
from ..categories import CATEGORY_BORDERS, CATEGORY_COLORS  # noqa: F401 - the viewer imports them from here
from ..digest import Digest
from .common import (CATEGORY_NAMES, LINK_REASON_TEXT, MAX_CLUSTERS, MAX_MEMBERS, filter_text, num, one_line, pct,
                     problems_by_doc, title, where, who)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("llm_extract", "templates"),
        autoescape=True,  # every {{ }} is HTML-escaped; nothing from a document is marked safe
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(num=num, pct=pct, one_line=one_line)
    env.tests["instance_of"] = isinstance
    env.globals.update(where=where, who=who, CATEGORY_NAMES=CATEGORY_NAMES, CATEGORY_COLORS=CATEGORY_COLORS,
                       CATEGORY_BORDERS=CATEGORY_BORDERS, LINK_REASON_TEXT=LINK_REASON_TEXT)
    return env


@lru_cache(maxsize=None)
def inline_script(name: str) -> tuple[Markup, str]:
    """A page script and its CSP hash: the page runs this script and nothing injected into it."""
    js = environment().get_template(name).render()
    digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode("ascii")
    return Markup(js), f"sha256-{digest}"


def chart(d: Digest, width: int = 720, bar_h: int = 22, label_w: int = 190) -> dict:
    """Geometry of the theme-frequency bar chart (reports raising each theme)."""
    top = max((g.reports for g in d.themes), default=1) or 1
    span = width - label_w - 60
    bars = [
        {"y": i * (bar_h + 6), "w": max(2, round(g.reports / top * span)), "label": g.name, "title": f"{g.name} · {g.name_en}",
         "reports": g.reports, "problems": g.problems, "id": g.id}
        for i, g in enumerate(d.themes)
    ]
    return {"width": width, "height": max(len(bars), 1) * (bar_h + 6), "bar_h": bar_h, "label_w": label_w,
            "bars": bars}


def _context(d: Digest, views: Optional[dict[str, str]] = None) -> dict:
    anchors: dict[str, str] = {}
    for n, e in enumerate((*d.problems, *d.measures)):
        anchors[e.id] = f"e{n}"
    views = views or {}

    def src(item_id: str) -> Optional[str]:
        """Link to a cited item's place in its report's view page ("doc/P3" → page#item-P3)."""
        doc, _, ref = item_id.rpartition("/")
        page = views.get(doc)
        return f"{page}#item-{ref}" if page else None

    script, script_hash = inline_script("_sort.js.j2")
    return dict(
        d=d, script=script, script_hash=script_hash, title=title(d), filters=filter_text(d), chart=chart(d), anchors=anchors,
        by_doc=problems_by_doc(d), unaddressed=d.unaddressed(), MAX_CLUSTERS=MAX_CLUSTERS,
        MAX_MEMBERS=MAX_MEMBERS, skipped_names=[(Path(s.path).name, s.reason) for s in d.skipped], src=src,
        views=views,
    )


def render(d: Digest, views: Optional[dict[str, str]] = None) -> str:
    return environment().get_template("digest.html.j2").render(**_context(d, views))


def write(d: Digest, out: Path, views: Optional[dict[str, str]] = None) -> list[Path]:
    """Streamed to the file, so a large digest is never held as one string."""
    stream = environment().get_template("digest.html.j2").stream(**_context(d, views))
    stream.enable_buffering(200)
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        stream.dump(fh)
    return [out]

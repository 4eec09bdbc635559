"""Display-only shape of a report's text in the viewer: Word-export tables as grids, PDF hard
wraps joined. Nothing here changes the text: every character stays in the page (wrapped in an
element or hidden by CSS), so the browser's text of each highlight is still exactly its quote and
offsets stay exact.

- A Word-export table (one tab-indented cell per line, a blank line between rows; see tables.py)
  becomes rows of cells laid out on a CSS grid; the whitespace between cells stays in the page,
  hidden.
- A line break inside a sentence of a PDF text dump (the line before it runs to the full line
  width and does not end a sentence) is hidden, so the paragraph reads as one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .headings import match_marker
from .tables import Table, find_tab_tables

#: Characters that end a sentence or clause a line may legitimately break after.
_BREAK_OK = "。！？：；!?:;"
#: A line at least this share of the document's full line width may have been wrapped by a PDF.
FULL_LINE = 0.85
_NEWLINES = re.compile(r"[ \t\u3000]*\n(?:[ \t\u3000]*\n)*[ \t\u3000]*")


@dataclass
class DisplayShape:
    """Where the viewer opens and closes grid elements, and which line breaks it hides."""

    tables: list[Table] = field(default_factory=list)
    wraps: list[tuple[int, int]] = field(default_factory=list)

    def cuts(self) -> set[int]:
        out: set[int] = set()
        for t in self.tables:
            out |= {t.start, t.end}
            for r in t.rows:
                for c in r.cells:
                    out |= {c.start, c.end}
        for a, b in self.wraps:
            out |= {a, b}
        return out


def display_shape(text: str) -> DisplayShape:
    tables = [t for t in find_tab_tables(text) if t.rows and max(len(r.cells) for r in t.rows) > 1]
    inside = [(t.start, t.end) for t in tables]
    wraps = [w for w in hard_wraps(text) if not any(s <= w[0] < e for s, e in inside)]
    return DisplayShape(tables, wraps)


def hard_wraps(text: str) -> list[tuple[int, int]]:
    """Spans of line breaks (blank lines between included) a PDF put inside a sentence."""
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
    widths = sorted(len(text[a:b].strip()) for a, b in lines if len(text[a:b].strip()) >= 10)
    if len(widths) < 5:
        return []
    full = widths[int(0.9 * (len(widths) - 1))]
    if full < 20:
        return []
    out = []
    for m in _NEWLINES.finditer(text):
        a, b = m.start(), m.end()
        if a == 0 or b >= len(text):
            continue
        line_start = text.rfind("\n", 0, a) + 1
        before = text[line_start:a].strip()
        after_end = text.find("\n", b)
        after = text[b: after_end if after_end >= 0 else len(text)].strip()
        if (before and after and len(before) >= FULL_LINE * full and before[-1] not in _BREAK_OK
                and match_marker(after) is None):
            out.append((a, b))
    return out

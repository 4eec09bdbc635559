"""A grounded viewer for one result: the report's full text with every item highlighted in place.

Offsets index Document.text exactly, so the page is built by cutting the source text at item
boundaries — no re-searching, no tokenising. Each item is checked (text[start:end] == quote)
before it is drawn; anything that does not hold goes to the "not placed" panel with the reason,
never to a guessed position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from markupsafe import Markup, escape

from .atomic import write_text
from .document import sha256_text
from .loaders import LoadError, load
from .models import CATEGORIES, CATEGORY_TAG, Indicator, Item, Report
from .render.common import CATEGORY_NAMES, num, where
from .render.html import CATEGORY_BORDERS, CATEGORY_COLORS, environment, inline_script
from .results import ResultError, read_report
from .view_display import DisplayShape, display_shape


class ViewError(Exception):
    """The viewer cannot be built (unreadable result, source text missing); message says why."""


@dataclass
class Placed:
    n: int
    item: Item
    ref: str = ""  # the item's id within its report ("P3"), as the digest cites it


@dataclass
class Unplaced:
    item: Item
    reason: str


@dataclass
class RowGroup:
    """The items that are cells of one indicator row, listed under the row in the side list."""

    row: Indicator
    members: list[Placed] = field(default_factory=list)


@dataclass
class Layout:
    """What the page shows: items placed at their offsets, and the ones that could not be."""

    placed: list[Placed] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)
    body: Markup = Markup("")
    #: The side list in document order: single items, and indicator rows holding their cell items.
    side: list[Union[Placed, RowGroup]] = field(default_factory=list)


def render_view(
    report: Union[str, Path, Report],
    out: Union[str, Path, None] = None,
    text: Optional[str] = None,
    *,
    source: Union[str, Path, None] = None,
) -> str:
    """HTML for one result (a Report or the path of its JSON); written to `out` when given.

    The source text comes from `text`, else from `source`, else from the file named in the
    result (tried as given, then beside the JSON file) when its sha256 matches. Raises ViewError
    when it cannot be found.
    """
    json_path: Optional[Path] = None
    if isinstance(report, Report):
        rep = report
    else:
        json_path = Path(report)
        try:
            rep = read_report(json_path)
        except ResultError as e:
            raise ViewError(f"{json_path.name}: {e}") from None
    notes: list[str] = []
    if text is None:
        text, sha = _load_source(rep, json_path, source)
    else:
        sha = sha256_text(text)
    if sha != rep.sha256:
        notes.append("The source text differs from the one this result was extracted from (sha256 mismatch); "
                     "items whose quote no longer matches are listed under “not placed”.")
    layout = lay_out(rep, text)
    script, script_hash = inline_script("_view.js.j2")
    html = environment().get_template("view.html.j2").render(
        script=script, script_hash=script_hash, r=rep, layout=layout, notes=notes, counts=_counts(layout), CATEGORIES=CATEGORIES, where=where, num=num,
        CATEGORY_NAMES=CATEGORY_NAMES, CATEGORY_COLORS=CATEGORY_COLORS, CATEGORY_BORDERS=CATEGORY_BORDERS, RowGroup=RowGroup,
        chars=len(text),
    )
    if out is not None:
        write_text(out, html)
    return html


def _load_source(rep: Report, json_path: Optional[Path], source: Union[str, Path, None]) -> tuple[str, str]:
    """The source text: the file given with --source (shown even if it changed, with a note), else
    the file the result names — but only if it is the very file extracted (same sha256): a result
    is data, and must not make the page embed whatever local file it names."""
    if source is not None:
        return _read(rep, Path(source))
    candidates = _candidates(Path(rep.source), json_path)
    changed: list[Path] = []
    for c in candidates:
        if c.is_file():
            text, sha = _read(rep, c)
            if sha == rep.sha256:
                return text, sha
            changed.append(c)
    if changed:
        raise ViewError(
            f"the source of '{rep.doc_id}' ({changed[0]}) is not the file this result was extracted from "
            "(its sha256 differs); pass --source FILE to view the result over that file anyway"
        )
    tried = ", ".join(str(c) for c in candidates)
    raise ViewError(
        f"source file of '{rep.doc_id}' not found (tried: {tried}); pass the file with --source PATH (or text=...)"
    )


def _candidates(src: Path, json_path: Optional[Path]) -> list[Path]:
    """Where the source may be: as recorded; for a relative path (results of older versions, which
    recorded it relative to where `extract` ran), under each folder above the result too (the
    usual `-o out` is a child of that folder); and beside the result."""
    found = [src]
    if json_path is not None:
        if not src.is_absolute():
            found += [d / src for d in json_path.resolve().parent.parents]
        found.append(json_path.parent / src.name)
    return list(dict.fromkeys(found))


def _read(rep: Report, path: Path) -> tuple[str, str]:
    try:
        doc = load(path)
    except LoadError as e:
        raise ViewError(f"cannot read the source of '{rep.doc_id}' ({path}): {e}") from None
    return doc.text, doc.sha256


def lay_out(rep: Report, text: str) -> Layout:
    """Check every item against the text and cut the text into highlighted segments."""
    layout = Layout()
    refs = {id(it): f"{CATEGORY_TAG[c]}{n}" for c in CATEGORIES for n, it in enumerate(rep.items_of(c), 1)}
    for it in rep.items():
        reason = _placement_problem(it, text)
        if reason:
            layout.unplaced.append(Unplaced(it, reason))
        else:
            layout.placed.append(Placed(len(layout.placed), it, refs.get(id(it), "")))
    for it in rep.ungrounded:
        layout.unplaced.append(Unplaced(it, "could not be grounded at extraction" + (
            f" (alignment: {it.alignment})" if it.alignment != "none" else "")))
    layout.body = _segments(text, layout.placed, display_shape(text))
    layout.side = _side_list(layout.placed, rep.indicators)
    return layout


def _side_list(placed: list[Placed], indicators: list[Indicator]) -> list[Union[Placed, RowGroup]]:
    """Items in document order, those inside an indicator row's span (its target and actual cells,
    "≥95%", "98%") gathered under that row, so bare cells read as part of their indicator."""
    rows = sorted((i for i in indicators if i.start is not None and i.end is not None), key=lambda i: i.start)
    side: list[Union[Placed, RowGroup]] = []
    groups: dict[int, RowGroup] = {}
    for p in placed:
        k = next((k for k, r in enumerate(rows) if r.start <= p.item.start < r.end), None)  # type: ignore[operator]
        if k is None:
            side.append(p)
        elif k in groups:
            groups[k].members.append(p)
        else:
            groups[k] = RowGroup(rows[k], [p])
            side.append(groups[k])
    return side


def _placement_problem(it: Item, text: str) -> Optional[str]:
    if it.start is None or it.end is None:
        return "no offsets"
    if not (0 <= it.start < it.end <= len(text)):
        return f"offsets {it.start}–{it.end} outside the text ({len(text)} chars)"
    if text[it.start : it.end] != it.quote:
        return f"text at {it.start}–{it.end} differs from the quote"
    return None


def _segments(text: str, placed: list[Placed], shape: Optional[DisplayShape] = None) -> Markup:
    """Escaped text with <mark> around every covered segment and an anchor where each item starts.

    Overlapping items split into segments; each segment lists all covering items (data-ids) and is
    coloured by the innermost one, so nested and crossing spans both stay exact. `shape` adds the
    display-only grid of Word-export tables and hides PDF hard wraps (view_display.py); segments
    are also cut at its boundaries, so every element nests and every character stays in the page.
    """
    shape = shape or DisplayShape()
    events = _shape_events(shape)
    wraps = dict(shape.wraps)
    cuts = sorted({0, len(text), *(p.item.start for p in placed), *(p.item.end for p in placed), *shape.cuts()})
    starts: dict[int, list[Placed]] = {}
    for p in placed:
        starts.setdefault(p.item.start, []).append(p)
    active: list[Placed] = []
    out: list[str] = []
    table_depth = cell_depth = 0
    wrap_end = -1
    for a, b in zip(cuts, cuts[1:]):
        for _, tag, d_table, d_cell in events.get(a, []):
            out.append(tag)
            table_depth += d_table
            cell_depth += d_cell
        active = [p for p in active if p.item.end > a]
        for p in starts.get(a, []):
            active.append(p)
            out.append(f'<span class="anchor" id="it-{p.n}" data-item="{p.n}"></span>')
            if p.ref:  # the digest links here: <view>.html#item-P3
                out.append(f'<span class="ref" id="item-{p.ref}" data-item="{p.n}"></span>')
        if a in wraps:
            wrap_end = wraps[a]
        chunk = escape(text[a:b])
        hidden = " wrap" if b <= wrap_end else " gap" if table_depth and not cell_depth and not text[a:b].strip() else ""
        if not active:
            out.append(f'<span class="{hidden.strip()}">{chunk}</span>' if hidden else str(chunk))
            continue
        inner = min(active, key=lambda p: p.item.end - p.item.start)
        ids = " ".join(str(p.n) for p in active)
        tip = " | ".join(f"{p.item.category} · {p.item.section or '—'} · {p.item.alignment}" for p in active)
        multi = " multi" if len(active) > 1 else ""
        out.append(f'<mark class="hl cat-{inner.item.category}{multi}{hidden}" data-ids="{ids}" '
                   f'title="{escape(tip)}">{chunk}</mark>')
    for _, tag, _, _ in events.get(len(text), []):
        out.append(tag)
    return Markup("".join(out))


def _shape_events(shape: DisplayShape) -> dict[int, list[tuple[int, str, int, int]]]:
    """Position → [(order, tag, table depth change, cell depth change)] opening and closing the
    table grids: at one position closes come first, except after an empty last cell."""
    ev: dict[int, list[tuple[int, str, int, int]]] = {}

    def add(pos: int, order: int, tag: str, dt: int = 0, dc: int = 0) -> None:
        ev.setdefault(pos, []).append((order, tag, dt, dc))

    for t in shape.tables:
        cols = max(len(r.cells) for r in t.rows)
        add(t.start, 3, f'<div class="tgrid" style="--cols:{cols}">', 1)
        last_empty = False
        for r in t.rows:
            add(r.start, 4, '<div class="trow">')
            for c in r.cells:
                if c.start == c.end:
                    add(c.start, 6, '<span class="tcell"></span>')
                else:
                    add(c.start, 5, '<span class="tcell">', 0, 1)
                    add(c.end, 0, "</span>", 0, -1)
            last_empty = r.cells[-1].start == r.cells[-1].end
            add(r.cells[-1].end, 7 if last_empty else 1, "</div>")
        add(max(t.end, t.rows[-1].cells[-1].end), 8 if last_empty else 2, "</div>", -1)
    for pos in ev:
        ev[pos].sort(key=lambda e: e[0])
    return ev


def _counts(layout: Layout) -> dict[str, int]:
    c = {cat: 0 for cat in CATEGORIES}
    for p in layout.placed:
        c[p.item.category] += 1
    return c

"""What `extract` shows on the terminal: a progress bar and a closing summary that read well from
80 columns up.

At 80 columns the bar keeps the count, the rate and the ETA (the current document's name is what
gives way), and the summary is one line per document, names cut with an ellipsis, then a totals
row and the next command to run. Past `MANY` documents the per-document rows would scroll the
failures away, so only the documents that were not written are listed, with the totals. When the
output is not a terminal (a log, a pipe), rows keep their full width instead of 80 columns.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterable, Optional

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column, Table
from rich.text import Text

from .categories import CATEGORIES, CATEGORY_INFO
from .terminal import printable

#: Above this many documents the summary lists only those not written, plus the totals.
MANY = 50

_STYLE = {"ok": "green", "skipped": "cyan", "partial": "yellow", "failed": "red"}
_LABEL = {"ok": "ok", "skipped": "done", "partial": "partial", "failed": "failed"}


class RateColumn(ProgressColumn):
    """Documents per second (or seconds per document when slower than one a second)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text("–/s", style="progress.data.speed")
        shown = f"{speed:.1f}/s" if speed >= 1 else f"{1 / speed:.0f}s/doc"
        return Text(shown, style="progress.data.speed")


def batch_progress(console: Console, *, disable: bool, threaded: bool = True) -> Progress:
    """The extract bar: fixed-width parts first, the document name last and the first to shrink.

    `threaded=False` draws it without Rich's refresh thread (call `refresh_now` as work finishes):
    helper processes are forked only while this process has no other thread (workers.py)."""
    return Progress(
        TextColumn("[bold]extract"),
        BarColumn(bar_width=16),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[doc]}", markup=False,
                   table_column=Column(no_wrap=True, overflow="ellipsis", min_width=0, ratio=1)),
        console=console, transient=True, disable=disable, expand=True, auto_refresh=threaded,
    )


class Throttled:
    """Redraw a thread-less bar at most `per_second` times a second (documents can finish at
    hundreds a second; the terminal need not show each)."""

    def __init__(self, progress: Progress, per_second: float = 10.0):
        self.progress, self.gap, self.last = progress, 1.0 / per_second, 0.0

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self.last >= self.gap:
            self.last = now
            self.progress.refresh()


def summary_table(outcomes: list, out_dir: Path, *, width: Optional[int], console: Console) -> Table:
    """One row per document (or per unwritten document past MANY), then a totals row.

    `width` is the terminal's width, or None when the output is not a terminal (rows keep their
    full width). Only the two name columns give way, cut with an ellipsis: counts never do."""
    t = _table(outcomes, out_dir)
    if width is not None:
        natural = console.measure(t, options=console.options.update_width(10_000)).maximum
        excess = natural - width
        if excess > 0:
            doc_col, unit_col = t.columns[0], t.columns[1]
            doc_w, unit_w = (_natural(c) for c in (doc_col, unit_col))
            names = max(doc_w + unit_w - excess, 10)  # room left for both names
            unit_fit = min(unit_w, max(names // 2, names - doc_w))  # half each, unless one needs less
            doc_col.max_width, unit_col.max_width = max(names - unit_fit, 6), max(unit_fit, 4)
    return t


def _natural(column: Column) -> int:
    from rich.cells import cell_len

    cells = [column.header, column.footer, *column.cells]
    return max(cell_len(c.plain if isinstance(c, Text) else str(c)) for c in cells)


def _table(outcomes: list, out_dir: Path) -> Table:
    rows = outcomes if len(outcomes) <= MANY else [o for o in outcomes if o.status in ("failed", "partial")]
    t = Table(title=Text(printable(f"llm-extract → {out_dir}")), title_justify="left", box=box.SIMPLE_HEAD,
              show_footer=True, pad_edge=False, collapse_padding=True)
    written = [o for o in outcomes if o.status in ("ok", "skipped")]
    totals = {c: sum(o.counts.get(c, 0) for o in written) for c in CATEGORIES}
    t.add_column("doc", footer=f"{len(written)} of {len(outcomes)}", no_wrap=True, overflow="ellipsis")
    t.add_column("unit", no_wrap=True, overflow="ellipsis")
    t.add_column("year", justify="right", no_wrap=True)
    for c in CATEGORY_INFO:
        t.add_column(c.short, justify="right", no_wrap=True, footer=str(totals[c.id]))
    t.add_column("ind.", justify="right", no_wrap=True, footer=str(sum(o.indicators for o in written)))
    t.add_column("status", no_wrap=True)
    for o in rows:
        ok = o.status in ("ok", "skipped")
        t.add_row(
            Text(printable(o.doc_id)), Text(printable(o.unit or "")), str(o.year or ""),
            *[str(o.counts.get(c, "")) if ok else "" for c in CATEGORIES],
            str(o.indicators) if ok else "",
            Text(_LABEL[o.status], style=_STYLE[o.status]),
        )
    return t


def status_line(outcomes: Iterable) -> str:
    """'9 extracted, 2 already done, 1 partial, 0 failed': the batch in one line under the table."""
    n = {s: 0 for s in _STYLE}
    for o in outcomes:
        n[o.status] += 1
    return f"{n['ok']} extracted, {n['skipped']} already done, {n['partial']} partial, {n['failed']} failed"


def next_step(out_dir: Path, outcomes: list) -> Optional[str]:
    """The command that makes sense after a batch with results: a digest, then one report's view."""
    written = [o for o in outcomes if o.status in ("ok", "skipped")]
    if not written:
        return None
    d = Path(out_dir)
    first = d / f"{written[0].doc_id}.json"
    return (f"next: llm-extract digest {printable(d)} -o {printable(d / 'digest.html')}   "
            f"or   llm-extract view {printable(first)}")


def print_summary(console: Console, outcomes: list, out_dir: Path) -> None:
    """The closing summary: the table (sized to the terminal, or full width in a log) and a hint."""
    terminal = console.is_terminal
    table = summary_table(outcomes, out_dir, width=console.width if terminal else None, console=console)
    if len(outcomes) > MANY:
        shown = sum(o.status in ("failed", "partial") for o in outcomes)
        table.caption = (f"{len(outcomes)} documents; the {shown} not written are listed" if shown
                         else f"{len(outcomes)} documents, all written")
    if not terminal:  # a log or a pipe: full rows, not the 80 columns Rich assumes without a terminal
        natural = console.measure(table, options=console.options.update_width(10_000)).maximum
        console = Console(file=console.file, width=max(natural, 40), color_system=None, soft_wrap=False)
    console.print(table)
    console.print(Text(status_line(outcomes)), soft_wrap=True)
    hint = next_step(out_dir, outcomes)
    if hint:
        console.print(Text(hint, style="dim"), soft_wrap=True)

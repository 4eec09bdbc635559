"""A batch on every core: CPU-bound backends (rules) extract documents in several processes.

This process extracts documents itself and `workers - 1` helper processes do the same, so no
core waits for the helpers to start. Helpers are forked where that is safe, else spawned (see
`_context`), and each builds its backend once, by registry name.
Every document goes through the batch's own `batch._one`, so everything the one-process batch
guarantees still holds: atomic writes, resume, per-file failures with reasons.

This process talks to each helper over one pipe, with no threads of its own: a thread here would
take the interpreter lock whenever this process waits on a system call, and on a busy machine
that costs more than the helpers bring. At most `HELD` paths wait for each helper, so a batch of
100k files keeps a few dozen in flight. Helpers ignore SIGINT: on Ctrl-C this process stops
handing out work, lets the helpers finish the documents they hold (milliseconds each with rules;
a helper still busy after `GRACE` seconds is stopped, and its temporary file removed), reports
those as done, and re-raises KeyboardInterrupt.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from multiprocessing.connection import wait
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:  # imported when used: the CLI imports this module for every command
    from .backends.base import Backend
    from .batch import Outcome

#: Seconds a helper may take, after Ctrl-C, to finish the documents it holds.
GRACE = 0.6

_backend: Optional[Backend] = None  # this helper's backend, built once by _start
_loop: Optional[asyncio.AbstractEventLoop] = None


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _start(backend_name: str) -> None:
    """Helper initialiser: Ctrl-C is the parent's to handle; SIGTERM (the parent giving up on a
    straggler) unwinds, so an atomic write in progress removes its temporary file."""
    global _backend, _loop
    _loop = None  # a forked helper must not share the parent's event loop (its selector is the parent's)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from .backends import get_backend

    _backend = get_backend(backend_name)


def _extract(backend: Backend, path: Path, out_dir: Path, force: bool, keep_ungrounded: bool,
             debug: bool) -> Outcome:
    """One document through the batch's own per-document path (a CPU-bound backend never
    suspends, so one event loop per process serves every document)."""
    from .batch import _one

    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
    oc = _loop.run_until_complete(_one(path, out_dir, backend, force=force, keep_ungrounded=keep_ungrounded,
                                       debug=debug))
    redact = getattr(backend, "redact", None)
    if oc.error and redact is not None:
        oc.error = redact(oc.error)
    return oc


def _helper_extract(path: str, out_dir: str, force: bool, keep_ungrounded: bool, debug: bool) -> Outcome:
    assert _backend is not None, "helper started without _start"
    return _extract(_backend, Path(path), Path(out_dir), force, keep_ungrounded, debug)


def _context():
    """Fork where it is safe, else spawn. A forked helper starts in milliseconds with everything
    this process has imported (a spawned one spends ~0.5 s of CPU importing it again, a tenth of a
    1,000-report batch); fork is only safe while this process has no other thread (a thread's
    locks would be copied held), which `extract` ensures by drawing its progress bar from this
    thread when helpers run. Forkserver would make the first helper wait for the server's imports."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _serve(conn, backend_name: str, stop) -> None:
    """A helper: build the backend, then extract each (path, out_dir, flags) received until None;
    once `stop` is set (Ctrl-C), answer None for the documents still queued instead."""
    try:
        _start(backend_name)
    except Exception:  # the parent sees the pipe close before any result and does the work itself
        return
    try:
        while (task := conn.recv()) is not None:
            conn.send(None if stop.is_set() else _helper_extract(*task))
    except (EOFError, BrokenPipeError):  # the parent is gone: nobody to answer
        pass


@contextlib.contextmanager
def _main_script_hidden():
    """Spawn re-runs the parent's main script in the child (as __mp_main__) so that functions
    defined there can be found; the `llm-extract` entry script would import the whole CLI (typer,
    rich, every command) into each helper for nothing, since a helper needs only llm_extract
    modules. Hide the script's path while the helper is started."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or getattr(getattr(main, "__spec__", None), "name", None):
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


#: Most documents handed to one helper at a time: enough that it never waits for this process to
#: come back from a document of its own (or from being descheduled on a busy machine), few enough
#: that at the end of a batch no process is left waiting for another's queue.
HELD = 16


class _Helper:
    """One helper process, its pipe, and the documents it holds (it answers them in order)."""

    def __init__(self, ctx, backend_name: str, stop) -> None:
        self.conn, theirs = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(theirs, backend_name, stop), daemon=True)
        # a spawned interpreter that inherits SIGINT ignored keeps it ignored from its first
        # instruction: Ctrl-C while it is still importing prints no traceback
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            with _main_script_hidden():
                self.proc.start()
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
        theirs.close()
        self.held: deque[Path] = deque()
        self.finished = 0

    def stop(self, timeout: float) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.proc.join(timeout)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(1)
        self.conn.close()


def run_parallel(
    files: list[Path],
    out_dir: Path,
    backend: Backend,
    backend_name: str,
    workers: int,
    *,
    force: bool = False,
    keep_ungrounded: bool = False,
    on_done: Callable[[Outcome], None] | None = None,
    debug: bool = False,
    mp_context=None,
) -> list[Outcome]:
    """Extract `files` with this process and `workers - 1` helpers; outcomes in input order.

    `backend` is this process's own instance; helpers build theirs from `backend_name`."""
    from .batch import NOT_ATTEMPTED, Outcome, note_fatal

    ctx = mp_context or _context()
    stop = ctx.Event()
    order = {str(f): i for i, f in enumerate(files)}
    outcomes: list[Outcome] = []
    todo = iter(files)
    fatal: list[str] = []
    redo: list[Path] = []  # documents a helper took but never started (it died, or never came up)
    args = (str(out_dir), force, keep_ungrounded, debug)

    def finish(oc: Outcome) -> None:
        note_fatal(oc, fatal)
        outcomes.append(oc)
        if on_done:
            on_done(oc)

    def next_file() -> Optional[Path]:
        if redo:
            return redo.pop()
        for path in todo:
            if not fatal:
                return path
            finish(Outcome(str(path), path.stem, "failed", f"{NOT_ATTEMPTED}{fatal[0]}"))
        return None

    frozen = ctx.get_start_method() == "fork"
    if frozen:
        # what this process has built so far moves out of the collector's reach while helpers
        # run, so neither side's collections write to (and copy) the pages the two share
        gc.freeze()
    helpers = [_Helper(ctx, backend_name, stop) for _ in range(max(1, workers - 1))]

    def lost(h: _Helper) -> None:
        """A helper is gone: the document it was on failed (it may be what killed it), the others
        are redone; one that never finished a document means helpers cannot start here, so this
        process carries on alone."""
        helpers.remove(h)
        h.stop(0)
        if h.finished and h.held:
            path = h.held.popleft()
            finish(Outcome(str(path), path.stem, "failed",
                           "the helper process extracting it stopped unexpectedly (out of memory?)"))
        if h.finished:
            helpers.append(_Helper(ctx, backend_name, stop))
        redo.extend(h.held)

    def collect(timeout: Optional[float]) -> None:
        """Take every answer ready within `timeout` (None: wait for one)."""
        by_conn = {h.conn: h for h in helpers if h.held}
        for conn in wait(list(by_conn), timeout):
            h = by_conn[conn]
            try:
                oc = conn.recv()
            except (EOFError, OSError):
                lost(h)
                continue
            h.held.popleft()
            if oc is None:  # not extracted: the batch is stopping
                continue
            h.finished += 1
            finish(oc)

    def feed(h: _Helper) -> None:
        # near the end of the batch hand out fewer, so the last documents spread over every process
        left = len(files) - len(outcomes) - sum(len(x.held) for x in helpers)
        cap = max(1, min(HELD, left // (2 * (len(helpers) + 1))))
        while len(h.held) < cap and (path := next_file()) is not None:
            h.held.append(path)
            try:
                h.conn.send((str(path), *args))
            except OSError:
                h.held.pop()
                redo.append(path)
                lost(h)
                return

    # Ctrl-C is taken between documents (a flag, not an exception in the middle of one), so a
    # document this process has written is always counted
    interrupted: list[bool] = []
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, lambda *_: interrupted.append(True)) if in_main else None
    try:
        while True:
            if interrupted:
                raise KeyboardInterrupt
            for h in list(helpers):  # keep each helper fed, never more than HELD documents
                feed(h)
            collect(0)
            path = next_file()
            if path is not None:  # this process takes a document too
                finish(_extract(backend, path, out_dir, force, keep_ungrounded, debug))
            elif any(h.held for h in helpers):
                collect(0.1)
            elif not redo:
                break
    except KeyboardInterrupt:
        stop.set()  # helpers finish the document they are on and skip the rest they hold
        collect(0)  # answers already sent are documents already written
        starting = [h for h in helpers if not h.finished and ctx.get_start_method() != "fork"]
        for h in starting:  # a spawned helper still importing: nothing to wait for
            helpers.remove(h)
            h.stop(0)
        deadline = time.monotonic() + GRACE
        while any(h.held for h in helpers) and time.monotonic() < deadline:
            collect(max(0.0, deadline - time.monotonic()))
        for h in helpers:
            h.stop(0 if h.held else GRACE)
        helpers.clear()
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        for h in helpers:
            h.stop(GRACE)
        if frozen:  # a caller of the Python API gets these objects back into the collector's reach
            gc.unfreeze()
    outcomes.sort(key=lambda o: order.get(o.path, 0))
    return outcomes

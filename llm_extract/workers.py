"""A batch on every core: CPU-bound backends (rules) extract documents in several processes.

This process extracts documents itself and `workers - 1` helper processes do the same, each
taking the next file when it is free, so no core waits for the helpers to start. Helpers are
started with forkserver (spawn where there is none): nothing is inherited but what the helper
imports, so the design also holds under spawn. Each helper builds its backend once, by registry
name. Everything the one-process batch guarantees still holds, because every document goes
through the same `batch._one`: atomic writes, resume, per-file failures with reasons.

Only a bounded number of documents is handed to the helpers at a time (twice their number), so a
batch of 100k files keeps a few paths in flight, not 100k futures. Helpers ignore SIGINT: on
Ctrl-C this process stops handing out work, lets the documents the helpers already hold finish
(a rules document takes milliseconds; stragglers are stopped after `GRACE` seconds, and their
temporary files removed), reports them as done, and re-raises KeyboardInterrupt.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable, Optional

from .backends.base import Backend
from .batch import NOT_ATTEMPTED, Outcome, _one

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
    global _backend
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from .backends import get_backend

    _backend = get_backend(backend_name)


def _extract(backend: Backend, path: Path, out_dir: Path, force: bool, keep_ungrounded: bool,
             debug: bool) -> Outcome:
    """One document through the batch's own per-document path (a CPU-bound backend never
    suspends, so one event loop per process serves every document)."""
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
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__, "llm_extract.backends.rules"])  # imported once, not per helper
        return ctx
    return multiprocessing.get_context("spawn")


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
    helpers = max(1, workers - 1)
    ctx = mp_context or _context()
    order = {str(f): i for i, f in enumerate(files)}
    outcomes: list[Outcome] = []
    todo = iter(files)
    pending: dict[Future, Path] = {}
    fatal: list[str] = []
    args = (str(out_dir), force, keep_ungrounded, debug)

    def finish(oc: Outcome) -> None:
        if oc.status == "failed" and oc.fatal:
            if fatal:
                oc.error = f"{NOT_ATTEMPTED}{fatal[0]}"
            else:
                fatal.append(oc.error or "endpoint error")
        outcomes.append(oc)
        if on_done:
            on_done(oc)

    helped = [0]  # documents the helpers finished (none: a broken pool means they cannot start)
    broken = [False]
    redo: list[Path] = []  # documents a broken pool never started, extracted again

    def collect(done) -> None:
        for fut in done:
            path = pending.pop(fut)
            try:
                oc = fut.result()
                helped[0] += 1
            except BrokenProcessPool:
                broken[0] = True
                if not helped[0]:  # the helpers never started: not this document's fault
                    redo.append(path)
                    continue
                oc = Outcome(str(path), path.stem, "failed",
                             "the helper process extracting it stopped unexpectedly (out of memory?)")
            except Exception as e:  # e.g. an outcome that cannot be sent back
                oc = Outcome(str(path), path.stem, "failed", f"internal error ({type(e).__name__}: {e})")
            finish(oc)

    def next_file() -> Optional[Path]:
        if redo:
            return redo.pop()
        for path in todo:
            if not fatal:
                return path
            finish(Outcome(str(path), path.stem, "failed", f"{NOT_ATTEMPTED}{fatal[0]}"))
        return None

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(helpers, mp_context=ctx, initializer=_start, initargs=(backend_name,))

    pool: Optional[ProcessPoolExecutor] = new_pool()
    try:
        while True:
            while pool is not None and not broken[0] and len(pending) < 2 * helpers:  # fed, never more
                path = next_file()
                if path is None:
                    break
                try:
                    pending[pool.submit(_helper_extract, str(path), *args)] = path
                except BrokenProcessPool:
                    broken[0] = True
                    redo.append(path)
            collect(wait(pending, timeout=0, return_when=FIRST_COMPLETED).done if pending else ())
            if pool is not None and broken[0] and not pending:
                pool.shutdown(wait=False, cancel_futures=True)
                # helpers that never started will not start now: this process does the rest alone
                pool, broken[0] = (new_pool() if helped[0] else None), False
            path = next_file()
            if path is not None:  # this process takes a document too
                finish(_extract(backend, path, out_dir, force, keep_ungrounded, debug))
            elif pending:
                collect(wait(pending, return_when=FIRST_COMPLETED).done)
            elif not redo:
                break
    except KeyboardInterrupt:
        if pool is not None:
            _drain(pool, pending, collect)
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    outcomes.sort(key=lambda o: order.get(o.path, 0))
    return outcomes


def _drain(pool: ProcessPoolExecutor, pending: dict[Future, Path], collect) -> None:
    """After Ctrl-C: documents not started are dropped; those a helper holds finish (and count as
    done) within GRACE seconds, else their helper is stopped."""
    for fut in list(pending):
        if fut.cancel():
            pending.pop(fut)
    deadline = time.monotonic() + GRACE
    while pending and time.monotonic() < deadline:
        done, _ = wait(pending, timeout=max(0.0, deadline - time.monotonic()), return_when=FIRST_COMPLETED)
        collect(done)
    if pending:
        for proc in list(getattr(pool, "_processes", {}).values()):  # no public way before 3.14
            if proc.is_alive():
                proc.terminate()
        pending.clear()
    pool.shutdown(wait=True, cancel_futures=True)

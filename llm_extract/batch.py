"""Many files → many reports: discovery, resume, atomic writes, per-file failures that lose nothing.

Results stream to disk as each document finishes; only a small outcome record per document stays
in memory, so a batch of thousands runs in bounded memory.
"""

from __future__ import annotations

import asyncio
import json
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

from . import atomic
from .backends.base import Backend, BackendError, PartialExtraction, SyncBackend
from .document import file_sha256
from .loaders import PASSED_OVER, SUFFIXES, LoadError, load
from .models import Report
from .pipeline import aextract_document


@dataclass
class Outcome:
    """What happened to one input file (kept small: the report itself is already on disk)."""

    path: str
    doc_id: str
    status: str  # "ok" | "skipped" | "partial" (some model calls failed: not written) | "failed"
    error: Optional[str] = None
    unit: Optional[str] = None
    year: Optional[int] = None
    counts: dict[str, int] = field(default_factory=dict)
    indicators: int = 0
    seconds: float = 0.0
    ungrounded: int = 0
    fatal: bool = False  # the failure will repeat for every document (endpoint unreachable, 401)


#: Error prefix for documents stopped or skipped by an endpoint error that fails them all (the
#: first document it failed carries the error itself, so it is reported once).
NOT_ATTEMPTED = "not attempted or stopped after endpoint error: "


def discover(paths: Iterable[str | Path], *,
             passed_over: Optional[Counter] = None) -> tuple[list[Path], list[Outcome]]:
    """Files named directly, plus supported files found recursively in folders (hidden ones skipped).
    `passed_over` counts, by suffix, the files of formats users save reports in that folders held
    but that are not read (.doc, .wps, .xls...), so the caller can say so."""
    files: list[Path] = []
    problems: list[Outcome] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = []
            for f in p.rglob("*"):
                if (any(part.startswith(".") for part in f.relative_to(p).parts)
                        or f.name.startswith("~$") or not f.is_file()):  # hidden, Word lock files
                    continue
                suffix = f.suffix.lower()
                if suffix in SUFFIXES:
                    found.append(f)
                elif passed_over is not None and suffix in PASSED_OVER:
                    passed_over[suffix] += 1
            files.extend(sorted(found))
        elif p.is_file():
            files.append(p)
        elif p.exists():  # a FIFO or device: reading it could wait forever
            problems.append(Outcome(str(p), p.stem, "failed", "not a regular file (a FIFO, socket or device)"))
        else:
            problems.append(Outcome(str(p), p.stem, "failed", "file not found"))
    seen: dict[str, Path] = {}
    unique: list[Path] = []
    for f in files:
        if f.stem in seen:
            if seen[f.stem].resolve() != f.resolve():
                problems.append(
                    Outcome(str(f), f.stem, "failed",
                            f"same document id '{f.stem}' as {seen[f.stem]} (outputs are named by file stem; rename one)")
                )
            continue
        seen[f.stem] = f
        unique.append(f)
    return unique, problems


def note_fatal(oc: "Outcome", fatal: list[str]) -> None:
    """An endpoint error that fails every document is reported by the first document that meets
    it (kept in `fatal`); later ones say they were stopped by it."""
    if oc.status == "failed" and oc.fatal:
        if fatal:
            oc.error = f"{NOT_ATTEMPTED}{fatal[0]}"
        else:
            fatal.append(oc.error or "endpoint error")


def backend_signature(backend: Backend) -> tuple:
    return (backend.name, getattr(backend, "model", None), getattr(backend, "prompt_version", None))


def read_result(out_path: Path) -> Optional[dict]:
    """An existing result file as JSON, or None when there is none or it is unreadable."""
    try:
        data = json.loads(out_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def already_done(out_path: Path, sha256: str, backend: Backend) -> Optional[dict]:
    """The existing result when it was made from the same file bytes by the same backend setup."""
    return _same_run(read_result(out_path), sha256, backend)


def _same_run(data: Optional[dict], sha256: str, backend: Backend) -> Optional[dict]:
    if data is None or data.get("sha256") != sha256:
        return None
    if (data.get("backend"), data.get("model"), data.get("prompt_version")) != backend_signature(backend):
        return None
    return data


def result_of_another_file(data: dict, out_path: Path, path: Path, sha256: str) -> Optional[str]:
    """Why `out_path`, holding the result `data`, must not be replaced by the result of `path`, or
    None: it is the result of another file with the same stem (from an earlier run on another
    folder), which still exists. (A result whose source is gone, or is this very file, is replaced
    as usual.)"""
    if data.get("sha256") == sha256 or not isinstance(data.get("source"), str):
        return None
    owner = Path(data["source"])
    try:
        if not owner.is_file() or owner.samefile(path):
            return None
    except OSError:
        return None
    return (f"{out_path} already holds the result of another file with the same name, {owner} "
            "(results are named by file stem); rename one of them or write to another --out folder")


def _summary(report: Report | dict) -> dict:
    r = report if isinstance(report, Report) else Report.model_validate(report)
    return dict(
        unit=r.meta.unit_name,
        year=r.meta.year,
        counts=r.counts(),
        indicators=len(r.indicators),
        ungrounded=r.stats.ungrounded_dropped,
    )


async def arun_batch(
    files: list[Path],
    out_dir: Path,
    backend: Backend,
    *,
    force: bool = False,
    keep_ungrounded: bool = False,
    docs_in_flight: Optional[int] = None,
    on_done: Callable[[Outcome], None] | None = None,
    debug: bool = False,
) -> list[Outcome]:
    """Extract every file into out_dir/<doc_id>.json; never raises for a single bad file.

    `docs_in_flight` workers take the files one after another, so a batch of any size keeps only
    that many documents (and coroutines) alive at once. By default the backend says how many it
    needs to keep its requests busy (`docs_in_flight` attribute), else 4."""
    if docs_in_flight is None:
        docs_in_flight = int(getattr(backend, "docs_in_flight", 4))
    outcomes: list[Outcome] = []
    fatal: list[str] = []  # an endpoint error that will fail every document (unreachable, 401)
    todo = iter(files)
    # every error text passes the backend's secret filter, debug tracebacks included
    redact: Callable[[str], str] = getattr(backend, "redact", None) or (lambda m: m)

    async def worker() -> None:
        for path in todo:  # shared: each worker takes the next file when it is free
            if fatal:
                oc = Outcome(str(path), path.stem, "failed", f"{NOT_ATTEMPTED}{fatal[0]}")
            else:
                oc = await _one(path, out_dir, backend, force=force, keep_ungrounded=keep_ungrounded, debug=debug)
                if oc.error:
                    oc.error = redact(oc.error)
                note_fatal(oc, fatal)
            outcomes.append(oc)
            if on_done:
                on_done(oc)
            # a CPU-only backend never awaits anything: yield here so that Ctrl-C (which cancels the
            # batch task) takes effect between documents instead of after the whole batch
            await asyncio.sleep(0)

    await asyncio.gather(*(worker() for _ in range(max(1, min(docs_in_flight, len(files))))))
    order = {str(f): i for i, f in enumerate(files)}
    outcomes.sort(key=lambda o: order.get(o.path, 0))
    return outcomes


async def _one(path: Path, out_dir: Path, backend: Backend, *, force: bool, keep_ungrounded: bool, debug: bool) -> Outcome:
    doc_id = path.stem
    out_path = out_dir / f"{doc_id}.json"
    # CPU-only backends gain nothing from thread hops; LLM backends keep file I/O off the loop.
    inline = isinstance(backend, SyncBackend)

    async def io(fn, *a):
        return fn(*a) if inline else await asyncio.to_thread(fn, *a)

    try:
        existing = await io(read_result, out_path) if out_path.exists() else None
        if existing is not None:
            digest = await io(file_sha256, path)
            clash = await io(result_of_another_file, existing, out_path, path, digest)
            if clash is not None:
                return Outcome(str(path), doc_id, "failed", clash)
            done = None if force else _same_run(existing, digest, backend)
            if done is not None:
                return Outcome(str(path), doc_id, "skipped", **_summary(done))
        doc = await io(load, path)
        report = await aextract_document(doc, backend, keep_ungrounded=keep_ungrounded)
        await io(atomic.write_bytes, out_path, report.to_json_bytes())  # temp file + rename: never half a file
        return Outcome(str(path), doc_id, "ok", seconds=report.stats.seconds, **_summary(report))
    except LoadError as e:
        return Outcome(str(path), doc_id, "failed", str(e))
    except PartialExtraction as e:  # not written: a rerun must redo it, not skip it as done
        return Outcome(str(path), doc_id, "partial", str(e))
    except BackendError as e:
        return Outcome(str(path), doc_id, "failed", str(e), fatal=bool(getattr(e, "fatal", False)))
    except OSError as e:
        return Outcome(str(path), doc_id, "failed", f"cannot write output: {e.strerror or e}")
    except Exception as e:  # an internal bug must not sink the other documents
        msg = f"internal error ({type(e).__name__}: {e})"
        if debug:
            msg += "\n" + traceback.format_exc()
        return Outcome(str(path), doc_id, "failed", msg)


def run_batch(files: list[Path], out_dir: Path, backend: Backend, **kw) -> list[Outcome]:
    async def main() -> list[Outcome]:
        try:
            return await arun_batch(files, out_dir, backend, **kw)
        finally:
            close = getattr(backend, "aclose", None)
            if close is not None:
                await close()

    return asyncio.run(main())

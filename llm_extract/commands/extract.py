"""`llm-extract extract PATH...`: every report into OUT/<doc_id>.json, resumable, one line per failure.

Exit codes: 0 everything succeeded, 1 some inputs failed or are partial (the rest were still written),
2 usage error, 130 interrupted (finished documents are kept).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from ..progress import Throttled, batch_progress, print_summary
from ..terminal import lit, printable
from ..workers import cpu_count, run_parallel  # light: it imports the pipeline when it runs
from .batch import BATCH_HELP, POLL_HELP
from .options import ANSWER_FORMAT_HELP, MAX_CHUNK_TOKENS_HELP, PASSES_HELP, PATHS_HELP, PROMPT_VERSION_HELP, ROUTE_HELP

err = Console(stderr=True, soft_wrap=True)
out = Console()


def fail(msg: str, code: int = 2) -> None:
    """Print `msg` (plain text, shown literally) as an error and exit with `code`."""
    err.print(f"[red]error:[/red] {lit(msg, multiline=True)}", highlight=False)
    raise typer.Exit(code)


def _backend_help() -> str:
    from ..backends import REGISTRY

    names = ", ".join(f"{name} ({entry.help})" for name, entry in REGISTRY.items())
    return f"{names}, or auto: openai when an API key or base URL is configured, else rules."


def extract_command(
    paths: list[Path] = typer.Argument(..., help=PATHS_HELP),
    out_dir: Path = typer.Option(Path("out"), "-o", "--out", help="Folder for the results, one <doc_id>.json per report."),
    backend: str = typer.Option(
        "auto", "-b", "--backend",
        help=_backend_help(),
    ),
    force: bool = typer.Option(False, "--force", help="Re-extract documents whose result already exists for the same file and backend."),
    keep_ungrounded: bool = typer.Option(False, "--keep-ungrounded", help="Keep model items whose quote is not in the source (with null offsets, in 'ungrounded') instead of dropping them."),
    model: Optional[str] = typer.Option(None, "--model", help="Model name (env LLM_EXTRACT_MODEL)."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible base URL (env OPENAI_BASE_URL)."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML settings file for the LLM backend."),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", help="LLM requests in flight across the batch."),
    rps: Optional[float] = typer.Option(None, "--rps", help="LLM requests per second ceiling."),
    method: Optional[str] = typer.Option(None, "--method", help="Structured output: json_schema, function_calling, json_mode (default: chosen from the endpoint)."),
    passes: Optional[int] = typer.Option(None, "--passes", help=PASSES_HELP),
    route: Optional[str] = typer.Option(None, "--route", help=ROUTE_HELP),
    prompt_version: Optional[str] = typer.Option(None, "--prompt-version", help=PROMPT_VERSION_HELP),
    answer_format: Optional[str] = typer.Option(None, "--answer-format", help=ANSWER_FORMAT_HELP),
    max_chunk_tokens: Optional[int] = typer.Option(None, "--max-chunk-tokens", help=MAX_CHUNK_TOKENS_HELP),
    temperature: Optional[float] = typer.Option(None, "--temperature", help="Sampling temperature (default 0)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Seconds per LLM request."),
    max_retries: Optional[int] = typer.Option(None, "--max-retries", help="Retries per call on 429/5xx/timeouts."),
    cache: Optional[Path] = typer.Option(None, "--cache", help="SQLite response cache file (default: user cache dir)."),
    no_cache: Optional[bool] = typer.Option(None, "--no-cache", help="Do not read or write the response cache."),
    batch: bool = typer.Option(False, "--batch", help=BATCH_HELP),
    batch_poll: float = typer.Option(60.0, "--batch-poll", min=0.0, help=POLL_HELP),
    workers: Optional[int] = typer.Option(
        None, "-j", "--workers", min=1,
        help="Processes extracting documents at once with a CPU-bound backend (rules): this one and N-1 "
             "helpers. Default: the CPUs this process may use (fewer for a batch of a few dozen files). "
             "LLM backends ignore it: they keep one process and overlap their requests (see --concurrency).",
    ),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress bar or summary table; failures are still reported."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for internal errors."),
) -> None:
    """Extract every report into OUT/<doc_id>.json (the JSON contract; see `llm-extract schema`).

    Documents already extracted from the same file bytes with the same backend/model/prompt are skipped,
    so an interrupted batch resumes where it stopped. One unreadable file never stops the others.
    """
    from ..backends import AUTO, BACKENDS, get_backend, resolve_auto, settings_for
    from ..backends.base import SyncBackend

    if backend not in BACKENDS:
        fail(f"unknown backend '{backend}' (choose from: {', '.join(BACKENDS)})")
    if out_dir.exists() and not out_dir.is_dir():
        fail(f"output path {out_dir} exists and is not a folder")
    flags = dict(
        model=model, base_url=base_url, concurrency=concurrency, rps=rps, method=method, passes=passes,
        route=route, prompt_version=prompt_version, answer_format=answer_format, cache_path=cache, no_cache=no_cache,
        max_chunk_tokens=max_chunk_tokens, temperature=temperature, timeout=timeout, max_retries=max_retries,
    )
    try:
        settings = settings_for(backend, flags, config)
        chosen = backend
        if backend == AUTO:
            chosen = resolve_auto(settings)
            if chosen == "openai":
                err.print("[cyan]note:[/cyan] an LLM endpoint is configured: using the openai backend "
                          "(pass --backend rules for the offline extractor)")
        if batch and chosen != "openai":
            fail("--batch needs a model endpoint (the openai backend): set OPENAI_API_KEY or pass --base-url")
        be = None if batch else get_backend(chosen, settings)
    except typer.Exit:
        raise
    except Exception as e:  # settings errors are user errors: one line, no traceback
        fail(str(e))

    from ..batch import NOT_ATTEMPTED, discover, run_batch
    from ..loaders import passed_over_notes

    passed_over: Counter = Counter()
    files, problems = discover(paths, passed_over=passed_over)
    for note in passed_over_notes(passed_over):
        err.print(f"note: {note}", markup=False, highlight=False)
    if not files and problems:
        for p in problems:
            _say(err, p)
        fail("no readable input files", 2)
    if not files:
        fail("no report files found (supported: .txt .md .docx .pdf)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        fail(f"cannot create output folder {out_dir}: {e.strerror or e}")

    batch_run = None
    if batch:
        from .batch import batch_backend

        be, batch_run = batch_backend(settings, files, out_dir, force=force, poll=batch_poll, quiet=quiet, fail=fail)
    processes = 1
    if isinstance(be, SyncBackend):  # CPU-bound: one process per core helps; LLM calls overlap in one
        processes = min(workers or _default_workers(len(files)), len(files))
    elif workers is not None and workers > 1:
        err.print(f"[cyan]note:[/cyan] --workers applies to CPU-bound backends; the {chosen} backend overlaps its "
                  "requests in one process (see --concurrency)", highlight=False)
    show = not quiet and len(files) > 1
    progress = batch_progress(err, disable=not show, threaded=processes == 1)
    redraw = Throttled(progress) if processes > 1 else (lambda: None)
    skipped_after_fatal: list[str] = []
    finished = [0]  # documents written or already done, for the Ctrl-C message

    def done(oc) -> None:
        progress.update(task, advance=1, doc=printable(oc.doc_id))
        redraw()
        finished[0] += oc.status in ("ok", "skipped")
        if oc.status == "failed" and (oc.error or "").startswith(NOT_ATTEMPTED):
            skipped_after_fatal.append(oc.path)  # said once below, not once per document
        elif oc.status in ("failed", "partial"):
            _say(progress.console, oc)

    try:
        with progress:
            task = progress.add_task("extract", total=len(files), doc="")
            kw = dict(force=force, keep_ungrounded=keep_ungrounded, on_done=done, debug=debug)
            if processes > 1:
                outcomes = run_parallel(files, out_dir, be, chosen, processes, **kw)
            else:
                outcomes = run_batch(files, out_dir, be, **kw)
    except KeyboardInterrupt:  # the batch stopped between documents: what finished is on disk
        err.print(f"[yellow]interrupted[/yellow]: {finished[0]} of {len(files)} document(s) are done in "
                  f"{lit(out_dir)}; run the same command again to do the rest", highlight=False)
        raise typer.Exit(130) from None
    if batch_run is not None:
        from .batch import finish_batch

        finish_batch(be, batch_run)
    if skipped_after_fatal:
        err.print(f"[red]stopped:[/red] {len(skipped_after_fatal)} more document(s) not attempted (or stopped) after "
                  "the endpoint error above; fix it and rerun (finished documents are kept)", highlight=False)
    for p in problems:
        _say(err, p)
    outcomes = problems + outcomes
    if not quiet:
        print_summary(out, outcomes, out_dir)
    verdict = _verdict(outcomes, out_dir)
    if verdict:
        err.print(verdict, highlight=False)
        raise typer.Exit(1)


#: Documents per process below which starting helper processes costs more than it saves (a helper
#: takes about as long to start, a third of a second, as this process takes to extract dozens).
MIN_DOCS_PER_PROCESS = 16


def _default_workers(n_files: int) -> int:
    """All the CPUs for a big batch; fewer processes, or this one alone, for a few files."""
    return max(1, min(cpu_count(), n_files // MIN_DOCS_PER_PROCESS))


def _say(console: Console, oc) -> None:
    """One line for a document that was not written: its path and why (shown literally)."""
    label = "[yellow]partial[/yellow]" if oc.status == "partial" else "[red]failed[/red]"
    console.print(f"{label} {lit(oc.path)}: {lit(oc.error or '', multiline=True)}", highlight=False)


def _verdict(outcomes, out_dir: Path) -> str:
    """The closing line when some inputs were not written (markup), or '' when all were."""
    n = len(outcomes)
    failed = sum(o.status == "failed" for o in outcomes)
    partial = sum(o.status == "partial" for o in outcomes)
    if not failed and not partial:
        return ""
    parts = [f"{failed} of {n} input(s) failed"] if failed else []
    if partial:
        parts.append(f"{partial} of {n} input(s) partial (some model calls failed, so not written; a rerun asks only "
                     "for the failed calls)")
    rest = n - failed - partial
    tail = f"the other {rest} are in {lit(out_dir)}" if rest else "nothing was written"
    return f"[red]{'; '.join(parts)}[/red]; {tail}"

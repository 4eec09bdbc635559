"""`extract --batch` (send through the provider's Batch API at its batch price, then write as usual)
and the `batch status | cancel` group for batches a run left at the provider.

One command does the whole flow because a batch must be collected by the same settings that planned
it: rerunning the same `extract --batch` command resumes a batch that was interrupted (Ctrl-C
detaches, kill -9 too), and `batch cancel` stops one at the provider. See llm/batch_run.py for
what is sent and how failures are handled.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..terminal import lit
from .help_style import PlainHelpGroup

err = Console(stderr=True, soft_wrap=True)
out = Console()

BATCH_HELP = ("Send the model requests through the provider's Batch API (OpenAI /v1/batches, or a provider "
              "that copies it) at its batch price, wait for the batch (up to 24 h), then write the results as "
              "usual. Ctrl-C detaches: the batch keeps running and rerunning the same command collects it; "
              "`llm-extract batch cancel` stops it.")
POLL_HELP = "With --batch: longest wait between batch status checks, in seconds (they start at a few seconds)."


def batch_backend(settings, files: list[Path], out_dir: Path, *, force: bool, poll: float, quiet: bool,
                  fail) -> tuple[object, object]:
    """Resume this folder's batches, send a batch for every request not yet answered, wait for all,
    collect them; returns the backend that serves their answers to the ordinary run, and the
    BatchRun (call `finish()` once the run is written). `fail(msg)` exits with a usage error."""
    import openai

    from ..backends.base import BackendError
    from ..llm.batch_run import BatchAnswers, BatchRun, BatchSetupError
    from ..llm.transport import describe_error

    try:
        be = BatchAnswers.from_settings(settings)
    except BackendError as e:
        fail(str(e))
    if be.price is not None and be.price.batch is None:
        err.print(f"[cyan]note:[/cyan] the price table has no batch price for {lit(settings.model)}; cost is "
                  "shown at the synchronous price", highlight=False)
    run = BatchRun(be, out_dir, poll=poll)
    try:
        resumed = run.resume()
        if resumed:
            err.print(f"resuming {len(resumed)} batch(es) from {lit(run.folder)}", highlight=False)
        with err.status(f"planning the requests of {len(files)} document(s)") if not quiet else nullcontext():
            new = run.plan(files, force=force)
        run.submit(new)
        if new:
            err.print(f"sent {run.sent} request(s) in {len(new)} batch(es)"
                      f"{f'; {run.from_cache} answered from the cache' if run.from_cache else ''}", highlight=False)
        elif not resumed and (run.from_cache or run.cached_docs):
            err.print("nothing to send: every request is answered from the response cache", highlight=False)
        _wait(run, quiet)
        collected = run.collect()
    except BatchSetupError as e:
        fail(str(e))
    except KeyboardInterrupt:
        if not run.states:
            err.print("[yellow]interrupted[/yellow] before any batch was sent", highlight=False)
            raise typer.Exit(130) from None
        ids = ", ".join(s.batch_id or s.local_id for s in run.states)
        err.print(f"[yellow]detached[/yellow]: batch(es) {lit(ids)} keep running at the provider; run the same "
                  "command again to collect them, or `llm-extract batch cancel -o "
                  f"{lit(out_dir)}` to stop them", highlight=False)
        raise typer.Exit(130) from None
    except openai.APIError as e:
        hint = (f"; the endpoint may not offer the Batch API (/files, /batches): run without --batch"
                if isinstance(e, openai.NotFoundError) else "")
        kept = f" (state kept in {run.folder}; rerun to resume)" if run.states else ""
        fail(f"batch API: {be.redact(describe_error(e))}{hint}{kept}", 1)
    for st in run.states:
        if st.provider_status != "completed":
            why = f" ({'; '.join(st.errors)})" if st.errors else ""
            err.print(f"[yellow]batch {lit(st.batch_id or '')} {lit(st.provider_status or '')}[/yellow]{lit(why)}: "
                      f"{st.counts.get('completed', 0)} of {len(st.keys)} request(s) answered; documents missing "
                      "answers are reported partial, and rerunning sends the rest in a new batch", highlight=False)
    if collected.failed_lines:
        err.print(f"{collected.failed_lines} batch answer(s) failed or did not validate; asking them "
                  "synchronously", highlight=False)
    return be, run


def finish_batch(backend, run) -> None:
    """After the run is written: one line on what the batch answered and cost, then forget it."""
    calls, prompt, completion, cached = backend.batch_totals
    if calls:
        line = (f"batch: {calls} request(s) answered, {prompt:,} prompt ({cached:,} cached) + {completion:,} "
                "completion tokens")
        price = backend.price
        if price is not None and price.batch is not None:
            usd = price.cost(prompt, completion, cached_tokens=cached, batch=True)
            line += f", {usd:.4f} USD ({price.cost(prompt, completion, cached_tokens=cached):.4f} at the synchronous price)"
        err.print(line, markup=False, highlight=False)
    run.finish()


def _wait(run, quiet: bool) -> None:
    running = [s for s in run.states if not s.finished]
    if not running:
        return
    total = sum(len(s.keys) for s in run.states)
    with Progress(TextColumn("batch {task.fields[status]}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("requests"), TimeElapsedColumn(), console=err, disable=quiet, transient=True) as p:
        task = p.add_task("batch", total=total, status="")

        def update(states) -> None:
            done = sum(s.counts.get("completed", 0) + s.counts.get("failed", 0) for s in states)
            status = ", ".join(sorted({s.provider_status or s.status for s in states}))
            p.update(task, completed=done, status=lit(status))

        run.wait(update)


# -- batch status | cancel ------------------------------------------------------------------------

batch_app = typer.Typer(cls=PlainHelpGroup, no_args_is_help=True,
                        help="The provider batches an `extract --batch` run left in an output folder.")


def _states(out_dir: Path):
    from ..llm.batch_api import load_states

    states = load_states(out_dir)
    if not states:
        out.print(f"no batches in {lit(out_dir)}", highlight=False)
    return states


def _provider(base_url: Optional[str], config: Optional[Path], state):
    from ..backends import settings_for
    from ..llm.batch_api import Provider

    try:
        settings = settings_for("openai", dict(base_url=base_url or state.base_url, model=state.model), config)
    except Exception as e:  # settings errors are user errors
        err.print(f"[red]error:[/red] {lit(str(e))}", highlight=False)
        raise typer.Exit(2) from None
    return Provider(settings), settings


@batch_app.command("status")
def status_command(
    out_dir: Path = typer.Option(Path("out"), "-o", "--out", help="The output folder of the extract --batch run."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Endpoint (default: the one the batch was sent to)."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML settings file."),
    refresh: bool = typer.Option(True, "--refresh/--no-refresh", help="Ask the provider for the current status."),
) -> None:
    """Show each batch of OUT: its id, status and request counts."""
    import openai

    from ..llm.batch_api import apply, state_folder
    from ..llm.redact import Redactor
    from ..llm.transport import describe_error

    states = _states(out_dir)
    t = Table("batch", "status", "requests", "completed", "failed", "model")
    for st in states:
        if refresh and st.batch_id and not st.finished:
            prov, settings = _provider(base_url, config, st)
            try:
                apply(st, prov.retrieve(st.batch_id))
                st.save(state_folder(out_dir))
            except openai.APIError as e:
                err.print(f"[red]error:[/red] {lit(Redactor.for_settings(settings)(describe_error(e)))}", highlight=False)
            finally:
                prov.close()
        t.add_row(lit(st.batch_id or st.local_id), lit(st.provider_status or st.status), str(len(st.keys)),
                  str(st.counts.get("completed", 0)), str(st.counts.get("failed", 0)), lit(st.model))
    if states:
        out.print(t)


@batch_app.command("cancel")
def cancel_command(
    out_dir: Path = typer.Option(Path("out"), "-o", "--out", help="The output folder of the extract --batch run."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Endpoint (default: the one the batch was sent to)."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML settings file."),
) -> None:
    """Cancel OUT's running batches at the provider. Rerunning the same `extract --batch` command
    then writes the documents whose requests were answered before the cancel and names the others
    partial (a further rerun sends their requests in a new batch)."""
    import openai

    from ..llm.batch_api import apply, state_folder
    from ..llm.redact import Redactor
    from ..llm.transport import describe_error

    code = 0
    for st in _states(out_dir):
        if not st.batch_id or st.finished:
            continue
        prov, settings = _provider(base_url, config, st)
        try:
            apply(st, prov.cancel(st.batch_id))
            st.save(state_folder(out_dir))
            out.print(f"batch {lit(st.batch_id)}: {lit(st.provider_status or '')}", highlight=False)
        except openai.APIError as e:
            err.print(f"[red]error:[/red] batch {lit(st.batch_id)}: "
                      f"{lit(Redactor.for_settings(settings)(describe_error(e)))}", highlight=False)
            code = 1
        finally:
            prov.close()
    raise typer.Exit(code)

"""`llm-extract estimate PATH...`: prompt tokens and cost an LLM run would need, sending nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from ..terminal import lit
from .options import ANSWER_FORMAT_HELP, MAX_CHUNK_TOKENS_HELP, PASSES_HELP, PATHS_HELP, PROMPT_VERSION_HELP, ROUTE_HELP

out = Console()
err = Console(stderr=True)


def estimate_command(
    paths: list[Path] = typer.Argument(..., help=PATHS_HELP),
    model: Optional[str] = typer.Option(None, "--model", help="Model to price (env LLM_EXTRACT_MODEL; default gpt-4o-mini)."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Endpoint the run would use; decides the structured-output method when --method is not given."),
    method: Optional[str] = typer.Option(None, "--method", help="json_schema, function_calling or json_mode (json_mode adds the output format to the prompt)."),
    route: Optional[str] = typer.Option(None, "--route", help=ROUTE_HELP),
    passes: Optional[int] = typer.Option(None, "--passes", help=PASSES_HELP),
    max_chunk_tokens: Optional[int] = typer.Option(None, "--max-chunk-tokens", help=MAX_CHUNK_TOKENS_HELP),
    prompt_version: Optional[str] = typer.Option(None, "--prompt-version", help=PROMPT_VERSION_HELP),
    answer_format: Optional[str] = typer.Option(None, "--answer-format", help=ANSWER_FORMAT_HELP),
    price_input: Optional[float] = typer.Option(None, "--price-input", help="USD per 1M prompt tokens (overrides the price table)."),
    price_output: Optional[float] = typer.Option(None, "--price-output", help="USD per 1M completion tokens (overrides the price table)."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML settings file (same keys as the extract settings)."),
) -> None:
    """Print the prompt tokens and cost a run would need per report, without sending anything.

    Uses the run's own chunking, routing and prompts; completion tokens are an estimate (about
    60% of the report text sent, since the answer quotes it).
    """
    from ..llm.estimate import estimate_paths
    from ..llm.prompts import PromptError
    from ..llm.settings import LLMSettings, SettingsError

    overrides = dict(model=model, base_url=base_url, method=method, route=route, passes=passes,
                     max_chunk_tokens=max_chunk_tokens, prompt_version=prompt_version, answer_format=answer_format,
                     price_input=price_input, price_output=price_output)
    try:
        settings = LLMSettings.load(overrides, config)
        result = estimate_paths(paths, settings)
    except (SettingsError, PromptError) as e:
        err.print(f"[red]error:[/red] {lit(e)}", highlight=False)
        raise typer.Exit(2)
    if not result.docs:
        err.print("[red]error:[/red] no report files found (supported: .txt .md .docx .pdf)", highlight=False)
        raise typer.Exit(2)

    priced = result.price is not None
    t = Table(title=f"estimate: {lit(settings.model)} ({result.method}, route={settings.route}, passes={settings.passes})")
    t.add_column("doc", no_wrap=True, min_width=min(40, max(len(d.doc_id) for d in result.docs)))
    t.add_column("chunks", justify="right")
    t.add_column("calls", justify="right")
    t.add_column("text sent", justify="right")
    t.add_column("prompt tokens", justify="right")
    t.add_column("completion (est.)", justify="right")
    t.add_column("cost USD", justify="right")
    for d in result.docs:
        if d.error:
            t.add_row(lit(d.doc_id), "", "", "", "", "", "[red]failed:[/red] " + lit(d.error))
            continue
        share = f"{d.text_tokens / d.all_text_tokens:.0%}" if d.all_text_tokens else "-"
        t.add_row(lit(d.doc_id), str(d.chunks), str(d.calls), f"{d.text_tokens:,} ({share})", f"{d.prompt_tokens:,}",
                  f"{d.completion_tokens:,}", f"{d.cost:.4f}" if d.cost is not None else "?")
    if len(result.ok) > 1:
        t.add_row("[bold]total[/bold]", str(int(result.total("chunks"))), str(int(result.total("calls"))),
                  f"{int(result.total('text_tokens')):,}", f"{int(result.total('prompt_tokens')):,}",
                  f"{int(result.total('completion_tokens')):,}",
                  f"{result.cost:.4f}" if result.cost is not None else "?")
    out.print(t)
    if not priced:
        err.print(f"[yellow]note:[/yellow] no price known for model '{lit(settings.model)}': pass --price-input/--price-output",
                  highlight=False)
    else:
        p = result.price
        cached = f", ${p.cached_input:g} cached" if p.cached_input is not None else ""
        share = result.total("cached_tokens") / max(result.total("prompt_tokens"), 1)
        out.print(f"prices: ${p.input:g} / ${p.output:g} per 1M prompt / completion tokens{cached}; "
                  f"{share:.0%} of prompt tokens expected from the provider's prefix cache; nothing was sent",
                  highlight=False)
        if p.batch is not None:
            out.print(f"through the provider's Batch API the cost would be about "
                      f"{result.cost * p.batch:.4f} USD", highlight=False)
    failed = [d for d in result.docs if d.error]
    if failed:
        raise typer.Exit(1)

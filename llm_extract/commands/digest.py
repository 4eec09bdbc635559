"""`llm-extract digest` and `llm-extract view`: the CLI edges of digest.py and view.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

from ..terminal import lit

err = Console(stderr=True)
out = Console()


def _fail(msg: str, code: int) -> None:
    """Print `msg` (plain text, shown literally) as an error and exit with `code`."""
    err.print(f"[red]error:[/red] {lit(msg, multiline=True)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def digest_command(
    results: list[Path] = typer.Argument(..., help="Folder(s) of result JSON files written by `llm-extract extract` (or single result files)."),
    output: Path = typer.Option(..., "-o", "--output", help="File to write; the format follows the extension: .md .html .xlsx .csv .json."),
    year: Optional[int] = typer.Option(None, "--year", help="Only reports of this evaluation year."),
    unit: Optional[str] = typer.Option(None, "--unit", help="Only reports whose unit name (or doc id) contains this text."),
    theme: list[str] = typer.Option([], "--theme", help="Only problems of this theme (id or name, e.g. staffing or 人员编制); repeatable."),
    category: list[str] = typer.Option([], "--category", help="Only these categories in cards and tables: goal, achievement, problem, measure; repeatable."),
    themes_file: Optional[Path] = typer.Option(None, "--themes-file", help="Theme taxonomy TOML to use instead of the built-in one (copy llm_extract/data/themes.toml to start)."),
    llm: bool = typer.Option(False, "--llm", help="Use the configured LLM endpoint to assign themes and write a short grounded summary per theme (keyword rules otherwise)."),
    model: Optional[str] = typer.Option(None, "--model", help="Model name for --llm (env LLM_EXTRACT_MODEL)."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible base URL for --llm (env OPENAI_BASE_URL)."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML settings file for the LLM endpoint (--llm)."),
    views: bool = typer.Option(False, "--views", help="Also write each report's view page into <output stem>_views/ beside an .html digest, and link every citation to its item there."),
) -> None:
    """Digest many results: overview per report, problems by theme with citations, measures linked to
    problems (and problems nobody addresses), a one-page card per report.

    Unusable files in the folder are named and skipped; the rest are digested (exit code 1).
    """
    from ..digest import DigestError, DigestUsageError, digest
    from ..render import check_format, write_digest
    from ..render.views import write_views
    from ..themes import TaxonomyError

    try:
        fmt = check_format(output)
    except DigestUsageError as e:
        _fail(str(e), 2)
    if views and fmt not in (".html", ".htm"):
        _fail("--views links an HTML digest to the reports' view pages: use -o FILE.html", 2)
    for r in results:
        if not r.exists():
            _fail(f"{r} does not exist", 2)
    chat = _chat_model(model, base_url, config) if llm else None
    try:
        d = digest(results, year=year, unit=unit, theme=theme, category=category,
                   model=chat, taxonomy=themes_file)
        hrefs = None
        if views:
            hrefs, view_warnings = write_views(d, results, output)
            d.warnings.extend(view_warnings)
        written = write_digest(d, output, views=hrefs)
    except TaxonomyError as e:
        _fail(str(e), 2)
    except DigestUsageError as e:
        _fail(str(e), 2)
    except DigestError as e:
        _fail(str(e), 1)
    except OSError as e:
        _fail(f"cannot write {output}: {e.strerror or e}", 1)
    for s in d.skipped:
        err.print(f"[yellow]skipped[/yellow] {lit(s.path)}: {lit(s.reason)}", highlight=False, soft_wrap=True)
    for w in d.warnings:
        err.print(f"[yellow]warning:[/yellow] {lit(w)}", highlight=False, soft_wrap=True)
    out.print(f"{digest_summary(d)} → {', '.join(lit(p) for p in written)}", highlight=False, soft_wrap=True)
    if d.skipped:
        raise typer.Exit(1)


def digest_summary(d: Any) -> str:
    """One line on what the digest holds, naming only the categories it shows."""
    parts = []
    if d.shows("problem"):
        parts.append(f"{len(d.problems)} problems in {len(d.themes)} themes")
        if d.shows("measure"):
            weak = len(d.theme_only())
            parts.append(f"{len(d.unaddressed())} without a measure"
                         + (f" ({weak} more linked only by theme: check them)" if weak else ""))
    if d.shows("measure"):
        parts.append(f"{len(d.measures)} measures")
    if d.history:
        parts.append(f"year over year for {len(d.history)} unit(s)")
    if not parts:
        parts.append(" and ".join(f"{c}s" for c in ("goal", "achievement") if d.shows(c)) + " on the report cards")
    return f"digest of {len(d.reports)} report(s): " + ", ".join(parts)


def view_command(
    result: Path = typer.Argument(..., help="One result file, OUT/<doc_id>.json."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="HTML file to write (default: <doc_id>.html beside the result)."),
    source: Optional[Path] = typer.Option(None, "--source", help="The report file, when it has moved since extraction."),
) -> None:
    """Write one self-contained HTML page: the report's full text with every grounded item highlighted
    in place, a side list to jump to each item, and a panel for items that could not be placed."""
    from ..view import ViewError, render_view

    if not result.is_file():
        _fail(f"{result} is not a file", 2)
    target = output or result.with_suffix(".html")
    if target.suffix.lower() not in (".html", ".htm"):
        _fail(f"view writes an HTML page; name the output .html (got '{target.name}')", 2)
    if target.resolve() == result.resolve():
        _fail("the output would overwrite the result file; pass -o FILE.html", 2)
    try:
        render_view(result, out=target, source=source)
    except ViewError as e:
        _fail(str(e), 1)
    except OSError as e:
        _fail(f"cannot write {target}: {e.strerror or e}", 1)
    out.print(f"wrote {lit(target)}", highlight=False, soft_wrap=True)


class _SafeChat:
    """The chat model for --llm: structured output by the method the endpoint supports, and every
    error and answer masked by the same redaction as the extract backend, so a server that echoes
    the key (or a model that repeats it) cannot put it in a warning or the digest."""

    def __init__(self, chat: Any, method: str, redact: Any):
        self.chat, self.method, self.redact = chat, method, redact

    def with_structured_output(self, schema: Any) -> "_SafeCall":
        return _SafeCall(self.chat.with_structured_output(schema, method=self.method), self.redact)


class _SafeCall:
    def __init__(self, runnable: Any, redact: Any):
        self.runnable, self.redact = runnable, redact

    def invoke(self, messages: Any) -> Any:
        from pydantic import BaseModel

        from ..llm.transport import describe_error
        from ..themes import LLMCallError

        try:
            answer = self.runnable.invoke(messages)
        except Exception as e:  # noqa: BLE001 - reported as a warning by the caller, keyword themes kept
            raise LLMCallError(self.redact(describe_error(e))) from None
        if isinstance(answer, BaseModel):
            return type(answer).model_validate(self.redact.scrub(answer.model_dump()))
        return self.redact.scrub(answer)


def _chat_model(model: Optional[str], base_url: Optional[str], config: Optional[Path]) -> Any:
    """The LangChain chat model for --llm, from the same settings the openai backend uses."""
    from ..llm.redact import Redactor
    from ..llm.settings import LLMSettings, SettingsError

    try:
        s = LLMSettings.load({"model": model, "base_url": base_url}, config)
    except SettingsError as e:
        _fail(str(e), 2)
    if not s.is_configured():
        _fail("--llm needs a model endpoint: set OPENAI_API_KEY and/or OPENAI_BASE_URL (or use --config)", 2)
    from langchain_openai import ChatOpenAI

    from ..llm.client import build_chat_model, build_sync_http_client

    chat = build_chat_model(s, chat_class=ChatOpenAI, max_retries=s.max_retries, http_client=build_sync_http_client(s))
    return _SafeChat(chat, s.resolved_method(), Redactor.for_settings(s))

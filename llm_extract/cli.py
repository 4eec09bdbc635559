"""The `llm-extract` command line: the app, `schema`, and the registration of the commands in commands/.

Exit codes: 0 everything succeeded, 1 some inputs failed or are partial (the rest were still written),
2 usage error, 130 interrupted (finished documents are kept).
"""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console

from . import __version__
from .commands.help_style import PlainHelpGroup
from .models import Report

app = typer.Typer(
    cls=PlainHelpGroup,
    name="llm-extract",
    help="Grounded extraction of goals, achievements, problems, measures, indicators and metadata from "
    "Chinese performance self-evaluation reports (部门整体支出绩效自评报告). Every item carries the exact "
    "character offsets of its quote in the source. Offline by default (rules backend); set "
    "OPENAI_API_KEY / OPENAI_BASE_URL to use any OpenAI-compatible model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
err = Console(stderr=True, soft_wrap=True)
out = Console()


def _version(value: bool) -> None:
    if value:
        out.print(f"llm-extract {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Run `llm-extract COMMAND --help` for each command's options."""


def schema_command(
    gold: bool = typer.Option(False, "--gold", help="Print the gold (hand-label) file schema instead."),
) -> None:
    """Print the JSON Schema of the output contract (one file per document)."""
    from .models import GoldDoc

    model = GoldDoc if gold else Report
    out.print_json(json.dumps(model.model_json_schema(by_alias=True), ensure_ascii=False))


def _register() -> None:
    """Each command lives in commands/<name>.py (schema, a few lines, here); the order is `--help`'s."""
    from .commands.batch import batch_app
    from .commands.digest import digest_command, view_command
    from .commands.estimate import estimate_command
    from .commands.eval import eval_command
    from .commands.extract import extract_command

    app.command("extract")(extract_command)
    app.command("schema")(schema_command)
    app.command("eval")(eval_command)
    app.command("digest")(digest_command)
    app.command("view")(view_command)
    app.command("estimate")(estimate_command)
    app.add_typer(batch_app, name="batch")


_register()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/yellow]; finished documents are saved, rerun to resume")
        sys.exit(130)

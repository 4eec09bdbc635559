"""The held-out suite (reports never tuned on) is enforced like the tuned ones: a regression on
reports nobody tuned to is exactly what users would meet first."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from llm_extract.cli import app

ROOT = Path(__file__).resolve().parent.parent


def test_rules_backend_meets_the_heldout_suite_floors():
    r = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["eval", "--suite", str(ROOT / "evals" / "heldout_rules.toml"), "--no-docs"])
    assert r.exit_code == 0, r.output

"""What a person sees in a real terminal (tmux) at 80 and 200 columns: the progress bar keeps its
count, rate and ETA, and the summary is one line per document with a totals row and a next step.

The LLM path against the local mock server (with latency) makes the batch slow enough to catch
the bar mid-run; the rules path gives the summary of a quick batch."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llm_extract.progress import MANY, summary_table
from mock_openai_server import MockOpenAIServer

ROOT = Path(__file__).resolve().parent.parent
REPORTS = sorted((ROOT / "fixtures" / "synthetic").glob("*.txt"))[:6]
LONG = "a_rather_long_report_file_name_as_units_save_them_{}_2024"

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None and not os.environ.get("CI"),
                                reason="tmux is not installed (CI installs it and must not skip)")


def _inputs(tmp_path: Path) -> Path:
    inp = tmp_path / "in"
    inp.mkdir()
    for i, src in enumerate(REPORTS):
        shutil.copy(src, inp / f"{LONG.format(i)}.txt")
    return inp


class Tmux:
    def __init__(self, name: str, width: int, cwd: Path, env: dict[str, str]):
        self.name, self.cwd = name, cwd
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        subprocess.run(["tmux", "-L", name, "new-session", "-d", "-s", name, "-x", str(width), "-y", "50",
                        f"env {exports} bash --norc --noprofile"], check=True, cwd=cwd)

    def run(self, *args: str) -> None:
        line = " ".join(shlex.quote(a) for a in (sys.executable, "-c", "from llm_extract.cli import main; main()", *args))
        subprocess.run(["tmux", "-L", self.name, "send-keys", "-t", self.name, f"clear; {line}; echo EXIT=$?", "Enter"],
                       check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "-L", self.name, "capture-pane", "-p", "-t", self.name],
                              check=True, capture_output=True, text=True).stdout

    def wait_for(self, pattern: str, timeout: float = 60) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s = self.screen()
            if re.search(pattern, s):
                return s
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not on screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.name, "kill-server"], capture_output=True)


@pytest.fixture
def tmux_at(tmp_path):
    opened: list[Tmux] = []

    def open_(width: int, **env: str) -> Tmux:
        env = {"PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache"),
               "TERM": "xterm-256color", "LANG": "C.UTF-8", **env}
        t = Tmux(f"llmx{os.getpid()}w{width}", width, tmp_path, env)
        opened.append(t)
        return t

    yield open_
    for t in opened:
        t.close()


@pytest.mark.parametrize("width", [80, 200])
def test_progress_bar_keeps_count_rate_and_eta(tmp_path, tmux_at, width):
    inp = _inputs(tmp_path)
    with MockOpenAIServer(latency=0.25) as srv:
        t = tmux_at(width, OPENAI_API_KEY="sk-test-terminal")
        t.run("extract", str(inp), "-o", str(tmp_path / "out"), "--backend", "openai", "--base-url", srv.base_url,
              "--model", "gpt-4o-mini", "--concurrency", "1", "--no-cache")
        bar = t.wait_for(r"extract .* [2-5]/6 \d", timeout=90)  # the rate needs two samples
        line = next(ln for ln in bar.splitlines() if ln.startswith("extract"))
        assert len(line) <= width
        assert re.search(r" [2-5]/6 ", line), line                      # the count
        assert re.search(r"\d(\.\d)?/s|\ds/doc", line), line           # the rate
        assert re.search(r"\d:\d\d:\d\d\s*(\S.*)?$", line), line       # ETA (the name may follow)
        t.wait_for(r"EXIT=\d+", timeout=120)


@pytest.mark.parametrize("width", [80, 200])
def test_summary_is_one_line_per_document_with_totals_and_a_next_step(tmp_path, tmux_at, width):
    inp = _inputs(tmp_path)
    t = tmux_at(width)
    t.run("extract", str(inp), "-o", str(tmp_path / "out"), "--backend", "rules")
    screen = t.wait_for(r"EXIT=0")
    lines = screen.splitlines()
    assert all(len(ln) <= width for ln in lines)
    rows = [ln for ln in lines if ln.lstrip().startswith("a_rather")]
    assert len(rows) == len(REPORTS), screen                            # one line per document
    if width == 80:
        assert all("…" in r for r in rows), screen                      # long names cut, not wrapped
    else:
        assert all(LONG.format(i) in screen for i in range(len(REPORTS))), screen
    assert any(re.match(rf"\s*{len(REPORTS)} of {len(REPORTS)}(\s+\d+){{5}}", ln) for ln in lines), screen
    assert f"{len(REPORTS)} extracted, 0 already done, 0 partial, 0 failed" in screen
    assert "next: llm-extract digest" in screen


def test_past_many_documents_only_the_unwritten_are_listed():
    from rich.console import Console

    from llm_extract.batch import Outcome

    outs = [Outcome(f"r{i}.txt", f"r{i}", "ok", counts={"goal": 1}) for i in range(MANY + 5)]
    outs[7] = Outcome("r7.txt", "r7", "failed", "not valid UTF-8")
    console = Console(width=80, file=open(os.devnull, "w"))
    table = summary_table(outs, Path("out"), width=80, console=console)
    assert table.row_count == 1
    assert table.columns[0].footer == f"{MANY + 4} of {MANY + 5}"


def test_summary_in_a_log_keeps_full_rows(tmp_path):
    """Piped output is not cut to Rich's 80-column default."""
    inp = _inputs(tmp_path)
    res = subprocess.run([sys.executable, "-c", "from llm_extract.cli import main; main()", "extract", str(inp),
                          "-o", str(tmp_path / "out"), "--backend", "rules"],
                         capture_output=True, text=True, env={**os.environ, "COLUMNS": "80"}, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert all(LONG.format(i) in res.stdout for i in range(len(REPORTS))), res.stdout

"""Ctrl-C during a rules batch: it stops between documents (not after the whole batch), keeps what
finished, prints one line instead of a traceback, exits 130, and a rerun resumes; in one process
or several."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "fixtures" / "reports" / "yiyang_2024.md"
DOCS = 400


def _cli(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from llm_extract.cli import main; main()", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_stops_the_rules_batch_between_documents_and_keeps_what_finished(tmp_path, workers):
    """With helper processes too: they ignore SIGINT, finish the document they hold (counted as done),
    and take no more."""
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    for i in range(DOCS):
        shutil.copy(REPORT, inp / f"r{i:03d}.md")
    proc = _cli("extract", str(inp), "-o", str(out), "--backend", "rules", "--workers", workers)
    try:
        while not (out.is_dir() and len(list(out.glob("*.json"))) >= 3):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    written = sorted(out.glob("*.json"))
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert re.search(rf"interrupted: {len(written)} of {DOCS} document\(s\) are done", stderr), stderr
    assert len(written) < DOCS / 2  # it stopped soon, not after every document
    assert all(json.loads(p.read_text(encoding="utf-8"))["doc_id"] == p.stem for p in written)
    assert not [p for p in out.iterdir() if p.suffix == ".tmp"]

    again = _cli("extract", str(inp), "-o", str(out), "--backend", "rules")
    stdout, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    assert f"{DOCS - len(written)} extracted, {len(written)} already done" in stdout

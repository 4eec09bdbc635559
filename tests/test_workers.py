"""`extract --workers N`: a rules batch on several processes gives what one process gives, and keeps
the batch's promises (failures named, the rest written, exit 1; resume; Ctrl-C is covered in
test_interrupt.py for one and two processes)."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_extract.backends.rules import RulesBackend
from llm_extract.batch import discover
from llm_extract.cli import app
from llm_extract.workers import run_parallel

ROOT = Path(__file__).resolve().parents[1]
CORPORA = [ROOT / "fixtures" / "reports", ROOT / "fixtures" / "synthetic", ROOT / "fixtures" / "generality" / "reports"]

pytestmark = pytest.mark.usefixtures("offline_env")


def invoke(*args):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _results(out: Path) -> dict[str, bytes]:
    """Every result file's bytes, the one field that measures time (stats.seconds) set to 0."""
    got = {}
    for p in sorted(out.glob("*.json")):
        data = json.loads(p.read_text(encoding="utf-8"))
        data["stats"]["seconds"] = 0
        got[p.name] = json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
    return got


def _corpora(tmp_path: Path, copies: int = 1) -> Path:
    """The fixture corpora in one folder (`copies` of each), so the batch is big enough to share out."""
    inp = tmp_path / "in"
    inp.mkdir()
    for folder in CORPORA:
        for src in folder.iterdir():
            if src.is_file():
                for k in range(copies):
                    shutil.copy(src, inp / f"{src.stem}__{k}{src.suffix}")
    return inp


def test_workers_give_the_results_of_one_process_on_the_fixture_corpora(tmp_path):
    inp = _corpora(tmp_path, copies=2)
    n = len(discover([inp])[0])
    one = invoke("extract", str(inp), "-o", str(tmp_path / "one"), "--backend", "rules", "--workers", "1", "-q")
    assert one.exit_code == 0, one.output
    three = invoke("extract", str(inp), "-o", str(tmp_path / "three"), "--backend", "rules", "--workers", "3", "-q")
    assert three.exit_code == 0, three.output
    a, b = _results(tmp_path / "one"), _results(tmp_path / "three")
    assert len(a) == n and sorted(a) == sorted(b)
    assert [k for k in a if a[k] != b[k]] == []


def test_a_broken_file_among_workers_is_named_and_the_others_are_written(tmp_path):
    inp = _corpora(tmp_path)
    (inp / "broken_2024.docx").write_bytes(b"PK\x03\x04 not really a Word file")
    good = len(discover([inp])[0]) - 1
    res = invoke("extract", str(inp), "-o", str(tmp_path / "out"), "--backend", "rules", "--workers", "2")
    assert res.exit_code == 1, res.output
    assert "broken_2024.docx" in res.output
    line = next(ln for ln in res.output.splitlines() if "broken_2024.docx" in ln and "failed" in ln)
    assert len(line.split("broken_2024.docx", 1)[1].strip(" :")) > 5  # a reason follows the name
    written = sorted(p.stem for p in (tmp_path / "out").glob("*.json"))
    assert len(written) == good and "broken_2024" not in written
    assert f"1 of {good + 1} input(s) failed" in res.output


def test_a_rerun_with_workers_skips_what_is_done_and_rewrites_nothing(tmp_path):
    inp = _corpora(tmp_path)
    out = tmp_path / "out"
    first = invoke("extract", str(inp), "-o", str(out), "--backend", "rules", "--workers", "2")
    assert first.exit_code == 0, first.output
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.json")}
    (out / next(iter(sorted(stamps)))).unlink()  # one result lost: only it is redone
    again = invoke("extract", str(inp), "-o", str(out), "--backend", "rules", "--workers", "2")
    assert again.exit_code == 0, again.output
    assert f"1 extracted, {len(stamps) - 1} already done" in again.output
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("*.json")}
    assert sorted(after) == sorted(stamps)
    assert sum(after[k] != stamps[k] for k in stamps) == 1


@pytest.mark.parametrize("method", [m for m in ("spawn", "forkserver") if m in multiprocessing.get_all_start_methods()])
def test_helpers_give_the_same_results_however_they_are_started(tmp_path, method):
    """Nothing a helper needs is inherited: the design holds under spawn (the default) and forkserver."""
    files, _ = discover(CORPORA[:1])
    oc = run_parallel(files, tmp_path / "spawn", RulesBackend(), "rules", 2,
                      mp_context=multiprocessing.get_context(method))
    assert [o.status for o in oc] == ["ok"] * len(files)
    assert [o.path for o in oc] == [str(f) for f in files]  # outcomes in input order
    invoke("extract", *map(str, files), "-o", str(tmp_path / "one"), "--backend", "rules", "--workers", "1", "-q")
    assert _results(tmp_path / "spawn") == _results(tmp_path / "one")


def test_helpers_that_cannot_start_leave_the_batch_to_this_process(tmp_path):
    files, _ = discover(CORPORA[:1])
    oc = run_parallel(files, tmp_path / "out", RulesBackend(), "no-such-backend", 2)
    assert [o.status for o in oc] == ["ok"] * len(files)
    assert len(list((tmp_path / "out").glob("*.json"))) == len(files)


def test_workers_option_is_checked_and_documented():
    res = invoke("extract", "--help")
    assert "--workers" in res.output and "CPU-bound" in res.output
    bad = CliRunner().invoke(app, ["extract", str(CORPORA[0]), "--workers", "0"])
    assert bad.exit_code == 2


def test_a_helper_killed_mid_batch_loses_no_document_silently(tmp_path):
    """The document a dead helper was on is named as failed (it may be what killed it); the ones it
    held but had not started are extracted anyway."""
    inp = _corpora(tmp_path, copies=3)
    files, _ = discover([inp])
    killed: list[int] = []

    def on_done(_oc) -> None:
        if not killed and len(seen) >= 10:
            for child in multiprocessing.active_children():  # spawn: the helpers are our children
                os.kill(child.pid, signal.SIGKILL)
                killed.append(child.pid)
        seen.append(_oc)

    seen: list = []
    oc = run_parallel(files, tmp_path / "out", RulesBackend(), "rules", 2, on_done=on_done,
                      mp_context=multiprocessing.get_context("spawn"))
    assert killed
    assert sorted(o.path for o in oc) == sorted(map(str, files))  # every file accounted for, once
    failed = [o for o in oc if o.status != "ok"]
    assert len(failed) <= 1 and all("stopped unexpectedly" in (o.error or "") for o in failed)
    written = {p.stem for p in (tmp_path / "out").glob("*.json")}
    assert written == {o.doc_id for o in oc if o.status == "ok"}

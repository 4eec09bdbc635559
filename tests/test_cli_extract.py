"""`llm-extract extract` end to end on files a user has: outputs, failures, resume, exit codes."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_extract.cli import app
from llm_extract.models import Report

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "fixtures" / "reports"


pytestmark = pytest.mark.usefixtures("offline_env")


def invoke(*args):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_extract_fixture_folder_writes_grounded_contract(tmp_path):
    out = tmp_path / "out"
    res = invoke("extract", str(REPORTS), "-o", str(out))
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in out.glob("*.json"))
    assert files == sorted(p.stem + ".json" for p in REPORTS.iterdir())
    for f in out.glob("*.json"):
        data = json.loads(f.read_text(encoding="utf-8"))
        rep = Report.model_validate(data)
        assert data["schema_version"] == 1 and data["backend"] == "rules"
        src = next(p for p in REPORTS.iterdir() if p.stem == rep.doc_id)
        text = src.read_text(encoding="utf-8")
        assert sum(rep.counts().values()) > 5
        for it in rep.items():
            assert text[it.start:it.end] == it.quote
            assert it.section is not None
        assert rep.meta.year == 2024
    assert "3 extracted" in res.output


def test_bad_file_is_named_and_the_rest_written(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    shutil.copy(REPORTS / "lianjiang_2024.txt", inp)
    (inp / "empty.txt").write_bytes(b"")
    (inp / "junk.md").write_bytes(bytes(range(256)) * 20)
    out = tmp_path / "out"
    res = invoke("extract", str(inp), "-o", str(out))
    assert res.exit_code == 1
    assert (out / "lianjiang_2024.json").exists()
    assert not (out / "empty.json").exists()
    assert "empty.txt" in res.output and "empty" in res.output
    assert "junk.md" in res.output and "not a text file" in res.output
    assert "Traceback" not in res.output


def test_rerun_resumes_and_force_redoes(tmp_path):
    out = tmp_path / "out"
    src = REPORTS / "yiyang_2024.md"
    assert invoke("extract", str(src), "-o", str(out)).exit_code == 0
    target = out / "yiyang_2024.json"
    first = target.stat().st_mtime_ns
    res = invoke("extract", str(src), "-o", str(out))
    assert res.exit_code == 0 and "already done" in res.output
    assert target.stat().st_mtime_ns == first
    res = invoke("extract", str(src), "-o", str(out), "--force")
    assert res.exit_code == 0 and target.stat().st_mtime_ns != first


def test_changed_file_is_redone(tmp_path):
    src = tmp_path / "r.txt"
    src.write_text("二、存在问题\n人员不足。\n", encoding="utf-8")
    out = tmp_path / "out"
    assert invoke("extract", str(src), "-o", str(out)).exit_code == 0
    src.write_text("二、存在问题\n人员不足。设备老化。\n", encoding="utf-8")
    assert invoke("extract", str(src), "-o", str(out)).exit_code == 0
    rep = Report.model_validate_json((out / "r.json").read_text(encoding="utf-8"))
    assert "设备老化" in rep.problems[0].quote


def test_no_partial_files_left(tmp_path):
    out = tmp_path / "out"
    invoke("extract", str(REPORTS), "-o", str(out))
    assert not [p for p in out.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]


def test_usage_errors_exit_2(tmp_path):
    res = invoke("extract", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "o"))
    assert res.exit_code == 2 and "file not found" in res.output
    res = invoke("extract", str(REPORTS), "--backend", "nope", "-o", str(tmp_path / "o"))
    assert res.exit_code == 2 and "unknown backend" in res.output
    empty = tmp_path / "emptydir"
    empty.mkdir()
    res = invoke("extract", str(empty), "-o", str(tmp_path / "o"))
    assert res.exit_code == 2 and "no report files" in res.output


def test_help_explains_options():
    res = invoke("extract", "--help")
    assert res.exit_code == 0
    for opt in ("--out", "--backend", "--force", "--keep-ungrounded", "--model", "--base-url"):
        assert opt in res.output


def test_schema_command_prints_contract():
    res = invoke("schema")
    assert res.exit_code == 0
    schema = json.loads(res.output)
    assert {"goals", "achievements", "problems", "measures", "indicators", "stats", "meta"} <= set(schema["properties"])


def test_unreachable_endpoint_is_one_message_not_one_per_document(tmp_path, monkeypatch):
    import socket

    with socket.socket() as s:  # a free local port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    inp = tmp_path / "in"
    inp.mkdir()
    for i in range(8):
        shutil.copy(REPORTS / "yiyang_2024.md", inp / f"r{i}.md")
    res = invoke("extract", str(inp), "-o", str(tmp_path / "out"), "--no-cache", "--max-retries", "0", "-q")
    assert res.exit_code == 1
    assert "cannot reach" in res.output
    assert res.output.count("cannot reach") == 1  # said once, however many documents were in flight
    assert "not attempted" in res.output
    assert "Traceback" not in res.output

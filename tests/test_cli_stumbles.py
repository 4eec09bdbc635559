"""First-use stumbles and small defects of the command line (issue 9): each one a test of what a
user sees — a clear message, nothing lost or silently replaced, nothing read that should not be."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_extract.batch import discover
from llm_extract.cli import app

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "fixtures" / "reports"


pytestmark = pytest.mark.usefixtures("offline_env")


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_named_on_the_command_line_is_a_clear_failure(tmp_path):
    fifo = tmp_path / "report.txt"
    os.mkfifo(fifo)
    files, problems = discover([fifo, REPORTS / "yiyang_2024.md"])
    assert files == [REPORTS / "yiyang_2024.md"]
    assert [(p.path, p.error) for p in problems] == [(str(fifo), "not a regular file (a FIFO, socket or device)")]


def test_a_second_run_does_not_replace_another_files_result_with_the_same_name(tmp_path):
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    a.mkdir()
    b.mkdir()
    shutil.copy(REPORTS / "yiyang_2024.md", a / "report.md")
    shutil.copy(REPORTS / "lianjiang_2024.txt", b / "report.txt")
    assert invoke("extract", a, "-o", out, "-q").exit_code == 0
    first = json.loads((out / "report.json").read_text(encoding="utf-8"))
    for extra in ([], ["--force"]):
        res = invoke("extract", b, "-o", out, "-q", *extra)
        assert res.exit_code == 1
        assert "already holds the result of another file" in res.output
        assert json.loads((out / "report.json").read_text(encoding="utf-8")) == first
    # the first file itself is still resumed (and redone when it changes)
    assert invoke("extract", a, "-o", out, "-q").exit_code == 0
    (a / "report.md").write_text((a / "report.md").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert invoke("extract", a, "-o", out, "-q").exit_code == 0
    # once the other file is gone (moved, renamed), its result may be replaced
    (a / "report.md").unlink()
    assert invoke("extract", b, "-o", out, "-q").exit_code == 0
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["source"] == str(b / "report.txt")


def test_view_works_from_another_directory(tmp_path, monkeypatch):
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    (work / "reports").mkdir(parents=True)
    elsewhere.mkdir()
    shutil.copy(REPORTS / "yiyang_2024.md", work / "reports")
    monkeypatch.chdir(work)
    assert invoke("extract", "reports", "-o", "out", "-q").exit_code == 0  # relative paths
    monkeypatch.chdir(elsewhere)
    res = invoke("view", work / "out" / "yiyang_2024.json", "-o", "v.html")
    assert res.exit_code == 0, res.output
    assert "sha256 mismatch" not in (elsewhere / "v.html").read_text(encoding="utf-8")


def test_view_finds_a_relative_source_of_an_older_result_from_another_directory(tmp_path, monkeypatch):
    work = tmp_path / "work"
    (work / "reports").mkdir(parents=True)
    shutil.copy(REPORTS / "yiyang_2024.md", work / "reports")
    monkeypatch.chdir(work)
    assert invoke("extract", "reports", "-o", "out", "-q").exit_code == 0
    result = work / "out" / "yiyang_2024.json"
    data = json.loads(result.read_text(encoding="utf-8"))
    data["source"] = "reports/yiyang_2024.md"  # as older versions recorded it
    result.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert invoke("view", result, "-o", tmp_path / "v.html").exit_code == 0


def test_view_refuses_to_embed_a_file_the_result_names_when_its_sha256_differs(tmp_path):
    secret = tmp_path / "private.txt"
    secret.write_text("私人笔记：不应出现在页面里的内容。" * 5, encoding="utf-8")
    assert invoke("extract", REPORTS / "yiyang_2024.md", "-o", tmp_path / "out", "-q").exit_code == 0
    result = tmp_path / "out" / "yiyang_2024.json"
    data = json.loads(result.read_text(encoding="utf-8"))
    data["source"] = str(secret)  # a crafted (or stale) result naming some other local file
    result.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    page = tmp_path / "v.html"
    res = invoke("view", result, "-o", page)
    assert res.exit_code == 1
    assert "sha256 differs" in res.output and "--source" in res.output
    assert not page.exists()
    # naming the file explicitly is the user's choice: shown, with the mismatch noted
    assert invoke("view", result, "-o", page, "--source", secret).exit_code == 0
    assert "sha256 mismatch" in page.read_text(encoding="utf-8")

"""First-use stumbles and small defects of the command line (issue 9): each one a test of what a
user sees — a clear message, nothing lost or silently replaced, nothing read that should not be."""

from __future__ import annotations

import json
from pathlib import Path
import os
import shutil

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


def test_a_folder_scan_says_which_files_it_passed_over_and_what_to_do(tmp_path):
    inp = tmp_path / "in"
    (inp / "sub").mkdir(parents=True)
    shutil.copy(REPORTS / "yiyang_2024.md", inp)
    for name in ("a.doc", "sub/b.doc", "c.wps", "d.xls", "~$lock.doc", ".hidden.doc", "photo.png"):
        (inp / name).write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    res = invoke("extract", inp, "-o", tmp_path / "out", "-q")
    assert res.exit_code == 0, res.output
    assert "passed over 2 .doc, 1 .wps file(s) (not read): open them in Word or WPS and save as .docx" in res.output
    assert "passed over 1 .xls file(s) (not read): spreadsheets are not read" in res.output
    assert ".png" not in res.output


def test_help_shows_no_python_type_tags():
    for cmd in ("extract", "eval", "digest", "view", "estimate", "schema"):
        res = CliRunner(env={"COLUMNS": "200"}).invoke(app, [cmd, "--help"])
        assert res.exit_code == 0
        for tag in ("<bool>", "<list[", "{paths}", "{results}", "<str>", "<int>"):
            assert tag not in res.output, f"{cmd}: {tag}"
    usage = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["extract", "--help"]).output
    assert "Usage: llm-extract extract [OPTIONS] PATHS..." in usage
    out_line = next(line for line in usage.splitlines() if "--out" in line)
    assert " PATH " in out_line  # options that take a value still name it
    force_line = next(line for line in usage.splitlines() if "--force " in line)
    assert force_line.split("--force", 1)[1].lstrip().startswith("Re-extract")  # a flag takes none


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("res") / "out"
    assert invoke("extract", REPORTS, "-o", out, "-q").exit_code == 0
    return out


def test_view_refuses_an_output_that_is_not_html(results, tmp_path):
    res = invoke("view", results / "yiyang_2024.json", "-o", tmp_path / "x.pdf")
    assert res.exit_code == 2 and "HTML page" in res.output and ".html" in res.output
    assert not (tmp_path / "x.pdf").exists()


def test_digest_of_problems_only_does_not_talk_about_measures(results, tmp_path):
    res = invoke("digest", results, "-o", tmp_path / "d.md", "--category", "problem")
    assert res.exit_code == 0, res.output
    assert "without a measure" not in res.output and "measures" not in res.output
    md = (tmp_path / "d.md").read_text(encoding="utf-8")
    assert "0 measures" not in md and "no measure addresses" not in md.lower()
    html_res = invoke("digest", results, "-o", tmp_path / "d.html", "--category", "problem")
    assert html_res.exit_code == 0
    page = (tmp_path / "d.html").read_text(encoding="utf-8")
    assert "0 measures" not in page and "Problems no measure addresses" not in page
    full = invoke("digest", results, "-o", tmp_path / "all.md")  # the default still links them
    assert "without a measure" in full.output
    assert "Problems no measure addresses" in (tmp_path / "all.md").read_text(encoding="utf-8")


def test_csv_digest_names_every_file_it_writes(results, tmp_path):
    res = invoke("digest", results, "-o", tmp_path / "d.csv")
    assert res.exit_code == 0, res.output
    written = sorted(p.name for p in tmp_path.glob("*.csv"))
    assert len(written) > 1
    flat = res.output.replace("\n", "")
    for name in written:
        assert name in flat

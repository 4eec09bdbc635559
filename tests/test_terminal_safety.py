"""File names, paths and server error texts are printed literally on every command.

Rich reads `[...]` as markup: a folder `a[` holding `]x.txt` makes the path `a[/]x.txt`, which used
to raise a MarkupError (and, with --backend openai, lose the whole batch); a folder `[old]` vanished
from printed paths; an ESC in a name reached the terminal as a live control sequence.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_extract.cli import app
from llm_extract.terminal import lit, printable
from mock_openai_server import MockOpenAIServer, excerpt_of, status

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "fixtures" / "reports" / "yiyang_2024.md"
ESC_NAME = "\x1b[31mred\x1b]0;title\x07"
SERVER_ERROR = "Invalid value at [/messages/1/content]: [bold]x[/bold] \x1b[2J\x1b]0;pwned\x07"


pytestmark = pytest.mark.usefixtures("offline_env")


def run(*args: str):
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "MarkupError" not in res.output and "Traceback" not in res.output, res.output
    assert "\x1b" not in res.output and "\x07" not in res.output, repr(res.output)  # no live control codes
    return res


def _inputs(tmp_path: Path) -> Path:
    """A folder with the names that used to break the output: a[/]x (good), r (good), a report whose
    name holds ESC and BEL (good), and [old]/[/x]/bad<ESC>.docx (not a real .docx: fails)."""
    root = tmp_path / "in"
    (root / "a[").mkdir(parents=True)
    shutil.copy(REPORT, root / "a[" / "]x.md")
    shutil.copy(REPORT, root / "r.md")
    shutil.copy(REPORT, root / f"{ESC_NAME}.md")
    broken = root / "[old]" / "[" / "x]"
    broken.mkdir(parents=True)
    (broken / "bad\x1b[2J.docx").write_bytes(b"not a zip [/x] \x1b[2J")
    return root


BROKEN = "[old]/[/x]/bad\\x1b[2J.docx"  # as it must be printed


def test_printable_and_lit_show_controls_and_brackets_literally():
    assert printable("a\x1bb\x07\x9b\u202e\n") == "a\\x1bb\\x07\\x9b\\u202e\\x0a"
    assert printable("line1\nline2\ttab", multiline=True) == "line1\nline2\ttab"
    from rich.text import Text
    for s in ("a[/]x.txt", "[old]/r", "[/x]", "x\\", "[bold]b[/bold]", "[link=http://e]e[/link]"):
        assert Text.from_markup(lit(s)).plain == s


def test_extract_prints_bracket_and_control_names_literally(tmp_path):
    root = _inputs(tmp_path)
    out = tmp_path / "o[/]ut"
    res = run("extract", root, "-o", out)
    assert res.exit_code == 1  # the fake .docx
    assert f"failed {root}/{BROKEN}: " in res.output  # [old] kept, [/x] shown, ESC made visible
    assert f"{out}" in res.output  # the output folder name, as given
    assert {p.name for p in out.glob("*.json")} == {"]x.json", "r.json", f"{ESC_NAME}.json"}
    again = run("extract", root, "-o", out)  # the summary table of a rerun holds every name
    assert "]x" in again.output and "\\x1b[3" in again.output


def test_openai_batch_survives_a_server_error_full_of_markup_and_escapes(tmp_path, monkeypatch):
    root = _inputs(tmp_path)
    odd = root / "a[" / "]x.md"  # its copy alone uses full-width periods: its calls get the bad error
    odd.write_text(odd.read_text(encoding="utf-8").replace("。", "．"), encoding="utf-8")

    def respond(body):
        return status(400, message=SERVER_ERROR) if "．" in (excerpt_of(body) or "") else None

    with MockOpenAIServer(responder=respond) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        res = run("extract", root, "-o", tmp_path / "out", "--backend", "openai", "--max-retries", "0")
    assert res.exit_code == 1
    assert f"{root}/a[/]x.md: " in res.output and f"{root}/{BROKEN}: " in res.output
    assert "Invalid value at [/messages/1/content]: [bold]x[/bold] \\x1b[2J\\x1b]0;pwned\\x07" in res.output
    # the other readable reports were still written
    assert {p.name for p in (tmp_path / "out").glob("*.json")} == {"r.json", f"{ESC_NAME}.json"}


def test_digest_eval_estimate_and_view_print_names_literally(tmp_path):
    root = _inputs(tmp_path)
    results = tmp_path / "r["
    assert run("extract", root, "-o", results).exit_code == 1
    (results / "]bad.json").write_text("{not json", encoding="utf-8")
    (results / "[b]ad.json").write_text("[]", encoding="utf-8")

    dg = run("digest", results, "-o", tmp_path / "d[/]x.md")
    assert dg.exit_code == 1  # the unusable files are named and skipped
    assert f"skipped {results}/]bad.json" in dg.output and "[b]ad.json" in dg.output
    assert "d[/]x.md" in dg.output

    vw = run("view", results / "]x.json", "-o", tmp_path / "v[/]x.html")
    assert vw.exit_code == 0 and "v[/]x.html" in vw.output

    es = run("estimate", root)
    assert es.exit_code == 1 and "]x" in es.output and "\\x1b[31mred" in es.output

    gold = tmp_path / "g["
    gold.mkdir()
    shutil.copy(ROOT / "fixtures" / "gold" / "yiyang_2024.json", gold / "yiyang_2024.json")
    pred = tmp_path / "p[" / "]red"
    pred.mkdir(parents=True)
    ev = run("eval", "--gold", gold, "--reports", ROOT / "fixtures" / "reports", "--pred", pred)
    assert ev.exit_code == 2  # no prediction for any gold document: an error, not a table of zeros
    assert f"--pred {pred}: no <doc_id>.json" in ev.output.replace("\n", "")
    shutil.copy(ROOT / "fixtures" / "gold" / "lianjiang_2024.json", gold / "lianjiang_2024.json")
    assert run("extract", ROOT / "fixtures" / "reports" / "lianjiang_2024.txt", "-o", pred).exit_code == 0
    ev = run("eval", "--gold", gold, "--reports", ROOT / "fixtures" / "reports", "--pred", pred)
    assert ev.exit_code == 1
    assert f"no prediction {pred}/yiyang_2024.json" in ev.output

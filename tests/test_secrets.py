"""The API key and the credentials of the base URL never leave the HTTP client: not on the terminal,
not in a result, digest, viewer page or eval file, not in the response cache — even when the server
echoes them in its error bodies and the model repeats the key in its answers.

Every command that can talk to a model, or show what one said, runs against the local mock server
(real openai client over 127.0.0.1); then every file under the test folder and every output stream
is searched for the secrets.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_extract.cli import app
from mock_openai_server import MockOpenAIServer, excerpt_of, last_user_message, reply, status
from test_llm_backend import ITEMS, TEXT  # a small report and its items

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-proj-LEAKME-9f8e7d6c5b4a3210zyxw"
PASSWORD = "hunter2-proxy-pass"


def _echo(url: str) -> str:
    """What a careless server says back: the key, the URL with its credentials, the auth header."""
    return f"Incorrect API key provided: {KEY} for {url} (Authorization: Bearer {KEY})"


def _responder(url: str, echoed: list[str]):
    def respond(body: dict):
        ex = excerpt_of(body) or ""
        prompt = last_user_message(body)
        if "村医甲" in ex:  # every call about report 甲 fails, quoting the secrets
            echoed.append("error")
            return status(400, message=_echo(url))
        if "村医乙" in ex:  # the model repeats the key inside its answer
            echoed.append("answer")
            items = [{"category": i["category"], "quote": i["quote"].replace("村医", "村医乙")} for i in ITEMS]
            return reply({"items": items + [{"category": "problem", "quote": f"密钥 {KEY} 已泄露"}]})
        if "主题表" in prompt:  # digest --llm theme assignment
            echoed.append("error")
            return status(400, message=_echo(url))
        if "cited" in prompt:  # digest --llm theme summary
            echoed.append("answer")
            return reply({"summary": f"各单位反映问题集中，密钥为 {KEY}，地址 {url}。", "cited": [1]})
        return None
    return respond


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _assert_clean(text: str | bytes, where: str) -> None:
    data = text.encode("utf-8") if isinstance(text, str) else text
    for secret in (KEY, PASSWORD, "LEAKME"):
        assert secret.encode() not in data, f"{secret!r} leaked into {where}"


@pytest.fixture
def env(offline_env):
    offline_env.setenv("OPENAI_API_KEY", KEY)
    offline_env.setenv("LLM_EXTRACT_BACKOFF", "0.01")
    offline_env.setenv("LLM_EXTRACT_MAX_RETRIES", "1")
    return offline_env


def test_secrets_echoed_by_the_server_reach_no_output_stream_file_or_cache(tmp_path, env):
    inp = tmp_path / "in"
    inp.mkdir()
    for name in ("甲", "乙", "丙"):
        (inp / f"{name}.txt").write_text(TEXT.replace("村医", f"村医{name}"), encoding="utf-8")
    out = tmp_path / "out"
    streams: list[str] = []
    echoed: list[str] = []
    runner = CliRunner()

    def run(*args: str):
        res = runner.invoke(app, list(args))
        streams.append(res.output)
        assert "Traceback" not in res.output, res.output
        return res

    with MockOpenAIServer(oracle=[{"items": ITEMS}]) as srv:
        url = srv.base_url.replace("http://", f"http://proxyuser:{PASSWORD}@")
        srv.responder = _responder(url, echoed)
        env.setenv("OPENAI_BASE_URL", url)

        ext = run("extract", str(inp), "-o", str(out), "--backend", "openai", "--keep-ungrounded")
        assert ext.exit_code == 1  # report 甲 failed
        assert "Incorrect API key provided: ***" in ext.output  # the echo is shown, masked
        assert (out / "乙.json").exists() and (out / "丙.json").exists()
        again = run("extract", str(inp), "-o", str(out), "--backend", "openai", "--keep-ungrounded")
        assert again.exit_code == 1

        run("estimate", str(inp))
        ev = run("eval", "--gold", str(ROOT / "fixtures" / "gold"), "--reports", str(ROOT / "fixtures" / "reports"),
                 "--backend", "openai", "--save-pred", str(tmp_path / "pred"), "--json", str(tmp_path / "eval.json"))
        assert ev.exit_code in (0, 1), ev.output
        for suffix in ("html", "md", "json", "csv"):
            dg = run("digest", str(out), "-o", str(tmp_path / f"digest.{suffix}"), "--llm")
            assert dg.exit_code == 0, dg.output
        assert "theme assignment failed" in streams[-1] and "***" in streams[-1]
        vw = run("view", str(out / "乙.json"), "-o", str(tmp_path / "view.html"))
        assert vw.exit_code == 0, vw.output

    # a wrong key the server quotes back, and an unreachable URL with credentials in it
    with MockOpenAIServer(api_key="the-right-key") as srv:
        env.setenv("OPENAI_BASE_URL", srv.base_url.replace("http://", f"http://proxyuser:{PASSWORD}@"))
        bad = run("extract", str(inp), "-o", str(tmp_path / "out401"), "--backend", "openai", "--no-cache")
        assert bad.exit_code == 1 and "401" in bad.output
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env.setenv("OPENAI_BASE_URL", f"http://proxyuser:{PASSWORD}@127.0.0.1:{port}/v1")
    down = run("extract", str(inp), "-o", str(tmp_path / "outdown"), "--backend", "openai", "--no-cache")
    assert f"cannot reach http://***@127.0.0.1:{port}/v1" in down.output

    assert "error" in echoed and "answer" in echoed  # the server did echo; we did not pass it on
    for i, text in enumerate(streams):
        _assert_clean(text, f"the output of command {i}")
    files = _files(tmp_path)
    assert any(p.name.startswith("responses.sqlite3") for p in files)  # the cache was written
    assert {"digest.html", "digest.md", "digest.json", "view.html", "eval.json"} <= {p.name for p in files}
    for p in files:
        if p.parent != inp:
            _assert_clean(p.read_bytes(), str(p.relative_to(tmp_path)))
    # the echoed key cannot be grounded: it is kept, masked, only among the ungrounded items
    rep = json.loads((out / "乙.json").read_text(encoding="utf-8"))
    assert any("***" in u["quote"] for u in rep["ungrounded"])


def test_report_text_that_happens_to_match_a_credential_is_not_masked(tmp_path, env):
    """A short proxy password like '2024' masks the server's echo, but the report's own '2024'
    quoted by the model is source text, not an echo: the item is kept whole."""
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "r.txt").write_text(TEXT.replace("二是信息化", "二是2024年信息化"), encoding="utf-8")
    answer = [{"category": i["category"], "quote": i["quote"].replace("二是信息化", "二是2024年信息化")} for i in ITEMS]
    with MockOpenAIServer(responder=lambda body: {"items": answer}) as srv:
        env.setenv("OPENAI_BASE_URL", srv.base_url.replace("http://", "http://proxy:2024@"))
        res = CliRunner().invoke(app, ["extract", str(inp), "-o", str(tmp_path / "out"), "--backend", "openai"])
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "out" / "r.json").read_text(encoding="utf-8"))
    assert [p["quote"] for p in rep["problems"]][1] == "二是2024年信息化建设滞后，资源利用率低。"

"""`--concurrency N` is what a user gets through the CLI: N requests in flight, even when every
document needs only one call (the batch used to keep 4 documents open whatever N was)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from llm_extract.cli import app
from mock_openai_server import MockOpenAIServer

TEXT = "三、存在问题\n一是第{n}号单位村医老龄化现象突出。\n\n四、下一步改进措施\n下一步，第{n}号单位将加强村医培训。\n"


@pytest.mark.parametrize("concurrency", [6, 12])
def test_requests_in_flight_reach_the_concurrency_flag(tmp_path, monkeypatch, concurrency):
    for k in ("LLM_EXTRACT_MODEL", "LLM_EXTRACT_CONFIG"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    inp = tmp_path / "in"
    inp.mkdir()
    docs = 3 * concurrency
    for n in range(docs):
        (inp / f"d{n:02d}.txt").write_text(TEXT.format(n=n), encoding="utf-8")
    with MockOpenAIServer(latency=0.3) as srv:
        res = CliRunner().invoke(app, ["extract", str(inp), "-o", str(tmp_path / "out"), "--backend", "openai",
                                       "--base-url", srv.base_url, "--no-cache", "--concurrency", str(concurrency)])
        assert res.exit_code == 0, res.output
        assert len(srv.chat_requests) == docs  # one call per document
        assert srv.max_in_flight == concurrency

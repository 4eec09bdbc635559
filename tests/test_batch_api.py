"""`extract --batch` end to end: the real `openai` client against a local /v1/files + /v1/batches
(tests/mock_batch_api.py) answering as the oracle, compared with the synchronous path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from _oracle import GoldSet, gold_with_text
from llm_extract.cli import app
from llm_extract.llm.batch_api import STATE_DIR, Wire, endpoint_path, load_states, poll_delays
from llm_extract.llm.pricing import price_table
from mock_batch_api import MockBatchServer

ROOT = Path(__file__).resolve().parents[1]
FIX = GoldSet("fixtures", ROOT / "fixtures" / "gold", ROOT / "fixtures" / "reports")
GOLD, FILES = gold_with_text(FIX)
MODEL = "gpt-4o-mini"

pytestmark = pytest.mark.usefixtures("offline_env")


def extract(srv, out: Path, *extra: str):
    args = ["extract", *map(str, FILES), "-o", str(out), "--base-url", srv.base_url, "--model", MODEL, *extra]
    return CliRunner().invoke(app, args, catch_exceptions=False, env={"OPENAI_API_KEY": "sk-test-batch-key"})


def batch(srv, out: Path, cache: Path, *extra: str):
    return extract(srv, out, "--batch", "--batch-poll", "0.01", "--cache", str(cache), *extra)


def results(out: Path) -> dict[str, dict]:
    """What a user reads from each result: the items, indicators and metadata (not timings)."""
    got = {}
    for p in sorted(out.glob("*.json")):
        r = json.loads(p.read_text(encoding="utf-8"))
        got[p.stem] = {k: r[k] for k in ("goals", "achievements", "problems", "measures", "indicators", "meta")}
    return got


def stats(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8"))["stats"] for p in sorted(out.glob("*.json"))}


@pytest.fixture(scope="module")
def synchronous(tmp_path_factory):
    """The synchronous run's results, stats and request bodies on the fixtures."""
    out = tmp_path_factory.mktemp("sync")
    with MockBatchServer(oracle=GOLD) as srv:
        mp = pytest.MonkeyPatch()
        for k in ("OPENAI_BASE_URL", "LLM_EXTRACT_CONFIG", "LLM_EXTRACT_MODEL"):
            mp.delenv(k, raising=False)
        mp.setenv("XDG_CONFIG_HOME", str(out / "cfg"))
        try:
            res = extract(srv, out / "out", "--no-cache")
        finally:
            mp.undo()
        assert res.exit_code == 0, res.output
        bodies = [r["body"] for r in srv.chat_requests]
    return results(out / "out"), stats(out / "out"), bodies


def uploaded_lines(srv) -> list[dict]:
    files = [f for f in srv.files.values() if f["obj"]["purpose"] == "batch"]
    return [json.loads(x) for f in files for x in f["data"].splitlines() if x.strip()]


def test_completed_batch_writes_what_the_synchronous_path_writes_at_the_batch_price(tmp_path, synchronous):
    want, sync_stats, sync_bodies = synchronous
    with MockBatchServer(oracle=GOLD, polls=2) as srv:
        srv.poll_errors = 2  # status checks that fail are tried again at the next poll
        res = batch(srv, tmp_path / "out", tmp_path / "c.sqlite")
        assert res.exit_code == 0, res.output
        assert srv.poll_errors == 0
        assert srv.chat_requests == []  # nothing went the synchronous way
        assert srv.batches_created == 1
        lines = uploaded_lines(srv)
        batch_obj = next(iter(srv.batches.values()))
    assert (batch_obj["endpoint"], batch_obj["completion_window"]) == ("/v1/chat/completions", "24h")
    # each line is exactly a request the synchronous run sent, and every such request is a line
    key = lambda b: json.dumps(b, sort_keys=True, ensure_ascii=False)  # noqa: E731
    assert sorted(key(x["body"]) for x in lines) == sorted(key(b) for b in sync_bodies)
    assert all(x["url"] == "/v1/chat/completions" and x["method"] == "POST" for x in lines)
    assert len({x["custom_id"] for x in lines}) == len(lines)
    assert all(x["custom_id"].split(":")[0] in want for x in lines)  # names the document
    assert results(tmp_path / "out") == want
    got = stats(tmp_path / "out")
    price = price_table()[MODEL]
    for doc, s in got.items():
        sync = sync_stats[doc]
        assert s["llm_calls"] == 0 and s["batch_calls"] == sync["llm_calls"]
        assert (s["prompt_tokens"], s["completion_tokens"]) == (sync["prompt_tokens"], sync["completion_tokens"])
        # every token at the batch price (prefix-cached ones at the cached price, then the factor)
        assert s["cost"] == pytest.approx(price.cost(s["prompt_tokens"], s["completion_tokens"],
                                                     cached_tokens=s["cached_tokens"], batch=True), abs=2e-6)
        assert s["cost"] < sync["cost"]
    assert sum(s["batch_calls"] for s in got.values()) == len(lines)
    usd = sum(s["cost"] for s in got.values())
    assert f"batch: {len(lines)} request(s) answered" in res.output and f"{usd:.4f} USD" in res.output
    assert load_states(tmp_path / "out") == []  # the run is written: nothing left to resume


def test_rerun_is_served_from_the_cache_without_a_new_batch(tmp_path, synchronous):
    want = synchronous[0]
    cache = tmp_path / "c.sqlite"
    with MockBatchServer(oracle=GOLD) as srv:
        assert batch(srv, tmp_path / "a", cache).exit_code == 0
        res = batch(srv, tmp_path / "b", cache)
        assert res.exit_code == 0, res.output
        assert srv.batches_created == 1 and srv.chat_requests == []
        assert "nothing to send" in res.output
        # the answers sit under the synchronous path's cache keys: it sends nothing either
        res = extract(srv, tmp_path / "c", "--cache", str(cache))
        assert res.exit_code == 0, res.output
        assert srv.batches_created == 1 and srv.chat_requests == []
    assert results(tmp_path / "b") == want == results(tmp_path / "c")


def test_failed_lines_are_asked_synchronously_and_nothing_is_lost(tmp_path, synchronous):
    want = synchronous[0]
    bad: dict[str, str] = {}

    def line_error(cid: str, body: dict):
        if len(bad) < 3 and cid not in bad:
            bad[cid] = ("error", "server_error") if len(bad) == 0 else (
                ("status", 500) if len(bad) == 1 else ("content", '{"items": [{"category": "nonsense"}]}'))
            return bad[cid]
        return None

    with MockBatchServer(oracle=GOLD, line_error=line_error) as srv:
        res = batch(srv, tmp_path / "out", tmp_path / "c.sqlite")
        assert res.exit_code == 0, res.output
        assert len(srv.chat_requests) == 3  # exactly the three failed lines, asked again
        total = len(uploaded_lines(srv))
    assert "3 batch answer(s) failed" in res.output
    assert results(tmp_path / "out") == want
    got = stats(tmp_path / "out")
    assert sum(s["llm_calls"] for s in got.values()) == 3
    assert sum(s.get("batch_calls", 0) for s in got.values()) == total - 3


@pytest.mark.parametrize("outcome", ["expired", "failed"])
def test_a_batch_that_ends_unfinished_names_partial_documents_and_a_rerun_sends_only_the_rest(
        tmp_path, synchronous, outcome):
    want = synchronous[0]
    cache = tmp_path / "c.sqlite"
    with MockBatchServer(oracle=GOLD, outcome=outcome) as srv:
        res = batch(srv, tmp_path / "out", cache)
        assert res.exit_code == 1, res.output
        assert srv.chat_requests == []  # a dead batch never silently doubles the bill
        total = len(uploaded_lines(srv))
        answered = srv.lines_answered
        assert f"batch batch_1 {outcome}" in res.output
        if outcome == "failed":
            assert "the batch failed validation" in res.output
        written = results(tmp_path / "out")
        assert len(written) < len(want)
        assert "partial" in res.output
        for doc in set(want) - set(written):
            assert doc in res.output  # each partial document is named
        for doc, r in written.items():
            assert r == want[doc]
        assert load_states(tmp_path / "out") == []
        srv.outcome = "completed"
        res = batch(srv, tmp_path / "out", cache)
        assert res.exit_code == 0, res.output
        assert srv.batches_created == 2
        assert len(uploaded_lines(srv)) == total + (total - answered)  # the second sent only the rest
    assert results(tmp_path / "out") == want


def _cli(*args: str, env: dict) -> subprocess.Popen:
    code = "import sys; from llm_extract.cli import main; sys.argv = ['llm-extract', *sys.argv[1:]]; main()"
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_EXTRACT_"))}
    env.update(OPENAI_API_KEY="sk-test-batch-key", PYTHONPATH=str(ROOT), XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               XDG_CACHE_HOME=str(tmp_path / "xdg-cache"), COLUMNS="200")
    return env


def _wait_submitted(out: Path, proc: subprocess.Popen) -> str:
    """The batch id once the state file names it (the subprocess is then polling)."""
    stop = threading.Event()
    while not stop.wait(0.02):
        states = load_states(out)
        if states and states[0].batch_id:
            return states[0].batch_id
        assert proc.poll() is None, proc.communicate()
    raise AssertionError("unreachable")


def _start(srv, tmp_path: Path, out: Path) -> subprocess.Popen:
    return _cli("extract", *map(str, FILES), "-o", str(out), "--base-url", srv.base_url, "--model", MODEL,
                "--batch", "--batch-poll", "0.02", "--cache", str(tmp_path / "c.sqlite"), env=_env(tmp_path))


def test_resume_after_kill_9_between_submit_and_collect(tmp_path, synchronous):
    want = synchronous[0]
    out = tmp_path / "out"
    hold = threading.Event()
    with MockBatchServer(oracle=GOLD, hold=hold) as srv:
        proc = _start(srv, tmp_path, out)
        batch_id = _wait_submitted(out, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert results(out) == {}
        hold.set()  # the provider finishes the batch while nobody is watching
        res = batch(srv, out, tmp_path / "c.sqlite")  # the same command again
        assert res.exit_code == 0, res.output
        assert srv.batches_created == 1 and srv.chat_requests == []  # collected, not sent again
    assert "resuming 1 batch(es)" in res.output
    assert batch_id == "batch_1"
    assert results(out) == want
    assert not any((out / STATE_DIR).glob("*.json"))


def test_ctrl_c_detaches_and_batch_cancel_stops_the_batch(tmp_path, synchronous):
    want = synchronous[0]
    out = tmp_path / "out"
    with MockBatchServer(oracle=GOLD, hold=threading.Event()) as srv:  # never finishes on its own
        proc = _start(srv, tmp_path, out)
        _wait_submitted(out, proc)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, stderr
        assert "detached" in stderr and "batch cancel" in stderr
        assert [s.batch_id for s in load_states(out)] == ["batch_1"]  # kept, to resume or cancel

        res = CliRunner().invoke(app, ["batch", "status", "-o", str(out)], env={"OPENAI_API_KEY": "sk-test-batch-key"})
        assert res.exit_code == 0 and "batch_1" in res.output and "in_progress" in res.output
        res = CliRunner().invoke(app, ["batch", "cancel", "-o", str(out)], env={"OPENAI_API_KEY": "sk-test-batch-key"})
        assert res.exit_code == 0, res.output
        assert "cancelling" in res.output

        res = batch(srv, out, tmp_path / "c.sqlite")  # collects what was answered before the cancel
        assert res.exit_code == 1, res.output
        assert "batch_1 cancelled" in res.output
        assert srv.batches_created == 1 and srv.chat_requests == []
    written = results(out)
    assert written and len(written) < len(want)
    for doc, r in written.items():
        assert r == want[doc]


def test_batch_needs_an_endpoint_and_says_so(tmp_path):
    res = CliRunner().invoke(app, ["extract", str(FILES[0]), "-o", str(tmp_path), "--backend", "rules", "--batch"])
    assert res.exit_code == 2
    assert "--batch needs a model endpoint" in res.output


def test_request_body_and_answer_parsing_follow_the_method(tmp_path):
    """Each structured-output method's body carries its own format (strict schema, tool, JSON mode),
    and an answer that does not validate is rejected as the synchronous path rejects it."""
    from llm_extract.llm.schema import Extraction
    from llm_extract.llm.settings import LLMSettings
    from mock_openai_server import completion

    msgs = [{"role": "system", "content": "s"}, {"role": "user", "content": "<report_excerpt>x</report_excerpt>"}]
    for method, field in (("json_schema", "response_format"), ("function_calling", "tools"),
                          ("json_mode", "response_format")):
        s = LLMSettings(model=MODEL, base_url="http://127.0.0.1:9/v1", api_key="sk-x", method=method)
        w = Wire(s, method, Extraction)
        body = w.body(msgs)
        assert body["messages"] == msgs and body["model"] == MODEL and field in body
        ok = w.parse(completion(body, '{"items": [{"category": "problem", "quote": "x"}]}', 1))
        assert ok["parsed"].items[0].quote == "x"
        if method == "json_schema":
            with pytest.raises(ValueError):
                w.parse(completion(body, '{"items": [{"category": 3}]}', 1))
        else:
            assert w.parse(completion(body, '{"items": [{"category": 3}]}', 1))["parsed"] is None


def test_poll_interval_starts_short_and_grows_to_the_maximum():
    d = poll_delays(60.0)
    first = [next(d) for _ in range(12)]
    assert first[0] == 5.0 and first == sorted(first) and first[-1] == 60.0


def test_identical_requests_of_two_documents_are_sent_and_billed_once(tmp_path, synchronous):
    src = FILES[0]
    for name in ("copy_a", "copy_b"):
        (tmp_path / f"{name}{src.suffix}").write_bytes(src.read_bytes())
    out = tmp_path / "out"
    with MockBatchServer(oracle=GOLD) as srv:
        res = CliRunner().invoke(app, ["extract", str(tmp_path / f"copy_a{src.suffix}"), str(tmp_path / f"copy_b{src.suffix}"),
                                       "-o", str(out), "--base-url", srv.base_url, "--model", MODEL, "--batch",
                                       "--batch-poll", "0.01", "--cache", str(tmp_path / "c.sqlite")],
                                 catch_exceptions=False, env={"OPENAI_API_KEY": "sk-test-batch-key"})
        assert res.exit_code == 0, res.output
        lines = uploaded_lines(srv)
    got = stats(out)
    assert len(lines) == synchronous[1][src.stem]["llm_calls"]  # one document's worth
    assert sum(s.get("batch_calls", 0) for s in got.values()) == len(lines)
    assert sum(s["cached_calls"] for s in got.values()) == len(lines)
    a, b = results(out).values()
    assert a == b == synchronous[0][src.stem]


def test_a_batch_created_just_before_a_kill_is_found_not_sent_again(tmp_path, synchronous):
    """Killed after the provider created the batch but before its id was saved: the rerun finds it
    by the local id it carries in its metadata."""
    from llm_extract.llm.batch_run import BatchAnswers, BatchRun
    from llm_extract.llm.settings import LLMSettings

    out, cache = tmp_path / "out", tmp_path / "c.sqlite"
    with MockBatchServer(oracle=GOLD) as srv:
        settings = LLMSettings(model=MODEL, base_url=srv.base_url, api_key="sk-test-batch-key", cache_path=cache)
        run = BatchRun(BatchAnswers.from_settings(settings), out)
        (st,) = run.plan(FILES, force=False)
        st.save(run.folder)
        st.input_file_id = run.provider.upload(st.input_path(run.folder))
        st.status = "uploaded"
        st.save(run.folder)
        run.provider.create(st.input_file_id, st.local_id)  # ... and the process dies here
        run.backend.cache.close()
        res = batch(srv, out, cache)
        assert res.exit_code == 0, res.output
        assert srv.batches_created == 1 and srv.chat_requests == []
    assert results(out) == synchronous[0]


def test_an_endpoint_without_a_batch_api_is_one_clear_error(tmp_path):
    from mock_openai_server import MockOpenAIServer

    with MockOpenAIServer() as srv:
        res = batch(srv, tmp_path / "out", tmp_path / "c.sqlite")
    assert res.exit_code == 1
    assert "may not offer the Batch API" in res.output and "run without --batch" in res.output
    assert "sk-test-batch-key" not in res.output
    assert load_states(tmp_path / "out") == []


def test_a_batch_answer_echoing_the_key_is_scrubbed_before_it_is_used_or_cached(tmp_path):
    key = "sk-test-batch-key"
    echo = json.dumps({"items": [{"category": "problem", "quote": f"key {key} here"}]})
    out, cache = tmp_path / "out", tmp_path / "c.sqlite"
    with MockBatchServer(oracle=GOLD, line_error=lambda cid, body: ("content", echo)) as srv:
        res = batch(srv, out, cache)
        assert res.exit_code == 0, res.output
    assert key not in res.output
    assert all(key not in p.read_text(encoding="utf-8") for p in out.rglob("*.json"))
    assert key.encode() not in cache.read_bytes()
    got = stats(out).values()
    assert sum(s["ungrounded_dropped"] for s in got) == sum(s["batch_calls"] for s in got)  # masked: not placed


def test_the_batch_endpoint_follows_the_providers_api_version():
    assert endpoint_path(None) == endpoint_path("https://api.openai.com/v1") == "/v1/chat/completions"
    assert endpoint_path("https://dashscope.aliyuncs.com/compatible-mode/v1/") == "/v1/chat/completions"
    assert endpoint_path("https://open.bigmodel.cn/api/paas/v4") == "/v4/chat/completions"
    assert endpoint_path("http://localhost:8000") == "/v1/chat/completions"


def test_killed_after_download_before_writing_reads_the_saved_answer_files(tmp_path, synchronous):
    """The answer files are kept beside the state until the run is written, so a rerun neither
    downloads them again nor sends anything."""
    from llm_extract.llm.batch_run import BatchAnswers, BatchRun
    from llm_extract.llm.settings import LLMSettings

    out, cache = tmp_path / "out", tmp_path / "c.sqlite"
    with MockBatchServer(oracle=GOLD) as srv:
        settings = LLMSettings(model=MODEL, base_url=srv.base_url, api_key="sk-test-batch-key", cache_path=cache)
        run = BatchRun(BatchAnswers.from_settings(settings), out, poll=0.01)
        run.submit(run.plan(FILES, force=False))
        seen: list[int] = []
        run.wait(lambda states: seen.append(states[0].counts.get("completed", 0)))
        run.collect()  # ... and the process dies before any document is written
        run.backend.cache.close()
        assert seen[-1] == len(run.states[0].keys) and seen == sorted(seen)  # progress only moves forward
        downloads = sum(r["path"].endswith("/content") for r in srv.requests)
        res = batch(srv, out, cache)
        assert res.exit_code == 0, res.output
        assert sum(r["path"].endswith("/content") for r in srv.requests) == downloads
        assert srv.batches_created == 1 and srv.chat_requests == []
    assert results(out) == synchronous[0]


def test_the_citing_answer_format_goes_through_the_batch_too(tmp_path):
    with MockBatchServer(oracle=GOLD) as srv:
        res = extract(srv, tmp_path / "sync", "--no-cache", "--answer-format", "cite")
        assert res.exit_code == 0, res.output
        sync_bodies = [r["body"] for r in srv.chat_requests]
        srv.reset()
        res = batch(srv, tmp_path / "batch", tmp_path / "c.sqlite", "--answer-format", "cite")
        assert res.exit_code == 0, res.output
        assert srv.chat_requests == []
        key = lambda b: json.dumps(b, sort_keys=True, ensure_ascii=False)  # noqa: E731
        assert sorted(key(x["body"]) for x in uploaded_lines(srv)) == sorted(key(b) for b in sync_bodies)
    assert results(tmp_path / "batch") == results(tmp_path / "sync")


def test_an_unreadable_file_is_named_and_the_others_go_through_the_batch(tmp_path, synchronous):
    bad = tmp_path / "broken.docx"
    bad.write_bytes(b"not a zip")
    with MockBatchServer(oracle=GOLD) as srv:
        res = batch(srv, tmp_path / "out", tmp_path / "c.sqlite", str(bad))
        assert srv.batches_created == 1 and srv.chat_requests == []
    assert res.exit_code == 1
    assert "broken.docx" in res.output and "failed" in res.output
    assert results(tmp_path / "out") == synchronous[0]


def test_two_passes_go_into_one_batch_and_are_reconciled_as_synchronously(tmp_path):
    with MockBatchServer(oracle=GOLD, noise=0.2, seed=3) as srv:  # passes that disagree
        res = extract(srv, tmp_path / "sync", "--no-cache", "--passes", "2")
        assert res.exit_code == 0, res.output
        calls = len(srv.chat_requests)
        srv.reset()
        res = batch(srv, tmp_path / "batch", tmp_path / "c.sqlite", "--passes", "2")
        assert res.exit_code == 0, res.output
        assert srv.chat_requests == [] and len(uploaded_lines(srv)) == calls
        assert {x["custom_id"].rsplit(":", 1)[1] for x in uploaded_lines(srv)} == {"pass1", "pass2"}
    assert results(tmp_path / "batch") == results(tmp_path / "sync")

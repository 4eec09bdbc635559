"""The SQLite response cache: keys, persistence, location, concurrency, and a rerun that sends nothing."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from llm_extract.backends.base import PartialExtraction
from llm_extract.backends.openai_backend import OpenAIBackend
from llm_extract.llm.cache import CacheError, ResponseCache, cache_key
from llm_extract.document import Document
from llm_extract.pipeline import aextract_document
from llm_extract.llm.settings import LLMSettings
from mock_openai_server import MockOpenAIServer

BASE = dict(model="m", base_url="http://x/v1", method="json_schema", temperature=0.0,
            prompt_version="v1:abc", schema={"type": "object"}, messages=[{"role": "user", "content": "chunk"}])

DOC = Document.from_text(
    "三、存在问题\n一是村医老龄化现象突出。60岁以上村医占38.58%。\n二是信息化建设滞后。\n\n"
    "四、改进措施\n下一步，我局将加强村医培训。\n",
    doc_id="cachedoc",
)
GOLD = [{"items": [
    {"category": "problem", "quote": "一是村医老龄化现象突出。60岁以上村医占38.58%。"},
    {"category": "problem", "quote": "二是信息化建设滞后。"},
    {"category": "measure", "quote": "下一步，我局将加强村医培训。"},
]}]


def test_put_then_get_round_trips_output_and_usage(tmp_path):
    c = ResponseCache(tmp_path / "c.sqlite3")
    k = cache_key(**BASE)
    assert c.get(k) is None
    c.put(k, {"items": [{"category": "goal", "quote": "目标"}]}, model="m", prompt_version="v1",
          prompt_tokens=12, completion_tokens=3)
    hit = c.get(k)
    assert hit.output == {"items": [{"category": "goal", "quote": "目标"}]}
    assert (hit.prompt_tokens, hit.completion_tokens) == (12, 3)


@pytest.mark.parametrize("field,value", [
    ("model", "other"), ("base_url", "http://y/v1"), ("method", "json_mode"), ("temperature", 0.7),
    ("prompt_version", "v2:def"), ("schema", {"type": "array"}),
    ("messages", [{"role": "user", "content": "another chunk"}]),
])
def test_key_changes_with_everything_that_changes_the_answer(field, value):
    assert cache_key(**{**BASE, field: value}) != cache_key(**BASE)


def test_cache_persists_across_processes_reopening_the_file(tmp_path):
    path = tmp_path / "sub" / "c.sqlite3"
    ResponseCache(path).put("k", [1, 2], model="m", prompt_version="v1")
    assert ResponseCache(path).get("k").output == [1, 2]


def test_default_location_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    s = LLMSettings.load({}, None, environ={})
    assert s.resolved_cache_path().is_relative_to(tmp_path / "xdg")
    assert LLMSettings.load({"no_cache": True}, None, environ={}).resolved_cache_path() is None
    assert LLMSettings.load({"cache_path": tmp_path / "mine.db"}, None, environ={}).resolved_cache_path() == tmp_path / "mine.db"


def test_unusable_cache_path_is_a_clear_error(tmp_path):
    bad = tmp_path / "a-folder.sqlite3"
    bad.mkdir()
    with pytest.raises(CacheError, match="cannot open response cache"):
        ResponseCache(bad)


def test_a_damaged_cache_file_is_set_aside_and_costs_requests_not_the_run(tmp_path):
    db = tmp_path / "responses.sqlite3"
    with MockOpenAIServer(oracle=GOLD) as srv:
        first = _run(_backend(srv, db))
        n = len(srv.chat_requests)
        db.write_bytes(b"this is not a database" * 100)  # overwritten, truncated, a bad copy...
        for suffix in ("-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        again = _run(_backend(srv, db))
        assert len(srv.chat_requests) == 2 * n  # asked again, once
        assert [i.model_dump() for i in again.items()] == [i.model_dump() for i in first.items()]
        _run(_backend(srv, db))  # and the fresh cache serves the next run
        assert len(srv.chat_requests) == 2 * n
    aside = list(tmp_path.glob("responses.sqlite3.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")


def test_concurrent_threads_and_tasks_share_one_cache(tmp_path):
    c = ResponseCache(tmp_path / "c.sqlite3")

    def writer(n: int) -> None:
        for i in range(50):
            c.put(f"t{n}-{i}", {"n": n, "i": i}, model="m", prompt_version="v1")
            assert c.get(f"t{n}-{i}").output == {"n": n, "i": i}

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()

    async def tasks() -> None:
        async def one(i: int) -> None:
            await asyncio.sleep(0)
            c.put(f"a{i}", i, model="m", prompt_version="v1")
            assert c.get(f"a{i}").output == i
        await asyncio.gather(*(one(i) for i in range(100)))

    asyncio.run(tasks())
    for t in threads:
        t.join()
    assert len(c) == 4 * 50 + 100


def _backend(srv, cache_path: Path, **kw) -> OpenAIBackend:
    s = LLMSettings(model="gpt-4o-mini", base_url=srv.base_url, api_key="sk-test", cache_path=cache_path,
                    backoff=0.01, timeout=5, **kw)
    return OpenAIBackend.from_settings(s)


def _run(backend, doc=DOC):
    async def main():
        try:
            return await aextract_document(doc, backend)
        finally:
            await backend.aclose()
    return asyncio.run(main())


def test_rerun_is_served_entirely_from_cache(tmp_path):
    db = tmp_path / "responses.sqlite3"
    with MockOpenAIServer(oracle=GOLD) as srv:
        first = _run(_backend(srv, db))
        sent = len(srv.chat_requests)
        assert sent >= 1 and first.stats.llm_calls == sent and first.stats.cached_calls == 0
        srv.reset()
        second = _run(_backend(srv, db))
        assert srv.requests == []  # the server saw nothing
    assert second.stats.cached_calls == first.stats.chunks and second.stats.llm_calls == 0
    assert second.stats.cost == 0.0
    assert [i.model_dump() for i in second.items()] == [i.model_dump() for i in first.items()]


def test_no_cache_sends_again_and_other_model_misses(tmp_path):
    db = tmp_path / "responses.sqlite3"
    with MockOpenAIServer(oracle=GOLD) as srv:
        _run(_backend(srv, db))
        n = len(srv.chat_requests)
        _run(_backend(srv, db, no_cache=True))
        assert len(srv.chat_requests) == 2 * n
        s = LLMSettings(model="gpt-4.1-mini", base_url=srv.base_url, api_key="k", cache_path=db)
        _run(OpenAIBackend.from_settings(s))
        assert len(srv.chat_requests) == 3 * n


def test_only_failed_chunks_are_requested_again(tmp_path):
    """A document with a failed call is not cached as a whole; its good chunks are."""
    db = tmp_path / "responses.sqlite3"
    doc = Document.from_text(DOC.text + "\n五、其他\n" + "下一步，我局将持续推进信息化建设，完善考核机制。" * 60 + "\n",
                             doc_id="two-chunks")

    def fail_long(body):
        from mock_openai_server import excerpt_of, status
        return status(500) if "持续推进信息化建设" in (excerpt_of(body) or "") else None

    with MockOpenAIServer(oracle=GOLD, responder=fail_long) as srv:
        with pytest.raises(PartialExtraction) as partial:
            _run(_backend(srv, db, max_retries=0, max_chunk_tokens=300), doc)
        first = partial.value.report  # what the good calls found travels with the error
        assert partial.value.failed == first.stats.failed_calls >= 1
        assert first.stats.chunks > first.stats.failed_calls
        srv.reset()
        srv.responder = None
        second = _run(_backend(srv, db, max_chunk_tokens=300), doc)
        from mock_openai_server import excerpt_of
        asked = [excerpt_of(r["body"]) for r in srv.chat_requests]
    assert len(asked) == first.stats.failed_calls
    assert all("持续推进信息化建设" in a for a in asked)
    assert second.stats.cached_calls == first.stats.chunks - first.stats.failed_calls

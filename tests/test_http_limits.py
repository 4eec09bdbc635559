"""The LLM backend's HTTP limits against misbehaving local servers: a whole-request deadline (a
server trickling bytes cannot keep a call alive past --timeout) and a cap on an answer's size (an
oversized answer is a per-call failure and never cached)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from llm_extract.backends.base import BackendError
from llm_extract.llm.http_client import ResponseTooLarge, build_async_client
from llm_extract.llm.transport import http_library as _http_library
from llm_extract.llm.cache import ResponseCache
from local_http import LocalServer, backend, completion, extract, send, send_head


def _trickle(data: bytes, every: float):
    def answer(h, srv):
        for i in range(len(data)):
            h.wfile.write(data[i:i + 1])
            h.wfile.flush()
            srv.sent += 1
            time.sleep(every)
    return answer


def _trickled_body(h, srv):
    body = completion('{"items": []}')
    send_head(h, 200, len(body))
    _trickle(body, 0.3)(h, srv)


def _trickled_headers(h, srv):
    body = completion('{"items": []}')
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            .encode() + body)
    _trickle(head, 0.3)(h, srv)


@pytest.mark.parametrize("answer", [_trickled_body, _trickled_headers], ids=["body", "headers"])
def test_a_trickling_server_times_out_at_the_request_deadline(answer):
    # each byte arrives well within the 1 s read timeout, so only a whole-request deadline stops it
    with LocalServer(answer) as srv:
        with pytest.raises(BackendError) as e:
            extract(backend(srv, timeout=1.0))
        assert "timed out" in str(e.value)
        assert not srv.finished.is_set()  # the client gave up before the answer was complete


def test_the_deadline_does_not_cut_a_prompt_answer():
    with LocalServer(lambda h, srv: send(h, 200, completion('{"items": []}'))) as srv:
        report = extract(backend(srv, timeout=5.0))
    assert report.stats.llm_calls >= 1


def _huge(declare_length: bool):
    def answer(h, srv):
        body = completion(json.dumps({"items": [{"category": "problem", "quote": "问题" * 600_000}]},
                                      ensure_ascii=False))
        if declare_length:
            send(h, 200, body)
        else:  # chunked: the size is only known as the bytes arrive
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            for i in range(0, len(body), 65536):
                part = body[i:i + 65536]
                h.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            h.wfile.write(b"0\r\n\r\n")
    return answer


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "chunked"])
def test_an_oversized_answer_is_a_per_call_failure_and_never_cached(tmp_path, declare_length):
    with LocalServer(_huge(declare_length)) as srv:
        with pytest.raises(BackendError) as e:
            extract(backend(srv, tmp_path, max_response_mb=1))
    msg = str(e.value)
    assert "too large" in msg and "1 MB per-call limit" in msg and "max_response_mb" in msg
    cache = ResponseCache(tmp_path / "cache.sqlite3")
    try:
        assert len(cache) == 0
    finally:
        cache.close()


def test_an_answer_within_the_limit_is_accepted_and_cached(tmp_path):
    with LocalServer(_huge(True)) as srv:
        report = extract(backend(srv, tmp_path, max_response_mb=20))
    assert report.stats.llm_calls == 1
    cache = ResponseCache(tmp_path / "cache.sqlite3")
    try:
        assert len(cache) >= 1
    finally:
        cache.close()


def test_the_client_raises_the_size_error_itself():
    lib = _http_library()

    async def main():
        client = build_async_client(lib, deadline=5.0, max_bytes=1000)
        try:
            await client.post(srv.base_url + "/chat/completions", json={})
        finally:
            await client.aclose()

    with LocalServer(_huge(False)) as srv:
        with pytest.raises(ResponseTooLarge):
            asyncio.run(main())


def test_a_cancelled_request_is_cancelled_not_reported_as_a_timeout():
    # Ctrl-C or a stopped batch cancels calls in flight: that must stay a cancellation
    import threading

    arrived, release = threading.Event(), threading.Event()

    def slow(h, srv):
        arrived.set()
        release.wait(10)

    async def main():
        client = build_async_client(_http_library(), deadline=30.0, max_bytes=1000)
        try:
            task = asyncio.ensure_future(client.post(srv.base_url + "/chat/completions", json={}))
            while not arrived.is_set():
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            release.set()
            await client.aclose()

    with LocalServer(slow) as srv:
        asyncio.run(main())


def test_digest_llm_client_has_the_deadline_and_the_size_cap_too():
    """`digest --llm` asks through a blocking client: a trickled answer ends at the deadline (not
    byte by byte forever) and an oversized one is refused."""
    from llm_extract.llm.http_client import build_sync_client

    lib = _http_library()
    with LocalServer(_trickled_body) as srv:
        client = build_sync_client(lib, deadline=1.0, max_bytes=10_000, timeout=lib.Timeout(1.0))
        t0 = time.monotonic()
        with pytest.raises(lib.ReadTimeout):
            client.post(srv.base_url + "/chat/completions", json={})
        assert time.monotonic() - t0 < 3.0 and not srv.finished.is_set()
        client.close()
    with LocalServer(_huge(False)) as srv:
        client = build_sync_client(lib, deadline=5.0, max_bytes=1000)
        with pytest.raises(ResponseTooLarge):
            client.post(srv.base_url + "/chat/completions", json={})
        client.close()

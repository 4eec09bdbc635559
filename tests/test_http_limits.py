"""The LLM backend's HTTP limits against misbehaving local servers: a whole-request deadline (a
server trickling bytes cannot keep a call alive past --timeout) and a cap on an answer's size (an
oversized answer is a per-call failure and never cached)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from llm_extract.backends.base import BackendError
from llm_extract.backends.http_client import ResponseTooLarge, build_async_client
from llm_extract.backends.openai_backend import OpenAIBackend, _http_library
from llm_extract.cache import ResponseCache
from llm_extract.document import Document
from llm_extract.pipeline import aextract_document
from llm_extract.settings import LLMSettings

TEXT = "三、存在问题\n一是村医老龄化现象突出。\n四、下一步改进措施\n下一步，我局将加强村医培训。\n"


def _completion(content: str) -> bytes:
    return json.dumps({
        "id": "c1", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }).encode()


class _Server:
    """A local HTTP server whose handler `answer(handler)` writes whatever the test needs."""

    def __init__(self, answer):
        self.sent = 0  # bytes the handler managed to write
        self.finished = threading.Event()  # the handler wrote everything it meant to
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    answer(self, outer)
                    outer.finished.set()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def _trickle(data: bytes, every: float):
    def answer(h, srv):
        for i in range(len(data)):
            h.wfile.write(data[i:i + 1])
            h.wfile.flush()
            srv.sent += 1
            time.sleep(every)
    return answer


def _trickled_body(h, srv):
    body = _completion('{"items": []}')
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    _trickle(body, 0.3)(h, srv)


def _trickled_headers(h, srv):
    body = _completion('{"items": []}')
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            .encode() + body)
    _trickle(head, 0.3)(h, srv)


def _backend(srv, tmp_path=None, **kw) -> OpenAIBackend:
    opts = dict(model="m", base_url=srv.base_url, api_key="k", method="json_mode", backoff=0.01,
                max_retries=0, reasks=0)
    opts["cache_path" if tmp_path else "no_cache"] = tmp_path / "cache.sqlite3" if tmp_path else True
    opts.update(kw)
    return OpenAIBackend.from_settings(LLMSettings(**opts))


def _extract(b: OpenAIBackend, text: str = TEXT):
    async def main():
        try:
            return await aextract_document(Document.from_text(text, doc_id="d"), b)
        finally:
            await b.aclose()
    return asyncio.run(main())


@pytest.mark.parametrize("answer", [_trickled_body, _trickled_headers], ids=["body", "headers"])
def test_a_trickling_server_times_out_at_the_request_deadline(answer):
    # each byte arrives well within the 1 s read timeout, so only a whole-request deadline stops it
    with _Server(answer) as srv:
        with pytest.raises(BackendError) as e:
            _extract(_backend(srv, timeout=1.0))
        assert "timed out" in str(e.value)
        assert not srv.finished.is_set()  # the client gave up before the answer was complete


def test_the_deadline_does_not_cut_a_prompt_answer():
    def prompt(h, srv):
        body = _completion('{"items": []}')
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    with _Server(prompt) as srv:
        report = _extract(_backend(srv, timeout=5.0))
    assert report.stats.llm_calls >= 1


def _huge(declare_length: bool):
    def answer(h, srv):
        body = _completion(json.dumps({"items": [{"category": "problem", "quote": "问题" * 600_000}]},
                                      ensure_ascii=False))
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        if declare_length:
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        else:  # chunked: the size is only known as the bytes arrive
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            for i in range(0, len(body), 65536):
                part = body[i:i + 65536]
                h.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            h.wfile.write(b"0\r\n\r\n")
    return answer


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "chunked"])
def test_an_oversized_answer_is_a_per_call_failure_and_never_cached(tmp_path, declare_length):
    with _Server(_huge(declare_length)) as srv:
        with pytest.raises(BackendError) as e:
            _extract(_backend(srv, tmp_path, max_response_mb=1))
    msg = str(e.value)
    assert "too large" in msg and "1 MB per-call limit" in msg and "max_response_mb" in msg
    cache = ResponseCache(tmp_path / "cache.sqlite3")
    try:
        assert len(cache) == 0
    finally:
        cache.close()


def test_an_answer_within_the_limit_is_accepted_and_cached(tmp_path):
    with _Server(_huge(True)) as srv:
        report = _extract(_backend(srv, tmp_path, max_response_mb=20))
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

    with _Server(_huge(False)) as srv:
        with pytest.raises(ResponseTooLarge):
            asyncio.run(main())

"""A local HTTP server that answers however a test needs (trickling, oversized, HTML, cut off),
and an openai backend pointed at it: for the failure modes tests/mock_openai_server.py does not
script at the byte level."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from llm_extract.backends.openai_backend import OpenAIBackend
from llm_extract.document import Document
from llm_extract.pipeline import aextract_document
from llm_extract.llm.settings import LLMSettings

KEY = "test-key-0123"
TEXT = "三、存在问题\n一是村医老龄化现象突出。\n四、下一步改进措施\n下一步，我局将加强村医培训。\n"


def completion(content: str) -> bytes:
    return json.dumps({
        "id": "c1", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }).encode()


class LocalServer:
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


def send_head(h, status: int, length: int, content_type: str = "application/json") -> None:
    h.send_response(status)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(length))
    h.end_headers()


def send(h, status: int, body: bytes, content_type: str = "application/json") -> None:
    send_head(h, status, len(body), content_type)
    h.wfile.write(body)


def backend(srv, tmp_path=None, **kw) -> OpenAIBackend:
    opts = dict(model="m", base_url=srv.base_url, api_key=KEY, method="json_mode", backoff=0.01,
                max_retries=0, reasks=0)
    opts["cache_path" if tmp_path else "no_cache"] = tmp_path / "cache.sqlite3" if tmp_path else True
    opts.update(kw)
    return OpenAIBackend.from_settings(LLMSettings(**opts))


def extract(b: OpenAIBackend, text: str = TEXT):
    async def main():
        try:
            return await aextract_document(Document.from_text(text, doc_id="d"), b)
        finally:
            await b.aclose()
    return asyncio.run(main())



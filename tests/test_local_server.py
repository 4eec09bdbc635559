"""`--method auto` gives json_schema (guided decoding) to local servers that support it, recognised
by their model list, and JSON mode to local servers it does not know; hosted ones are not probed."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from llm_extract.backends.openai_backend import OpenAIBackend
from llm_extract.llm.server import is_local, server_family
from llm_extract.llm.settings import LLMSettings


def _serve(owned_by):
    seen = []

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):  # noqa: N802
            seen.append((self.path, self.headers.get("Authorization")))
            body = json.dumps({"object": "list", "data": [{"id": "m", "object": "model", "owned_by": owned_by}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/v1", seen


@pytest.mark.parametrize("owned_by, family, method", [
    ("vllm", "vllm", "json_schema"), ("sglang", "sglang", "json_schema"), ("llamacpp", "llama.cpp", "json_schema"),
    ("library", "ollama", "json_schema"), ("someone", None, "json_mode"),
])
def test_local_servers_get_json_schema_when_they_guide_decoding(owned_by, family, method, tmp_path):
    srv, url, seen = _serve(owned_by)
    try:
        assert server_family(url, "k") == family
        b = OpenAIBackend.from_settings(LLMSettings(base_url=url, api_key="k", model="qwen", cache_path=tmp_path / "c.db"))
        assert b.method == method
        assert seen and seen[0][0] == "/v1/models"
        # an explicit method is never overridden, and then nothing is asked
        seen.clear()
        b2 = OpenAIBackend.from_settings(LLMSettings(base_url=url, api_key="k", model="qwen", method="json_mode",
                                                     cache_path=tmp_path / "c.db"))
        assert b2.method == "json_mode" and not seen
    finally:
        srv.shutdown()


def test_a_server_that_does_not_answer_keeps_json_mode(tmp_path):
    url = "http://127.0.0.1:9/v1"  # discard port: nothing listens
    assert server_family(url, timeout=0.5) is None
    assert OpenAIBackend.from_settings(LLMSettings(base_url=url, api_key="k", cache_path=tmp_path / "c.db")).method == "json_mode"


@pytest.mark.parametrize("url, local", [
    ("http://localhost:8000/v1", True), ("http://127.0.0.1:30000/v1", True), ("http://192.168.1.20:8000/v1", True),
    ("http://vllm:8000/v1", True), ("http://gpu-box.local:8000/v1", True), ("https://api.deepseek.com/v1", False),
    ("https://api.openai.com/v1", False), (None, False),
])
def test_which_endpoints_count_as_local(url, local):
    assert is_local(url) is local

"""What kind of local server a base URL points at, so `--method auto` can use its best format.

vLLM, SGLang, llama.cpp's server and Ollama (0.5 and later) constrain decoding to a JSON Schema
given as `response_format: json_schema` (guided decoding): every answer parses, and the model
cannot invent fields. Other OpenAI-compatible servers may not accept that format, and JSON mode
is the one they nearly all accept. The only reliable tell is the server's own model list, so a
local endpoint is asked once, at start-up, for `GET /models`: its `owned_by` names the server.
Hosted endpoints are never probed (their method follows from the host, see settings).
"""

from __future__ import annotations

import ipaddress
from typing import Optional
from urllib.parse import urlparse

import httpx

#: `owned_by` of /models entries → server family whose `json_schema` response format is guided.
JSON_SCHEMA_SERVERS = {"vllm": "vllm", "sglang": "sglang", "llamacpp": "llama.cpp", "library": "ollama"}


def is_local(base_url: Optional[str]) -> bool:
    """A server on this machine or this network: loopback, private or link-local addresses,
    `localhost`, `*.local`, or a bare host name (a container or service name)."""
    if not base_url:
        return False
    host = urlparse(base_url).hostname or ""
    if host in ("localhost",) or host.endswith((".local", ".localhost", ".internal")) or "." not in host and ":" not in host:
        return bool(host)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local


def server_family(base_url: str, api_key: Optional[str] = None, timeout: float = 2.0) -> Optional[str]:
    """The local server's family ("vllm", "sglang", "llama.cpp", "ollama") from its model list,
    or None when it does not say, does not answer in `timeout`, or is not one of those."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        r = httpx.get(base_url.rstrip("/") + "/models", headers=headers, timeout=timeout)
        data = r.json().get("data") if r.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    owners = {str(m.get("owned_by", "")).lower() for m in data or [] if isinstance(m, dict)}
    return next((JSON_SCHEMA_SERVERS[o] for o in owners if o in JSON_SCHEMA_SERVERS), None)

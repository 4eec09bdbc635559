"""The HTTP client of the LLM backend: a whole-request deadline and a cap on the answer's size.

httpx's timeouts are per operation: a read timeout of 120 s restarts with every byte, so a server
that trickles one byte every few seconds never times out, and nothing bounds how large an answer
may grow in memory. This client adds both, around `send` (so proxies and redirects are covered):

* the deadline (`--timeout` seconds) runs from the moment the request starts going out on its
  connection (httpcore's trace event) — waiting for a free pooled connection is not part of it,
  since the pool is what enforces `--concurrency` — until the last byte of the answer has
  arrived; past it the call fails with the library's ReadTimeout, which the openai SDK reports
  as a timeout (retryable). One timer per request; connecting keeps its own connect timeout.
* the answer may hold at most `max_bytes` decoded bytes (Content-Length is checked first, then
  the bytes as they arrive); past that the call fails with ResponseTooLarge, a per-call failure
  that is not retried and, being a failure, never reaches the response cache.
* a successful answer must be JSON: a web page (a base URL pointing at a website) or a body cut
  off in transit is named as such (NotJSONAnswer), not left to fail later as "schema validation"
  or an AttributeError deep in the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from typing import Any, Awaitable, Callable, Optional

import openai

#: How the limit is raised, for the error message (the setting and its environment variable).
RAISE_LIMIT_HINT = "raise max_response_mb in the --config file or LLM_EXTRACT_MAX_RESPONSE_MB"


class AnswerError(openai.APIError):
    """An answer the endpoint sent that cannot be used; the message is complete and plain. The
    openai SDK passes its own error types through unchanged, so the backend sees this type (not a
    connection or schema error). `transient`: worth asking again."""

    transient = False

    def __init__(self, message: str, request: Any = None):
        super().__init__(message, request, body=None)


class ResponseTooLarge(AnswerError):
    """The endpoint's answer is larger than the per-call limit."""

    def __init__(self, limit: int, request: Any, seen: Optional[int] = None):
        size = f"{seen / 1e6:.1f} MB, " if seen else ""
        super().__init__(
            f"the endpoint's answer is too large ({size}over the {limit / 1e6:g} MB per-call limit); "
            f"it was discarded — {RAISE_LIMIT_HINT} if such answers are expected", request)


class NotJSONAnswer(AnswerError):
    """A successful status whose body is not JSON: a web page, or an answer cut off in transit."""

    def __init__(self, content: bytes, request: Any):
        head = content.lstrip()[:1]
        if head == b"<":
            title = re.search(rb"<title[^>]*>(.*?)</title>", content[:20000], re.S | re.I)
            what = f" ('{title.group(1).decode('utf-8', 'replace').strip()[:80]}')" if title else ""
            message = (f"the endpoint answered with a web page{what} instead of JSON: is the base URL the "
                       "API's address (it usually ends in /v1)?")
        else:
            self.transient = True
            message = (f"the endpoint's answer is not complete JSON (cut off after {len(content)} bytes?); "
                       "the connection or a proxy may have dropped it")
        super().__init__(message, request)


def check_json_body(content: bytes, request: Any) -> None:
    """Raise NotJSONAnswer unless `content` parses as JSON (what every API answer is)."""
    try:
        json.loads(content)
    except ValueError:
        raise NotJSONAnswer(content, request) from None


class _Deadline:
    """Cancels the task it was made in at a set time; `expired` tells that cancellation apart
    from any other (a timer per request, rather than a task or a wait per read)."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.task = asyncio.current_task()
        self.expired = False
        self._handle: Optional[asyncio.TimerHandle] = None

    def start(self, seconds: float) -> None:
        if self._handle is None:
            self._handle = self.loop.call_at(self.loop.time() + seconds, self._expire)

    def _expire(self) -> None:
        self.expired = True
        if self.task is not None:
            self.task.cancel()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()

    def ours(self) -> bool:
        """Whether a CancelledError caught now came from this deadline alone (not also from
        outside, e.g. Ctrl-C or a cancelled batch, which must go on)."""
        if not self.expired:
            return False
        uncancel = getattr(self.task, "uncancel", None)  # Python 3.11+: cancellations are counted
        return uncancel is None or uncancel() == 0


def _tracer(deadline: _Deadline, seconds: float,
            inner: Optional[Callable[..., Awaitable[None]]]) -> Callable[..., Awaitable[None]]:
    """httpcore's trace callback: the deadline starts as the request starts going out."""
    async def trace(name: str, info: dict) -> None:
        if name.endswith("send_request_headers.started"):
            deadline.start(seconds)
        if inner is not None:
            await inner(name, info)
    return trace


def build_async_client(lib: Any, *, deadline: float, max_bytes: int, **kwargs: Any) -> Any:
    """An `lib.AsyncClient` (httpx or httpx2) with the `deadline` (seconds) and size cap described
    above for every request whose body it reads (stream=False, as the openai SDK sends chat
    requests); `kwargs` go to the client unchanged (timeouts per operation, limits, verify)."""

    class LimitedAsyncClient(lib.AsyncClient):
        async def send(self, request: Any, *, stream: bool = False, **kw: Any) -> Any:
            if stream:  # the caller reads the body: nothing to bound here
                return await super().send(request, stream=True, **kw)
            timer = _Deadline()
            request.extensions = {**request.extensions,
                                  "trace": _tracer(timer, deadline, request.extensions.get("trace"))}
            try:
                response = await super().send(request, stream=True, **kw)
                try:
                    response._content = await _read(response, max_bytes, request)  # as aread() stores it
                except BaseException:
                    await response.aclose()
                    raise
            except asyncio.CancelledError:
                if timer.ours():
                    raise lib.ReadTimeout(f"no complete answer within {deadline:g} s", request=request) from None
                raise
            finally:
                timer.stop()
            if 200 <= response.status_code < 300:
                check_json_body(response._content, request)
            return response

    return LimitedAsyncClient(**kwargs)


def build_sync_client(lib: Any, *, deadline: float, max_bytes: int, **kwargs: Any) -> Any:
    """The blocking counterpart of `build_async_client` (for `digest --llm`, which asks its few
    questions one at a time): the same size cap and JSON check, and the same whole-request
    deadline, checked as each piece of the answer arrives (a stalled read still ends at the
    per-read timeout), so a trickling server cannot hold a call past `deadline`."""

    class LimitedClient(lib.Client):
        def send(self, request: Any, *, stream: bool = False, **kw: Any) -> Any:
            if stream:
                return super().send(request, stream=True, **kw)
            ends = time.monotonic() + deadline
            response = super().send(request, stream=True, **kw)
            try:
                if int(response.headers.get("content-length") or 0) > max_bytes:
                    raise ResponseTooLarge(max_bytes, request, int(response.headers["content-length"]))
                parts, seen = [], 0
                for part in response.iter_bytes():
                    seen += len(part)
                    if seen > max_bytes:
                        raise ResponseTooLarge(max_bytes, request)
                    if time.monotonic() > ends:
                        raise lib.ReadTimeout(f"no complete answer within {deadline:g} s", request=request)
                    parts.append(part)
                response._content = b"".join(parts)
            finally:
                response.close()
            if 200 <= response.status_code < 300:
                check_json_body(response._content, request)
            return response

    return LimitedClient(**kwargs)


async def _read(response: Any, max_bytes: int, request: Any) -> bytes:
    """The decoded body, refused as soon as it (or its declared length) passes `max_bytes`."""
    if int(response.headers.get("content-length") or 0) > max_bytes:
        raise ResponseTooLarge(max_bytes, request, int(response.headers["content-length"]))
    parts, seen = [], 0
    async with contextlib.aclosing(response.aiter_bytes()) as body:
        async for part in body:
            seen += len(part)
            if seen > max_bytes:
                raise ResponseTooLarge(max_bytes, request)
            parts.append(part)
    return b"".join(parts)


def check_json_body(content: bytes, request: Any) -> None:
    """Raise NotJSONAnswer unless `content` parses as JSON (what every API answer is)."""
    try:
        json.loads(content)
    except ValueError:
        raise NotJSONAnswer(content, request) from None

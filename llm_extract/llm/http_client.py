"""The HTTP client of the LLM backend: a whole-request deadline and a cap on the answer's size.

httpx's timeouts are per operation: a read timeout of 120 s restarts with every byte, so a server
that trickles one byte every few seconds never times out, and nothing bounds how large an answer
may grow in memory. This client adds both, around `send` (so proxies and redirects are covered):

* the deadline (`--timeout` seconds) runs from the moment the request starts going out on its
  connection — waiting for a free pooled connection is not part of it, since the pool is what
  enforces `--concurrency` — until the last byte of the answer has arrived; past it the call
  fails with the library's ReadTimeout, which the openai SDK reports as a timeout (retryable).
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
from typing import Any, AsyncIterator, Awaitable, Callable, Optional

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


class _Clock:
    """When the request started going out; set by httpcore's trace callback."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.started: Optional[float] = None
        self.event = asyncio.Event()

    def start(self) -> None:
        if self.started is None:
            self.started = self.loop.time()
            self.event.set()

    def remaining(self, timeout: float) -> float:
        assert self.started is not None
        return max(0.0, self.started + timeout - self.loop.time())


def _tracer(clock: _Clock, inner: Optional[Callable[..., Awaitable[None]]]) -> Callable[..., Awaitable[None]]:
    async def trace(name: str, info: dict) -> None:
        if name.endswith("send_request_headers.started"):
            clock.start()
        if inner is not None:
            await inner(name, info)
    return trace


def build_async_client(lib: Any, *, deadline: float, max_bytes: int, **kwargs: Any) -> Any:
    """An `lib.AsyncClient` (httpx or httpx2) with the `deadline` (seconds) and size cap described
    above; `kwargs` go to the client unchanged (timeouts per operation, limits, verify)."""
    timeout = deadline

    stream_class = type("DeadlineStream", (_DeadlineStream, lib.AsyncByteStream), {})

    class LimitedAsyncClient(lib.AsyncClient):
        async def send(self, request: Any, *, stream: bool = False, **kw: Any) -> Any:
            clock = _Clock(asyncio.get_running_loop())
            request.extensions = {**request.extensions,
                                  "trace": _tracer(clock, request.extensions.get("trace"))}
            response = await _within(clock, timeout, super().send(request, stream=True, **kw), lib, request)
            response.stream = stream_class(response.stream, clock, timeout, lib, request)
            try:
                declared = int(response.headers.get("content-length") or 0)
                if declared > max_bytes:
                    raise ResponseTooLarge(max_bytes, request, declared)
                if not stream:
                    parts, seen = [], 0
                    async with contextlib.aclosing(response.aiter_bytes()) as body:
                        async for part in body:
                            seen += len(part)
                            if seen > max_bytes:
                                raise ResponseTooLarge(max_bytes, request)
                            parts.append(part)
                    response._content = b"".join(parts)  # what Response.aread() stores
                    if 200 <= response.status_code < 300:
                        check_json_body(response._content, request)
            except BaseException:
                await response.aclose()
                raise
            return response

    return LimitedAsyncClient(**kwargs)


def _timed_out(lib: Any, timeout: float, request: Any) -> BaseException:
    return lib.ReadTimeout(f"no complete answer within {timeout:g} s", request=request)


async def _within(clock: _Clock, timeout: float, coro: Awaitable[Any], lib: Any, request: Any) -> Any:
    """Await `coro` (the request up to the response headers) until the deadline, which starts
    when the request begins going out."""
    task = asyncio.ensure_future(coro)
    try:
        if clock.started is None:
            waiter = asyncio.ensure_future(clock.event.wait())
            try:
                await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
        if not task.done():
            await asyncio.wait({task}, timeout=clock.remaining(timeout))
        if not task.done():
            raise _timed_out(lib, timeout, request)
        return task.result()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


class _DeadlineStream:
    """The raw response stream, each read bounded by what is left of the request's deadline."""

    def __init__(self, inner: Any, clock: _Clock, timeout: float, lib: Any, request: Any):
        self.inner, self.clock, self.timeout, self.lib, self.request = inner, clock, timeout, lib, request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.clock.started is None:  # no trace events (a custom transport): start now
            self.clock.start()
        parts = self.inner.__aiter__()
        while True:
            try:
                part = await asyncio.wait_for(parts.__anext__(), self.clock.remaining(self.timeout))
            except StopAsyncIteration:
                return
            except asyncio.TimeoutError:
                raise _timed_out(self.lib, self.timeout, self.request) from None
            yield part

    async def aclose(self) -> None:
        await self.inner.aclose()

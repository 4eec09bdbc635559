"""How model calls travel and fail: the rate limiter, the retry verdict for a failed call
(retry after how long, give up, or stop the whole batch), Retry-After, the one-line wording of
an error, and the HTTP library and TLS context every client shares. Secrets are masked by
`redact.Redactor`, passed in wherever a server's words reach a message.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import random
import re
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

import httpx
import openai

from .http_client import AnswerError

if TYPE_CHECKING:
    from .settings import LLMSettings


class RateLimiter:
    """Spaces request starts by 1/rps and lets a 429 pause every caller until Retry-After."""

    def __init__(self, rps: Optional[float], *, clock=time.monotonic, sleep=asyncio.sleep):
        self.interval = 1.0 / rps if rps else 0.0
        self._next = 0.0
        self._pause_until = 0.0
        self._clock = clock
        self._sleep = sleep

    def pause(self, seconds: float) -> None:
        self._pause_until = max(self._pause_until, self._clock() + seconds)

    async def wait(self) -> None:
        while True:
            now = self._clock()
            t = max(now, self._next, self._pause_until)
            if self.interval:
                self._next = t + self.interval  # reserve the slot before sleeping
            if t > now:
                await self._sleep(t - now)
            if self._pause_until <= self._clock() + 1e-3:
                return


@dataclass(frozen=True)
class Verdict:
    """What to do about one failed call. `fatal`: the endpoint can serve no request, stop the batch
    with this message; else `delay`: seconds to wait before retrying (None: give up on this call),
    and `pause_all`: a 429, so every caller waits, not just this one."""

    fatal: Optional[str] = None
    delay: Optional[float] = None
    pause_all: bool = False


def retry_verdict(e: BaseException, attempt: int, s: "LLMSettings", method: str, *, ever_answered: bool,
                  redact: Callable[[str], str]) -> Verdict:
    """The verdict on `e`, the `attempt`-th failure of one call (0 = first). `ever_answered`: the
    endpoint has answered some call in this run, so a refused connection is a hiccup, not a wrong URL."""
    where = s.endpoint_label()
    if isinstance(e, openai.AuthenticationError):
        return Verdict(fatal=f"the endpoint {where} rejected the API key ({status_text(e)}): check OPENAI_API_KEY "
                       "(or LLM_EXTRACT_API_KEY, or api_key in the --config file)")
    if isinstance(e, openai.PermissionDeniedError):
        return Verdict(fatal=f"the endpoint {where} refused access ({status_text(e)}{server_says(e)}): the key may "
                       f"not be allowed to use model '{s.model}', or the service may not be available from "
                       "this network or region — check the key (OPENAI_API_KEY), --model and --base-url")
    if isinstance(e, openai.NotFoundError):
        return Verdict(fatal=f"model '{s.model}' or its API path not found at {where} (404): "
                       "check --model and --base-url (it usually ends in /v1)")
    if isinstance(e, openai.BadRequestError):
        msg = redact(getattr(e, "message", str(e)))
        if re.search(r"response_format|json_schema|json_object|tool", msg, re.I):
            return Verdict(fatal=f"the endpoint does not accept structured-output method '{method}': "
                           f"{msg[:300]} — try --method function_calling or --method json_mode")
        return Verdict()
    retryable = isinstance(e, (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError,
                               openai.APIConnectionError)) or (
        isinstance(e, openai.APIStatusError) and e.status_code in (408, 409, 425, 429) or
        isinstance(e, openai.APIStatusError) and e.status_code >= 500) or (
        isinstance(e, AnswerError) and e.transient)
    if not retryable:
        return Verdict()
    if cannot_connect(e) and not ever_answered and attempt >= min(1, s.max_retries):
        # never answered and still refusing after a retry: a wrong URL or a stopped server,
        # not a hiccup — say so once instead of backing off per chunk
        return Verdict(fatal=f"cannot reach {where}: {describe_error(e)} — is the server running and the "
                       "base URL right?")
    if attempt >= s.max_retries:
        return Verdict()
    delay = min(s.max_backoff, s.backoff * (2 ** attempt)) * (0.5 + random.random() / 2)
    after = retry_after(e)
    if after is not None:
        delay = min(s.max_backoff, max(after, 0.0))
        if isinstance(e, openai.RateLimitError) or getattr(e, "status_code", 0) == 429:
            return Verdict(delay=delay, pause_all=True)  # the whole batch backs off, not just this call
    return Verdict(delay=delay)


@functools.lru_cache(maxsize=1)
def http_library() -> Any:
    """The HTTP library the installed openai SDK is built on (httpx2 in recent releases, httpx
    before): a client of its own library skips the SDK's compatibility layer for the other one
    (about 1 ms of CPU less per call)."""
    try:
        import httpx2
    except ImportError:
        return httpx
    return httpx2 if issubclass(openai.DefaultAsyncHttpxClient, httpx2.AsyncClient) else httpx


@functools.lru_cache(maxsize=1)
def ssl_context() -> ssl.SSLContext:
    """One verified TLS context for every client we make (loading the CA bundle takes ~25 ms)."""
    return http_library().create_ssl_context()


@functools.lru_cache(maxsize=1)
def _connect_errors() -> tuple[type[BaseException], ...]:
    lib = http_library()
    return (httpx.ConnectError, lib.ConnectError, ConnectionRefusedError)


def cannot_connect(e: BaseException) -> bool:
    """No connection could be opened (refused, unknown host) — unlike a dropped or timed-out one."""
    if not isinstance(e, openai.APIConnectionError) or isinstance(e, openai.APITimeoutError):
        return False
    cause, seen = e.__cause__ or e.__context__, 0
    while cause is not None and seen < 10:
        if isinstance(cause, _connect_errors()):
            return True
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return False


def retry_after(e: BaseException) -> Optional[float]:
    resp = getattr(e, "response", None)
    headers = getattr(resp, "headers", None)
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    v = headers.get("retry-after")
    if not v:
        return None
    try:
        return float(v)
    except ValueError:
        try:
            dt = email.utils.parsedate_to_datetime(v)
            return max(0.0, dt.timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def status_text(e: BaseException) -> str:
    code = getattr(e, "status_code", None)
    return f"HTTP {code}" if code else type(e).__name__


def describe_error(e: BaseException) -> str:
    """One line saying what went wrong with a model call (not yet redacted)."""
    if isinstance(e, openai.APITimeoutError):
        return "request timed out"
    if isinstance(e, openai.APIConnectionError):
        # the innermost cause says what happened ("[Errno 111] Connection refused", "Server
        # disconnected without sending a response", a DNS failure)
        detail, cause, seen = "", e.__cause__ or e.__context__, 0
        while cause is not None and seen < 10:
            if str(cause):
                detail = str(cause)
            cause, seen = cause.__cause__ or cause.__context__, seen + 1
        return f"connection failed ({detail})" if detail else "connection failed"
    if isinstance(e, AnswerError):
        return str(e)
    if isinstance(e, openai.APIStatusError):
        return f"HTTP {e.status_code}{server_says(e) or ': ' + getattr(e, 'message', '')}"[:400]
    return f"{type(e).__name__}: {e}"[:400]


def server_says(e: BaseException) -> str:
    """What the error body says, briefly: ': <message>' from the API's JSON error, or ', a web
    page ('<title>')' when it is HTML (a proxy's or a firewall's page), so the page's markup is
    never pasted into a message; else ''."""
    body = getattr(e, "body", None)
    if isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"].strip():
        return ": " + " ".join(body["message"].split())[:200]
    resp = getattr(e, "response", None)
    try:
        text = resp.text if resp is not None else ""
    except Exception:  # the body was not read (a streamed response)
        return ""
    if not text.lstrip()[:1] == "<":
        return ""
    title = re.search(r"<title[^>]*>(.*?)</title>", text[:20000], re.S | re.I)
    return f", a web page ('{' '.join(title.group(1).split())[:80]}')" if title else ", a web page"

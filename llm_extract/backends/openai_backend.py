"""The `openai` backend: any OpenAI-compatible chat endpoint through LangChain's ChatOpenAI.

Per document: chunk and route (chunking.py), ask the model for every chunk and pass with
`with_structured_output(Extraction, method=..., include_raw=True)`, and return raw items with
their chunk as the grounding window. One backend instance serves a whole batch, so its
concurrency semaphore, rate limiter, response cache and failure state are shared by all
documents. The model and its connection pool are built once, with the backend; the model is
`chat_model.LeanChatOpenAI`, ChatOpenAI without its per-call rebuilding of constant request parts.

Retries are ours, not the openai client's (its max_retries is 0): we honour Retry-After and
pause the whole batch on a 429 (not just the one call), wait with jittered exponential backoff
on 5xx/timeouts/dropped connections, and stop everything at once on a fatal endpoint problem
(401/403, unknown model, unreachable host) with one clear message instead of one per chunk.
Output that fails schema validation is re-asked with the validation error.

The API key is only handed to the HTTP client; every message we produce goes through `redact`, and
every model answer is scrubbed of secrets before it is used or cached (a model can echo the key).
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import gc
import hashlib
import json
import random
import re
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

import httpx
import openai
from pydantic import ValidationError

from ..cache import CacheError, ResponseCache, cache_key
from ..chunking import Chunk, chunk_document, layout_read_tables
from ..answers import AnswerReader
from ..models import Item, Stats
from ..pricing import Price, price_for
from ..prompts import PromptSet, load_prompts
from ..redact import Redactor
from ..settings import LLMSettings
from ..tokens import count_tokens, ensure_offline_tiktoken
from .base import BackendError, BackendResult, RawItem
from .http_client import AnswerError, build_async_client
from .llm_schema import Extraction
from .rules import table_block_items

if TYPE_CHECKING:
    from ..document import Document
    from ..structure import Structure

#: Models that reject a temperature parameter (reasoning models).
_NO_TEMPERATURE = re.compile(r"^(o\d|gpt-5)")


class EndpointError(BackendError):
    """The endpoint cannot serve any request (auth, unknown model, unreachable, unsupported
    structured-output method). `fatal` tells a batch runner to stop instead of trying the next
    document."""

    fatal = True


class _SchemaFailure(Exception):
    def __init__(self, message: str, raw_content: Optional[str]):
        super().__init__(message)
        self.raw_content = raw_content


class _CallFailed(Exception):
    """One chunk call failed for good (retries/re-asks exhausted, or a non-retryable 4xx)."""


@dataclass
class _Usage:
    prompt: int = 0
    completion: int = 0


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


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        settings: LLMSettings,
        *,
        cache: Optional[ResponseCache] = None,
        prompts: Optional[PromptSet] = None,
    ):
        self.settings = settings
        self.model: Optional[str] = settings.model
        self.method = settings.resolved_method()
        self.prompts = prompts or load_prompts(settings.prompt_version)
        self.prompt_version: Optional[str] = self.prompts.version
        self.price: Optional[Price] = price_for(settings)
        self.cache = cache
        self.limiter = RateLimiter(settings.rps)
        self._secret = settings.api_key.get_secret_value() if settings.api_key else None
        self.redact = Redactor.for_settings(settings)
        self._fatal: Optional[EndpointError] = None
        self._ever_ok = False
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._sem: Optional[asyncio.Semaphore] = None
        self._http: Any = None  # the HTTP client of this event loop (see _http_library)
        self._runnable: Any = None
        self._schema_id = hashlib.sha256(
            json.dumps(Extraction.model_json_schema(), sort_keys=True).encode()).hexdigest()
        #: how retries wait (tests record the delays instead of sleeping them)
        self.sleep = asyncio.sleep
        ensure_offline_tiktoken()
        # heavy (imports, clients, TLS context): do it now, not inside the first request
        self._runnable = self._build_runnable()
        _settle_heap()

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> "OpenAIBackend":
        """A backend for these settings, with the response cache they name. Raises BackendError
        for a setup a user must fix (no key and no base URL, unusable cache path)."""
        if not settings.is_configured():
            raise EndpointError(
                "no model endpoint configured: set OPENAI_API_KEY (and optionally OPENAI_BASE_URL), "
                "or pass --base-url for a local server"
            )
        path = settings.resolved_cache_path()
        try:
            cache = ResponseCache(path) if path is not None else None
        except CacheError as e:
            raise BackendError(str(e)) from None
        return cls(settings, cache=cache)

    # -- public API --------------------------------------------------------------------------

    @property
    def docs_in_flight(self) -> int:
        """Documents a batch keeps open so that `concurrency` requests can be in flight: a document
        may need a single call, so one per request, plus a few being loaded, routed or written."""
        return self.settings.concurrency + 4

    def chunks_for(self, doc: "Document", structure: "Structure") -> list[Chunk]:
        s = self.settings
        return chunk_document(doc.text, structure, max_tokens=s.max_chunk_tokens, route=s.route, model=s.model)

    def layout_items(self, doc: "Document", structure: "Structure") -> list[Item]:
        """Items of the tables the layout reader reads (not sent to the model, see chunking)."""
        return [it for b in layout_read_tables(structure, self.settings.route)
                for it in table_block_items(doc.text, b, structure)]

    async def aextract(self, doc: "Document", structure: "Structure") -> BackendResult:
        t0 = time.perf_counter()
        self._check_fatal()
        doc_key = self._doc_key(doc)
        done = self._cached_document(doc_key)
        if done is not None:
            done.stats.seconds = round(time.perf_counter() - t0, 3)
            done.grounded = self.layout_items(doc, structure)
            return done
        # Token counting (tiktoken) is most of the CPU a document costs here, and it releases the
        # GIL: in a thread it runs beside the event loop, which meanwhile keeps other documents'
        # requests going (with many documents in flight, on the loop it delayed them all).
        chunks = await asyncio.to_thread(self.chunks_for, doc, structure)
        stats = Stats(chars=len(doc.text), chunks=len(chunks))
        jobs = [(c, p) for p in range(1, self.settings.passes + 1) for c in chunks]
        results = await asyncio.gather(*(self._extract_chunk(c, p, stats) for c, p in jobs), return_exceptions=True)
        for r in results:  # a cancelled batch must not be reported as failed calls
            if isinstance(r, asyncio.CancelledError):
                raise r
        self._check_fatal()
        items: list[RawItem] = []
        failures = [r for r in results if isinstance(r, BaseException)]
        reader = AnswerReader(doc.text, structure)  # placing, splitting, arbitrating: see answers.py
        for (chunk, pass_no), r in zip(jobs, results):
            if not isinstance(r, BaseException):
                items.extend(reader.raw_items(chunk, r.items, pass_no, stats))
        if self.settings.passes > 1:
            reader.reconcile(items, stats)
        stats.failed_calls = len(failures)  # type: ignore[attr-defined]
        if self.price is not None:
            stats.cost = round(self.price.cost(stats.prompt_tokens, stats.completion_tokens), 6)
        if jobs and len(failures) == len(jobs):
            raise BackendError(f"all {len(jobs)} model calls failed; last error: {self._failure_text(failures[-1])}")
        if not failures:
            self._remember_document(doc_key, items, chunks=len(chunks), calls=len(jobs), chars=len(doc.text))
        stats.seconds = round(time.perf_counter() - t0, 3)
        return BackendResult(items=items, grounded=self.layout_items(doc, structure), stats=stats,
                             calls=len(jobs), failed_calls=len(failures),
                             last_error=self._failure_text(failures[-1]) if failures else None)

    def _failure_text(self, e: BaseException) -> str:
        """Why a call failed, fit to show: our own failures say it in words; anything else (a bug,
        an error the client let through) is named by its type too."""
        return self.redact(str(e) if isinstance(e, _CallFailed) else describe_error(e))

    # -- whole-document cache entries -------------------------------------------------------------
    # A document whose every call succeeded is also cached as a whole, keyed on its text and the
    # settings that shape chunking, so a rerun skips chunking and per-chunk lookups entirely.
    # Documents with failed calls are not; their successful chunks are still cached one by one.

    def _doc_key(self, doc: "Document") -> Optional[str]:
        if self.cache is None:
            return None
        s = self.settings
        return cache_key(
            model=s.model, base_url=s.base_url, method=self.method, temperature=s.temperature,
            prompt_version=f"{self.prompts.version}:{self.prompts.sha256}", schema=self._schema_id,
            messages={"document": hashlib.sha256(doc.text.encode("utf-8")).hexdigest(),
                      "route": s.route, "max_chunk_tokens": s.max_chunk_tokens, "passes": s.passes},
        )

    def _cached_document(self, key: Optional[str]) -> Optional[BackendResult]:
        if self.cache is None or key is None:
            return None
        hit = self.cache.get(key)
        if hit is None or not isinstance(hit.output, dict):
            return None
        try:
            items = [RawItem.model_validate(i) for i in hit.output["items"]]
            stats = Stats(chars=int(hit.output["chars"]), chunks=int(hit.output["chunks"]),
                          cached_calls=int(hit.output["calls"]))
        except (KeyError, TypeError, ValueError, ValidationError):
            return None
        stats.failed_calls = 0  # type: ignore[attr-defined]
        return BackendResult(items=items, stats=stats)

    def _remember_document(self, key: Optional[str], items: list[RawItem], *, chunks: int, calls: int,
                           chars: int) -> None:
        if self.cache is None or key is None:
            return
        out = {"items": [i.model_dump() for i in items], "chunks": chunks, "calls": calls, "chars": chars}
        try:
            self.cache.put(key, out, model=self.settings.model, prompt_version=self.prompts.version)
        except CacheError:
            pass

    async def aclose(self) -> None:
        if self._http is not None:
            try:
                await self._http.aclose()
            except RuntimeError:  # its loop is gone already
                pass
            self._http = None
        self._runnable = None
        if self.cache is not None:
            self.cache.close()
            self.cache = None

    # -- one chunk ---------------------------------------------------------------------------

    def messages_for(self, chunk: Chunk, pass_no: int) -> list[dict[str, str]]:
        return self.prompts.messages(chunk.text, chunk.section_path, pass_no=pass_no,
                                     json_instructions=self.method == "json_mode")

    async def _extract_chunk(self, chunk: Chunk, pass_no: int, stats: Stats) -> Extraction:
        if not chunk.text.strip():  # never sent; chunking does not produce these, but be sure
            return Extraction(items=[])
        key = None
        if self.cache is not None:
            # the system prompt and examples are covered by the prompt set's content hash, so
            # the variable part of the key is the user message: chunk text, section path, pass
            key = cache_key(
                model=self.settings.model, base_url=self.settings.base_url, method=self.method,
                temperature=self.settings.temperature,
                prompt_version=f"{self.prompts.version}:{self.prompts.sha256}",
                schema=self._schema_id,
                messages=self.prompts.render_user(chunk.text, chunk.section_path, pass_no),
            )
            hit = self.cache.get(key)
            if hit is not None:
                try:
                    out = Extraction.model_validate(hit.output)
                    stats.cached_calls += 1
                    return out
                except ValidationError:
                    pass
        messages = self.messages_for(chunk, pass_no)
        usage = _Usage()
        last: Optional[_SchemaFailure] = None
        convo = list(messages)
        try:
            for _ask in range(self.settings.reasks + 1):
                try:
                    out = self._scrubbed(await self._request(convo, usage, stats), chunk.text)
                except _SchemaFailure as e:
                    last = e
                    convo = convo + self._reask(e)
                    continue
                if self.cache is not None and key is not None:
                    try:
                        self.cache.put(key, out.model_dump(), model=self.settings.model,
                                       prompt_version=self.prompts.version,
                                       prompt_tokens=usage.prompt, completion_tokens=usage.completion)
                    except CacheError:
                        pass  # a read-only cache costs a rerun, not this result
                return out
        finally:
            stats.prompt_tokens += usage.prompt
            stats.completion_tokens += usage.completion
        raise _CallFailed(f"output failed schema validation after {self.settings.reasks + 1} tries: {last}")

    def _scrubbed(self, out: Extraction, excerpt: str) -> Extraction:
        """The answer with any secret the model echoed masked, before it is used or cached (such a
        quote then no longer matches the source, and grounding drops it). A quote found verbatim in
        the excerpt is the report's own text, not an echo, and is kept as it is."""
        items, changed = [], False
        for it in out.items:
            quote = it.quote if it.quote in excerpt else self.redact(it.quote)
            changed |= quote != it.quote
            items.append(it if quote == it.quote else it.model_copy(update={"quote": quote}))
        return Extraction(items=items) if changed else out

    def _reask(self, e: _SchemaFailure) -> list[dict[str, str]]:
        msgs = []
        if e.raw_content:
            msgs.append({"role": "assistant", "content": e.raw_content[:4000]})
        msgs.append({"role": "user", "content": (
            "Your previous answer did not match the required output schema "
            f"({str(e)[:500]}). Answer again with only the JSON object "
            '{"items": [{"category": "goal|achievement|problem|measure", "quote": "<verbatim text>"}]} '
            "for the same excerpt."
        )})
        return msgs

    async def _request(self, convo: list[dict[str, str]], usage: _Usage, stats: Stats) -> Extraction:
        """One model answer, retried on transient failures; raises _SchemaFailure on bad output."""
        attempt = 0
        while True:
            self._check_fatal()
            await self.limiter.wait()
            self._check_fatal()
            runnable = self._get_runnable()
            async with self._semaphore():
                self._check_fatal()
                try:
                    result = await runnable.ainvoke(convo)
                    error: Optional[BaseException] = None
                except (ValidationError, ValueError) as e:  # parse inside the client (json_schema)
                    result, error = None, e
                except openai.APIError as e:
                    result, error = None, e
            if error is None:
                self._ever_ok = True
                stats.llm_calls += 1
                return self._parsed(result, convo, usage)
            if isinstance(error, (ValidationError, ValueError)) and not isinstance(error, openai.APIError):
                self._ever_ok = True
                stats.llm_calls += 1
                usage.prompt += self._estimate_prompt(convo)
                raise _SchemaFailure(_short(error), None)
            delay = self._classify(error, attempt)  # raises when not retryable
            attempt += 1
            if delay is None:
                raise _CallFailed(self.redact(describe_error(error)))
            await self.sleep(delay)

    def _parsed(self, result: Any, convo: list[dict[str, str]], usage: _Usage) -> Extraction:
        raw = result.get("raw") if isinstance(result, dict) else None
        meta = getattr(raw, "usage_metadata", None) or {}
        if meta:
            usage.prompt += int(meta.get("input_tokens") or 0)
            usage.completion += int(meta.get("output_tokens") or 0)
        else:
            usage.prompt += self._estimate_prompt(convo)
        parsed = result.get("parsed") if isinstance(result, dict) else result
        if isinstance(parsed, Extraction):
            return parsed
        err = result.get("parsing_error") if isinstance(result, dict) else None
        raise _SchemaFailure(_short(err) if err else "no structured output", _raw_text(raw))

    def _estimate_prompt(self, convo: list[dict[str, str]]) -> int:
        return sum(count_tokens(m["content"], self.settings.model) + 4 for m in convo)

    def _classify(self, e: BaseException, attempt: int) -> Optional[float]:
        """Seconds to wait before retrying `e`; None when it is not retryable for this chunk.
        Fatal endpoint problems are recorded and raised."""
        s = self.settings
        where = s.endpoint_label()
        if isinstance(e, openai.AuthenticationError):
            self._set_fatal(f"the endpoint {where} rejected the API key ({_status(e)}): check OPENAI_API_KEY "
                            "(or LLM_EXTRACT_API_KEY, or api_key in the --config file)")
        if isinstance(e, openai.PermissionDeniedError):
            self._set_fatal(f"the endpoint {where} refused access ({_status(e)}{_server_says(e)}): the key may "
                            f"not be allowed to use model '{s.model}', or the service may not be available from "
                            "this network or region — check the key (OPENAI_API_KEY), --model and --base-url")
        if isinstance(e, openai.NotFoundError):
            self._set_fatal(f"model '{s.model}' or its API path not found at {where} (404): "
                            "check --model and --base-url (it usually ends in /v1)")
        if isinstance(e, openai.BadRequestError):
            msg = self.redact(getattr(e, "message", str(e)))
            if re.search(r"response_format|json_schema|json_object|tool", msg, re.I):
                self._set_fatal(f"the endpoint does not accept structured-output method '{self.method}': "
                                f"{msg[:300]} — try --method function_calling or --method json_mode")
            return None
        retryable = isinstance(e, (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError,
                                   openai.APIConnectionError)) or (
            isinstance(e, openai.APIStatusError) and e.status_code in (408, 409, 425, 429) or
            isinstance(e, openai.APIStatusError) and e.status_code >= 500) or (
            isinstance(e, AnswerError) and e.transient)
        if not retryable:
            return None
        if _cannot_connect(e) and not self._ever_ok and attempt >= min(1, s.max_retries):
            # never answered and still refusing after a retry: a wrong URL or a stopped server,
            # not a hiccup — say so once instead of backing off per chunk
            self._set_fatal(f"cannot reach {where}: {describe_error(e)} — is the server running and the "
                            "base URL right?")
        if attempt >= s.max_retries:
            return None
        delay = min(s.max_backoff, s.backoff * (2 ** attempt)) * (0.5 + random.random() / 2)
        after = _retry_after(e)
        if after is not None:
            delay = min(s.max_backoff, max(after, 0.0))
            if isinstance(e, openai.RateLimitError) or getattr(e, "status_code", 0) == 429:
                self.limiter.pause(delay)  # the whole batch backs off, not just this call
        return delay

    def _set_fatal(self, message: str) -> None:
        if self._fatal is None:
            self._fatal = EndpointError(self.redact(message))
        raise self._fatal

    def _check_fatal(self) -> None:
        if self._fatal is not None:
            raise self._fatal

    # -- per-event-loop resources ----------------------------------------------------------------

    def _semaphore(self) -> asyncio.Semaphore:
        self._bind_loop()
        assert self._sem is not None
        return self._sem

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        if self._loop is not None:
            # another event loop (a second asyncio.run): the old client's connections belong to
            # the old loop, so build a fresh client and model
            self._http = None
            self._runnable = None
        self._loop = loop
        # Twice the connection limit may be in LangChain's hands at once, so the next requests are
        # built (and answers parsed) while the connection pool keeps exactly `concurrency` in
        # flight — client CPU then overlaps the network wait instead of adding to it.
        self._sem = asyncio.Semaphore(2 * self.settings.concurrency)

    def _get_runnable(self) -> Any:
        self._bind_loop()
        if self._runnable is None:
            self._runnable = self._build_runnable()
        return self._runnable

    def _build_runnable(self) -> Any:
        """`with_structured_output(Extraction, method, include_raw=True)` on a ChatOpenAI with its
        own connection pool. Built once per backend (per event loop), not per call; creating the
        client needs no running loop, so the constructor builds it ahead of the first request."""
        from .chat_model import LeanChatOpenAI

        s = self.settings
        http = _http_library()
        # The connection pool is what enforces `concurrency` (HTTP/1.1: one request per
        # connection); waiting for a free connection is not part of a request's timeout.
        # `timeout` bounds the whole request, not each read, and answers are capped (http_client)
        self._http = build_async_client(
            http, deadline=s.timeout, max_bytes=s.max_response_bytes(),
            timeout=http.Timeout(s.timeout, connect=min(s.timeout, 10.0), pool=None),
            limits=http.Limits(max_connections=s.concurrency, max_keepalive_connections=s.concurrency),
            verify=_ssl_context(),
        )
        kwargs: dict[str, Any] = dict(
            model=s.model,
            base_url=s.base_url,
            api_key=self._secret or "not-needed",
            timeout=s.timeout,
            max_retries=0,
            http_async_client=self._http,
            use_responses_api=False,
        )
        if not _NO_TEMPERATURE.match(s.model.split("/")[-1]):
            kwargs["temperature"] = s.temperature
        llm = LeanChatOpenAI(**kwargs)
        return llm.with_structured_output(Extraction, method=self.method, include_raw=True)


@functools.lru_cache(maxsize=1)
def _settle_heap() -> None:
    """One full garbage collection per process, after the heavy imports and before the first
    batch. The imports leave ~150k new long-lived objects behind, so otherwise the collector's
    first full pass (~70 ms on the development machine) lands on the event loop just as the first
    requests are being sent. The survivors (modules, classes, schemas: alive for the whole run)
    are then frozen, so later full passes during a long batch do not scan them again."""
    gc.collect()
    gc.freeze()


@functools.lru_cache(maxsize=1)
def _http_library() -> Any:
    """The HTTP library the installed openai SDK is built on (httpx2 in recent releases, httpx
    before): a client of its own library skips the SDK's compatibility layer for the other one
    (about 1 ms of CPU less per call)."""
    try:
        import httpx2
    except ImportError:
        return httpx
    return httpx2 if issubclass(openai.DefaultAsyncHttpxClient, httpx2.AsyncClient) else httpx


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """One verified TLS context for every client we make (loading the CA bundle takes ~25 ms)."""
    return _http_library().create_ssl_context()


@functools.lru_cache(maxsize=1)
def _connect_errors() -> tuple[type[BaseException], ...]:
    lib = _http_library()
    return (httpx.ConnectError, lib.ConnectError, ConnectionRefusedError)


def _cannot_connect(e: BaseException) -> bool:
    """No connection could be opened (refused, unknown host) — unlike a dropped or timed-out one."""
    if not isinstance(e, openai.APIConnectionError) or isinstance(e, openai.APITimeoutError):
        return False
    cause, seen = e.__cause__ or e.__context__, 0
    while cause is not None and seen < 10:
        if isinstance(cause, _connect_errors()):
            return True
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return False


def _retry_after(e: BaseException) -> Optional[float]:
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


def _status(e: BaseException) -> str:
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
        return f"HTTP {e.status_code}{_server_says(e) or ': ' + getattr(e, 'message', '')}"[:400]
    return f"{type(e).__name__}: {e}"[:400]


def _server_says(e: BaseException) -> str:
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


def _short(e: Any) -> str:
    if isinstance(e, ValidationError):
        errs = e.errors()
        first = errs[0] if errs else {}
        loc = ".".join(str(x) for x in first.get("loc", ()))
        return f"{len(errs)} validation error(s), first at '{loc}': {first.get('msg', '')}"[:300]
    return str(e).splitlines()[0][:300] if str(e) else type(e).__name__


def _raw_text(raw: Any) -> Optional[str]:
    if raw is None:
        return None
    calls = getattr(raw, "tool_calls", None) or []
    if calls:
        return json.dumps(calls[0].get("args", {}), ensure_ascii=False)
    extra = getattr(raw, "additional_kwargs", {}) or {}
    if extra.get("tool_calls"):
        return str(extra["tool_calls"][0].get("function", {}).get("arguments", ""))
    content = getattr(raw, "content", None)
    return content if isinstance(content, str) else None

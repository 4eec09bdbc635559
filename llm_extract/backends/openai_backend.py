"""The `openai` backend: any OpenAI-compatible chat endpoint through LangChain's ChatOpenAI.

Per document: plan the requests (llm/plan.py: routed chunks × passes), ask the model for each with
`with_structured_output(Extraction, method=..., include_raw=True)`, and return raw items with
their chunk as the grounding window. One backend instance serves a whole batch, so its
concurrency semaphore, rate limiter, response cache and failure state are shared by all
documents. The model and its connection pool are built once, with the backend; the model is
`llm/client.LeanChatOpenAI`, ChatOpenAI without its per-call rebuilding of constant request parts.

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
import functools
import gc
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

import openai
from pydantic import ValidationError

from ..llm.cache import CacheError, ResponseCache
from ..llm.chunking import Chunk, layout_read_tables
from ..llm.plan import Planner, Request
from ..models import Item, Stats
from ..llm.pricing import Price, price_for
from ..llm.server import is_local, server_family
from ..llm.prompts import PromptSet
from ..llm.redact import Redactor
from ..llm.settings import LLMSettings
from ..llm.tokens import count_tokens, ensure_offline_tiktoken
from ..llm.transport import RateLimiter, describe_error, retry_verdict
from .base import BackendError, BackendResult, RawItem
from ..llm.schema import Extraction
from .rules import table_block_items

if TYPE_CHECKING:
    from ..document import Document
    from ..structure import Structure



class EndpointError(BackendError):
    """The endpoint cannot serve any request (auth, unknown model, unreachable, unsupported
    structured-output method). `fatal` tells a batch runner to stop instead of trying the next
    document."""

    fatal = True


_QUOTE_SHAPE = '{"items": [{"category": "goal|achievement|problem|measure", "quote": "<verbatim text>"}]}'


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
    cached: int = 0  # prompt tokens the provider served from its prefix cache (billed lower)


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
        self.plan = Planner(settings, prompts)
        self.method = self.plan.method
        self.prompts = self.plan.prompts
        self.prompt_version: Optional[str] = self.prompts.version
        self.price: Optional[Price] = price_for(settings)
        self.cache = cache
        self.limiter = RateLimiter(settings.rps)
        self.redact = Redactor.for_settings(settings)
        self._fatal: Optional[EndpointError] = None
        self._ever_ok = False
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._sem: Optional[asyncio.Semaphore] = None
        self._http: Any = None  # the HTTP client of this event loop (llm/client.build_http_client)
        self._runnable: Any = None
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
        if settings.method == "auto" and is_local(settings.base_url):
            # vLLM, SGLang, llama.cpp and Ollama guide decoding by a JSON Schema: ask which this is
            key = settings.api_key.get_secret_value() if settings.api_key else None
            if server_family(settings.base_url, key) is not None:
                settings = settings.model_copy(update={"method": "json_schema"})
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
        return self.plan.chunks(doc.text, structure)

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
        jobs = self.plan.requests(chunks, keyed=self.cache is not None)
        results = await asyncio.gather(*(self._extract_chunk(j, stats) for j in jobs), return_exceptions=True)
        for r in results:  # a cancelled batch must not be reported as failed calls
            if isinstance(r, asyncio.CancelledError):
                raise r
        self._check_fatal()
        items: list[RawItem] = []
        failures = [r for r in results if isinstance(r, BaseException)]
        reader = self.plan.reader(doc.text, structure)  # placing, splitting, arbitrating: see answers.py
        for job, r in zip(jobs, results):
            if not isinstance(r, BaseException):
                items.extend(reader.raw_items(job.chunk, r.items, job.pass_no, stats))
        if self.settings.passes > 1:
            reader.reconcile(items, stats)
        stats.failed_calls = len(failures)  # type: ignore[attr-defined]
        if self.price is not None:
            stats.cost = round(self.price.cost(stats.prompt_tokens, stats.completion_tokens,
                                               cached_tokens=stats.cached_tokens), 6)
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
        return None if self.cache is None else self.plan.document_key(doc.text)

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
        return self.plan.messages(chunk, pass_no)

    async def _extract_chunk(self, job: Request, stats: Stats) -> Extraction:
        if not job.chunk.text.strip():  # never sent; chunking does not produce these, but be sure
            return self.plan.schema(items=[])
        key = job.key
        if self.cache is not None and key is not None:
            hit = self.cache.get(key)
            if hit is not None:
                try:
                    out = self.plan.schema.model_validate(hit.output)
                    stats.cached_calls += 1
                    return out
                except ValidationError:
                    pass
        messages = job.messages
        usage = _Usage()
        last: Optional[_SchemaFailure] = None
        convo = list(messages)
        try:
            for _ask in range(self.settings.reasks + 1):
                try:
                    out = self._scrubbed(await self._request(convo, usage, stats), job.chunk.text)
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
            stats.cached_tokens += usage.cached
        raise _CallFailed(f"output failed schema validation after {self.settings.reasks + 1} tries: {last}")

    def _scrubbed(self, out: Extraction, excerpt: str) -> Extraction:
        """The answer with any secret the model echoed masked, before it is used or cached (such a
        quote then no longer matches the source, and grounding drops it). A quote found verbatim in
        the excerpt is the report's own text, not an echo, and is kept as it is. A cited answer
        holds numbers only: nothing to mask."""
        if self.plan.cite:
            return out
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
            f"{getattr(self.plan.schema, 'SHAPE', _QUOTE_SHAPE)} for the same excerpt."
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
            # LangChain maps usage.prompt_tokens_details.cached_tokens to input_token_details.cache_read
            usage.cached += int((meta.get("input_token_details") or {}).get("cache_read") or 0)
        else:
            usage.prompt += self._estimate_prompt(convo)
        parsed = result.get("parsed") if isinstance(result, dict) else result
        if isinstance(parsed, self.plan.schema):
            return parsed
        err = result.get("parsing_error") if isinstance(result, dict) else None
        raise _SchemaFailure(_short(err) if err else "no structured output", _raw_text(raw))

    def _estimate_prompt(self, convo: list[dict[str, str]]) -> int:
        return sum(count_tokens(m["content"], self.settings.model) + 4 for m in convo)

    def _classify(self, e: BaseException, attempt: int) -> Optional[float]:
        """Seconds to wait before retrying `e`; None when it is not retryable for this chunk.
        Fatal endpoint problems are recorded and raised."""
        v = retry_verdict(e, attempt, self.settings, self.method, ever_answered=self._ever_ok, redact=self.redact)
        if v.fatal is not None:
            self._set_fatal(v.fatal)
        if v.pause_all and v.delay is not None:
            self.limiter.pause(v.delay)
        return v.delay

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
        from ..llm.client import build_chat_model, build_http_client

        self._http = build_http_client(self.settings)
        llm = build_chat_model(self.settings, http_async_client=self._http)
        return llm.with_structured_output(self.plan.schema, method=self.method, include_raw=True)


@functools.lru_cache(maxsize=1)
def _settle_heap() -> None:
    """One full garbage collection per process, after the heavy imports and before the first
    batch. The imports leave ~150k new long-lived objects behind, so otherwise the collector's
    first full pass (~70 ms on the development machine) lands on the event loop just as the first
    requests are being sent. The survivors (modules, classes, schemas: alive for the whole run)
    are then frozen, so later full passes during a long batch do not scan them again."""
    gc.collect()
    gc.freeze()


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

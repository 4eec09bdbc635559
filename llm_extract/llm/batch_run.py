"""One `extract --batch` run: which requests go into a provider batch, and how its answers reach
the ordinary pipeline.

    plan (llm/plan.Planner, as the synchronous run) → requests not in the response cache
    → JSONL → upload → batch (state saved under OUT/.llm-extract-batch/) → poll → download
    → each answer line parsed and validated as a synchronous answer (scrubbed of secrets and cached
      under its synchronous key as it is used)
    → the ordinary run (batch.run_batch) with `BatchAnswers`, which serves these answers.

Where a line failed (error-file line, non-200, invalid JSON, schema failure) the request goes
through the synchronous path, retries and re-asks included: a handful of lines at full price
beats a second 24-hour wait. Requests the provider never ran (the batch expired, failed or was
cancelled) are not sent synchronously, so a batch that dies never silently doubles the bill:
their documents are reported partial, and rerunning the same command sends just those requests
in a new batch (everything answered is in the cache).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from pydantic import ValidationError

from ..backends.openai_backend import OpenAIBackend, _CallFailed, _SchemaFailure, _Usage
from ..models import Stats
from .batch_api import (MAX_BYTES, MAX_LINES, UNANSWERED_CODES, BatchState, Provider, Wire, apply, jsonl_line,
                        load_states, read_jsonl, state_folder, wait_for)
from .schema import Extraction

if TYPE_CHECKING:
    from ..document import Document
    from ..structure import Structure
    from .plan import Request


@dataclass
class Answer:
    extraction: Extraction
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0  # of prompt_tokens, served from the provider's prefix cache


@dataclass
class Collected:
    """What the finished batches of this run brought back, by response-cache key."""

    answers: dict[str, Answer] = field(default_factory=dict)
    #: never run by the provider (batch expired, failed, cancelled): key → why
    unanswered: dict[str, str] = field(default_factory=dict)
    #: answered with an error or output the synchronous path would reject: asked synchronously
    failed_lines: int = 0


class BatchAnswers(OpenAIBackend):
    """The openai backend, serving the answers of this run's batches first. Stats count them as
    `batch_calls` and price their tokens with the batch factor; a request whose line failed goes
    the synchronous way; one the provider never ran fails the call, so its document is partial."""

    def __init__(self, *a: Any, **kw: Any):
        super().__init__(*a, **kw)
        self.collected = Collected()  # filled by BatchRun.collect
        #: per document (keyed by its Stats, kept alive so the id is not reused): batch tokens
        self._batch_tokens: dict[int, tuple[Stats, list[int]]] = {}
        #: the whole run's batch requests and tokens: calls, prompt, completion, cached
        self.batch_totals = [0, 0, 0, 0]
        self._billed: set[str] = set()  # keys whose tokens a document's stats already count

    async def _extract_chunk(self, job: "Request", stats: Stats) -> Extraction:
        key = job.key or self.plan.request_key(job.chunk, job.pass_no)
        got = self.collected.answers.get(key)
        if got is not None and key in self._billed:  # one line answers every request with its key
            stats.cached_calls += 1
            return got.extraction
        if got is not None:
            self._billed.add(key)
            got.extraction = self._scrubbed(got.extraction, job.chunk.text)  # as a synchronous answer
            self._remember(key, got)
            stats.batch_calls = getattr(stats, "batch_calls", 0) + 1  # type: ignore[attr-defined]
            stats.prompt_tokens += got.prompt_tokens
            stats.completion_tokens += got.completion_tokens
            stats.cached_tokens += got.cached_tokens
            tok = self._batch_tokens.setdefault(id(stats), (stats, [0, 0, 0]))[1]
            for i, n in enumerate((got.prompt_tokens, got.completion_tokens, got.cached_tokens)):
                tok[i] += n
                self.batch_totals[i + 1] += n
            self.batch_totals[0] += 1
            return got.extraction
        why = self.collected.unanswered.get(key)
        if why is not None:
            raise _CallFailed(why)
        return await super()._extract_chunk(job, stats)

    def _remember(self, key: str, a: Answer) -> None:
        """Cache a batch answer under its synchronous key, so any later run is served from it."""
        if self.cache is None:
            return
        from .cache import CacheError

        try:
            self.cache.put(key, a.extraction.model_dump(), model=self.settings.model,
                           prompt_version=self.prompts.version,
                           prompt_tokens=a.prompt_tokens, completion_tokens=a.completion_tokens)
        except CacheError:
            pass  # a read-only cache costs a rerun, not this result

    async def aextract(self, doc: "Document", structure: "Structure") -> Any:
        result = await super().aextract(doc, structure)
        bp, bc, bcached = self._batch_tokens.pop(id(result.stats), (None, (0, 0, 0)))[1]
        if self.price is not None and (bp or bc):  # the batch's tokens at the batch price
            full = self.price.cost(bp, bc, cached_tokens=bcached)
            batch = self.price.cost(bp, bc, cached_tokens=bcached, batch=True)
            result.stats.cost = round(result.stats.cost - full + batch, 6)
        return result


class BatchSetupError(Exception):
    """A problem the user must fix before a batch can be sent or collected (message is plain text)."""


class BatchRun:
    """Plans, submits, polls and collects the provider batches of one `extract --batch` run."""

    def __init__(self, backend: BatchAnswers, out_dir: Path, *, poll: float = 60.0,
                 provider: Optional[Provider] = None):
        self.backend = backend
        self.settings = backend.settings
        self.out_dir = out_dir
        self.folder = state_folder(out_dir)
        self.poll = poll
        self.wire = Wire(self.settings, backend.method, backend.plan.schema)
        self.provider = provider or Provider(self.settings)
        self.redact = backend.redact
        self.states: list[BatchState] = []
        self.collected = backend.collected
        self.sent = 0
        self.from_cache = 0  # requests answered by the response cache
        self.cached_docs = 0  # documents the cache holds whole

    # -- resume -------------------------------------------------------------------------------------

    def resume(self) -> list[BatchState]:
        """The batches earlier runs into this folder left unwritten, re-attached (a batch created
        just before a kill is found by its local id)."""
        for st in load_states(self.out_dir):
            if (st.model, st.base_url, st.method) != (self.settings.model, self.settings.base_url, self.backend.method):
                raise BatchSetupError(
                    f"{self.folder} holds batch {st.batch_id or st.local_id} for model {st.model} at "
                    f"{st.base_url or 'the default endpoint'} (method {st.method}); run with those settings to "
                    "collect it, `llm-extract batch cancel` it (then delete that folder), or use another --out folder")
            if st.batch_id is None and st.input_file_id is not None:
                found = self.provider.find(st.local_id)
                if found is not None:
                    apply(st, found)
                else:
                    apply(st, self.provider.create(st.input_file_id, st.local_id))
                st.save(self.folder)
            if st.batch_id is None:  # killed before its upload finished: planned again below
                st.remove(self.folder)
                continue
            self.states.append(st)
        return self.states

    # -- plan and submit -------------------------------------------------------------------------------

    def plan(self, files: list[Path], *, force: bool) -> list[BatchState]:
        """New batches for every request of `files` that neither the cache nor a batch of this folder
        answers (documents already written from the same bytes are skipped, as in a normal run)."""
        from ..batch import _same_run, read_result
        from ..document import file_sha256
        from ..loaders import load
        from ..structure import analyze

        be = self.backend
        taken = {k for st in self.states for k in st.keys.values()}
        new: list[BatchState] = []
        cur: Optional[BatchState] = None
        size = 0
        fh: Any = None
        try:
            for path in files:
                out_path = self.out_dir / f"{path.stem}.json"
                if not force and out_path.exists() and _same_run(read_result(out_path), file_sha256(path), be):
                    continue
                try:
                    doc = load(path)
                    if be._cached_document(be._doc_key(doc)) is not None:
                        self.cached_docs += 1
                        continue
                    requests = be.plan.requests(be.chunks_for(doc, analyze(doc)), keyed=True)
                except Exception:  # unreadable or broken: the ordinary run after the batch names it
                    continue
                for req in requests:
                    if req.key in taken or not req.chunk.text.strip():
                        continue
                    taken.add(req.key)
                    if be.cache is not None and be.cache.get(req.key) is not None:
                        self.from_cache += 1
                        continue
                    body = self.wire.body(req.messages)
                    base = f"{doc.doc_id}:chunk{req.chunk.index}:pass{req.pass_no}"
                    line = jsonl_line(base, body, self.provider.endpoint)
                    if cur is None or len(cur.keys) >= MAX_LINES or size + len(line) > MAX_BYTES:
                        if fh is not None:
                            fh.close()
                        cur = BatchState.new(self.settings, be.method)
                        new.append(cur)
                        self.folder.mkdir(parents=True, exist_ok=True)
                        fh = cur.input_path(self.folder).open("wb")
                        size = 0
                    cid = _unique(base, cur.keys)  # two files may share a stem only across folders
                    if cid != base:
                        line = jsonl_line(cid, body, self.provider.endpoint)
                    cur.keys[cid] = req.key
                    fh.write(line)
                    size += len(line)
        finally:
            if fh is not None:
                fh.close()
        return new

    def submit(self, new: list[BatchState]) -> None:
        """Upload and create each planned batch, saving its state before and after each call."""
        for st in new:
            st.save(self.folder)
            try:
                st.input_file_id = self.provider.upload(st.input_path(self.folder))
            except BaseException:  # nothing reached the provider: nothing to resume
                for later in new[new.index(st):]:
                    later.remove(self.folder)
                raise
            st.status = "uploaded"
            st.save(self.folder)
            apply(st, self.provider.create(st.input_file_id, st.local_id))
            st.save(self.folder)
            st.input_path(self.folder).unlink(missing_ok=True)
            self.sent += len(st.keys)
            self.states.append(st)

    # -- poll and collect -------------------------------------------------------------------------------

    def wait(self, on_update: Callable[[list[BatchState]], None], **kw: Any) -> None:
        wait_for(self.provider, self.states, self.folder, max_interval=self.poll, on_update=on_update, **kw)

    def collect(self) -> Collected:
        """Download each finished batch's answer files (once; they are kept beside its state until
        the run is written) and read every line the way the synchronous answer is read."""
        for st in self.states:
            for kind, fid in (("output", st.output_file_id), ("errors", st.error_file_id)):
                dest = st.answers_path(self.folder, kind)
                if fid and not dest.exists():
                    self.provider.download(fid, dest)
            self._read(st)
            st.status = "collected"
            st.save(self.folder)
        return self.collected

    def _read(self, st: BatchState) -> None:
        seen: set[str] = set()
        for kind in ("output", "errors"):
            for row in read_jsonl(st.answers_path(self.folder, kind)):
                key = st.keys.get(str(row.get("custom_id")))
                if key is None:
                    continue
                seen.add(key)
                err = row.get("error") or {}
                if isinstance(err, dict) and err.get("code") in UNANSWERED_CODES:
                    self.collected.unanswered[key] = self._never_run(st)
                    continue
                answer = self._answer(row.get("response"))
                if answer is None:
                    self.collected.failed_lines += 1
                else:
                    self._keep(key, answer)
        for key in st.keys.values():
            if key not in seen:
                if st.provider_status == "completed":  # a line the provider lost: ask it synchronously
                    self.collected.failed_lines += 1
                else:
                    self.collected.unanswered[key] = self._never_run(st)

    def _never_run(self, st: BatchState) -> str:
        why = f" ({'; '.join(st.errors)})" if st.errors else ""
        return self.redact(f"not answered: batch {st.batch_id} {st.provider_status}{why}; run the same command "
                           "again to send the unanswered requests in a new batch")

    def _answer(self, response: Any) -> Optional[Answer]:
        """A 200 response's answer through the synchronous parse, validation and secret scrub; None
        for anything the synchronous path would have to ask again."""
        if not isinstance(response, dict) or response.get("status_code") != 200:
            return None
        body = response.get("body")
        if not isinstance(body, dict):
            return None
        usage = _Usage()
        try:  # scrubbed of echoed secrets and cached when used, where its excerpt is known
            out = self.backend._parsed(self.wire.parse(body), [], usage)
        except (_SchemaFailure, ValidationError, ValueError, KeyError, TypeError, IndexError):
            return None
        return Answer(out, usage.prompt, usage.completion, usage.cached)

    def _keep(self, key: str, a: Answer) -> None:
        self.collected.answers[key] = a

    def finish(self) -> None:
        """The run is written: forget its batches (their answers are in the cache)."""
        for st in self.states:
            st.remove(self.folder)
        self.provider.close()


def _unique(cid: str, taken: dict[str, str]) -> str:
    n, out = 1, cid
    while out in taken:
        n += 1
        out = f"{cid}#{n}"
    return out

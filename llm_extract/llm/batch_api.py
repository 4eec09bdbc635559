"""The provider Batch API (OpenAI `/v1/files` + `/v1/batches`, and providers that copy it).

Three small pieces, each usable alone:

* `Wire`: one planned request (llm/plan.Request) as the exact chat-completion body the synchronous
  path sends (same model, temperature, structured-output method, messages), and a batch answer
  line back through the same parse and validation the synchronous answer takes.
* `BatchState`: what a submitted batch is, saved atomically under the output folder
  (OUT/.llm-extract-batch/<local id>.json) before and after every provider call, so a killed
  process resumes instead of paying twice.
* `Provider`: upload, create, poll, cancel and download through the official `openai` client.

What is sent, polled and collected for a run is decided by commands/batch.py.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

from pydantic import BaseModel, Field, ValidationError

from .. import atomic

if TYPE_CHECKING:
    from .settings import LLMSettings

#: Folder under the output folder that holds batch state and the downloaded answer files.
STATE_DIR = ".llm-extract-batch"
#: The provider's terminal batch states; all others are still running.
TERMINAL = ("completed", "failed", "expired", "cancelled")
#: Per-line errors that mean "never answered because the batch ended", not "this request failed".
UNANSWERED_CODES = ("batch_expired", "batch_cancelled")
#: OpenAI's per-batch limits (50,000 requests, 200 MB input file), with headroom on the size.
MAX_LINES = 50_000
MAX_BYTES = 190 * 1024 * 1024


class BatchState(BaseModel):
    """One submitted batch. `keys` maps each line's custom_id to the response-cache key of its
    request, which is how an answer finds the request (and cache entry) it belongs to. No secret is
    stored: the key comes from the settings on every run."""

    local_id: str
    base_url: Optional[str] = None
    model: str
    method: str
    keys: dict[str, str] = Field(default_factory=dict)
    input_file_id: Optional[str] = None
    batch_id: Optional[str] = None
    status: str = "planned"  # planned | uploaded | <provider status> | collected
    provider_status: Optional[str] = None
    counts: dict[str, int] = Field(default_factory=dict)
    output_file_id: Optional[str] = None
    error_file_id: Optional[str] = None
    errors: list[str] = Field(default_factory=list)
    created: float = Field(default_factory=time.time)

    @classmethod
    def new(cls, settings: "LLMSettings", method: str) -> "BatchState":
        return cls(local_id=uuid.uuid4().hex[:16], base_url=settings.base_url, model=settings.model, method=method)

    # -- files under OUT/.llm-extract-batch/ ------------------------------------------------------

    def path(self, folder: Path) -> Path:
        return folder / f"{self.local_id}.json"

    def input_path(self, folder: Path) -> Path:
        return folder / f"{self.local_id}.input.jsonl"

    def answers_path(self, folder: Path, kind: str) -> Path:
        return folder / f"{self.local_id}.{kind}.jsonl"

    def save(self, folder: Path) -> None:
        atomic.write_bytes(self.path(folder), self.model_dump_json(indent=1).encode("utf-8"))

    def remove(self, folder: Path) -> None:
        for p in (self.path(folder), self.input_path(folder), self.answers_path(folder, "output"),
                  self.answers_path(folder, "errors")):
            p.unlink(missing_ok=True)

    @property
    def finished(self) -> bool:
        return self.provider_status in TERMINAL


def state_folder(out_dir: Path) -> Path:
    return out_dir / STATE_DIR


def load_states(out_dir: Path) -> list[BatchState]:
    """The batches of earlier runs into this output folder that were not yet written out, oldest
    first. An unreadable state file is skipped (it is named by `batch status`)."""
    folder = state_folder(out_dir)
    states = []
    for p in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            states.append(BatchState.model_validate_json(p.read_bytes()))
        except (OSError, ValueError, ValidationError):
            continue
    return sorted(states, key=lambda s: s.created)


# -- the wire format ------------------------------------------------------------------------------

class Wire:
    """Request bodies and answer parsing of the synchronous path, taken from the same LangChain
    runnable it invokes (`with_structured_output(schema, method, include_raw=True)` on the chat
    model of llm/client.py), so a batch asks exactly what a synchronous run asks."""

    def __init__(self, settings: "LLMSettings", method: str, schema: type[BaseModel]):
        from .client import build_chat_model, strict_response_format

        self.schema = schema
        runnable = build_chat_model(settings).with_structured_output(schema, method=method, include_raw=True)
        binding = runnable.first.steps__["raw"]
        self._llm = binding.bound
        self._kwargs = {k: v for k, v in binding.kwargs.items() if k != "ls_structured_output_format"}
        self._parser = runnable.last
        self._strict = strict_response_format(schema) if isinstance(self._kwargs.get("response_format"), type) else None

    def body(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        """The JSON body the synchronous call POSTs to /chat/completions for `messages`."""
        payload = dict(self._llm._get_request_payload(messages, **self._kwargs))
        extra = payload.pop("extra_body", None) or {}
        if self._strict is not None:
            payload["response_format"] = self._strict
        payload.update(extra)  # as the SDK merges extra_body into the body it sends
        return payload

    def parse(self, response: dict[str, Any]) -> dict[str, Any]:
        """A chat-completion response body → {"raw", "parsed", "parsing_error"}, as the synchronous
        runnable returns it. Raises pydantic's ValidationError (or ValueError) for output that the
        synchronous path would reject inside the client."""
        result = self._llm._create_chat_result(response)
        message = result.generations[0].message
        if self._strict is not None:  # what LeanChatOpenAI does for method json_schema
            content = message.content
            if isinstance(content, str) and content and not message.additional_kwargs.get("refusal"):
                message.additional_kwargs["parsed"] = self.schema.model_validate_json(content)
        return self._parser.invoke({"raw": message})


def endpoint_path(base_url: Optional[str]) -> str:
    """The batch `endpoint` (and each line's `url`) for chat completions at `base_url`: OpenAI and
    most copies take "/v1/chat/completions"; a provider whose API version is another path segment
    (Zhipu's .../api/paas/v4) takes its own ("/v4/chat/completions")."""
    last = (base_url or "").rstrip("/").rsplit("/", 1)[-1]
    version = last if re.fullmatch(r"v\d+", last) else "v1"
    return f"/{version}/chat/completions"


def jsonl_line(custom_id: str, body: dict[str, Any], url: str = "/v1/chat/completions") -> bytes:
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": url, "body": body},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a downloaded answer file; an unparseable line yields {"_invalid": text}."""
    if not path.exists():
        return
    with path.open("rb") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except ValueError:
                row = None
            yield row if isinstance(row, dict) else {"_invalid": raw[:200].decode("utf-8", "replace")}


# -- the provider -----------------------------------------------------------------------------------

class Provider:
    """The Batch API of the configured endpoint through the official `openai` client (its own
    retries for these few control calls). Errors surface as openai.APIError; callers word them
    with llm/transport.describe_error and redact them."""

    def __init__(self, settings: "LLMSettings"):
        import openai

        s = settings
        self.endpoint = endpoint_path(s.base_url)
        self.client = openai.OpenAI(
            base_url=s.base_url, api_key=s.api_key.get_secret_value() if s.api_key else "not-needed",
            timeout=max(s.timeout, 60.0), max_retries=3,
        )

    def upload(self, path: Path) -> str:
        with path.open("rb") as fh:
            return self.client.files.create(file=(path.name, fh), purpose="batch").id

    def create(self, input_file_id: str, local_id: str) -> Any:
        # never retried blindly: a create that timed out may have succeeded, and a second one would
        # bill every request twice; a rerun finds it by `local_id` instead (BatchRun.resume)
        return self.client.with_options(max_retries=0).batches.create(
            input_file_id=input_file_id, endpoint=self.endpoint, completion_window="24h",
            metadata={"llm_extract_local_id": local_id},
        )

    def find(self, local_id: str) -> Optional[Any]:
        """The batch created for `local_id` when the process died before saving its id."""
        for b in self.client.batches.list(limit=100):
            if (getattr(b, "metadata", None) or {}).get("llm_extract_local_id") == local_id:
                return b
        return None

    def retrieve(self, batch_id: str) -> Any:
        return self.client.with_options(max_retries=0).batches.retrieve(batch_id)  # wait_for retries

    def cancel(self, batch_id: str) -> Any:
        return self.client.batches.cancel(batch_id)

    def download(self, file_id: str, dest: Path) -> None:
        data = self.client.files.content(file_id).read()
        atomic.write_bytes(dest, data)

    def close(self) -> None:
        self.client.close()


def apply(state: BatchState, batch: Any) -> None:
    """Copy what the provider says about a batch into its state."""
    state.batch_id = batch.id
    state.provider_status = batch.status
    state.status = batch.status
    rc = getattr(batch, "request_counts", None)
    if rc is not None:
        state.counts = {"total": rc.total or 0, "completed": rc.completed or 0, "failed": rc.failed or 0}
    state.output_file_id = getattr(batch, "output_file_id", None)
    state.error_file_id = getattr(batch, "error_file_id", None)
    errs = getattr(getattr(batch, "errors", None), "data", None) or []
    state.errors = [f"{getattr(e, 'code', '') or ''}: {getattr(e, 'message', '') or ''}".strip(": ") for e in errs][:5]


def poll_delays(max_interval: float, *, start: Optional[float] = None) -> Iterator[float]:
    """Seconds between status polls: from a fifth of the maximum (at most 5 s) growing by half each
    time up to `max_interval`, so a small batch is seen finishing soon and a day-long one costs a
    few requests a minute."""
    d = start if start is not None else min(5.0, max_interval / 5)
    while True:
        yield d
        d = min(max_interval, d * 1.5)


def wait_for(provider: Provider, states: list[BatchState], folder: Path, *, max_interval: float,
             on_update: Callable[[list[BatchState]], None], sleep: Callable[[float], None] = time.sleep) -> None:
    """Poll every unfinished batch until all are in a terminal state, saving each state as it
    changes. A failed status check (connection, 5xx, 429) is just tried again at the next poll: a
    day-long wait must not end on one network blip; other errors (401, 404) are raised."""
    import openai

    transient = (openai.APIConnectionError, openai.InternalServerError, openai.RateLimitError)
    delays = poll_delays(max_interval)
    while True:
        for st in states:
            if not st.finished and st.batch_id:
                before = (st.provider_status, dict(st.counts))
                try:
                    apply(st, provider.retrieve(st.batch_id))
                except transient:
                    continue
                if (st.provider_status, st.counts) != before:
                    st.save(folder)
        on_update(states)
        if all(st.finished for st in states):
            return
        sleep(next(delays))

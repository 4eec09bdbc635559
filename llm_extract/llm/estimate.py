"""What an LLM run would cost, computed offline: same chunking, routing and prompts as the real
run, tokens counted with tiktoken, prices from the price table. Nothing is sent anywhere."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from .chunking import chunk_document
from ..loaders import LoadError, load
from .pricing import Price, price_for
from .plan import Planner
from .settings import LLMSettings
from ..structure import analyze
from .tokens import count_tokens

#: Completion tokens per chunk token: the answer quotes most of a relevant chunk, plus JSON.
#: Completion tokens per chunk token sent: a faithful answer quotes nearly every item-bearing
#: sentence back, plus its JSON. Calibrated against what the oracle mock (gold answers, counted
#: with tiktoken) returned on every gold set: 0.97 tokens per chunk token overall (0.83–1.09 per
#: report); with these constants the estimate is within 5 % per gold set (benchmarks/README.md).
COMPLETION_RATIO = 0.96
COMPLETION_OVERHEAD = 15
#: Providers' automatic prefix caching (OpenAI, DeepSeek): a prompt prefix of >= 1,024 tokens
#: already seen is served from cache in 128-token steps; the estimate assumes each document's
#: first call is cold and its later calls hit on the fixed prefix (system prompt, examples, schema).
CACHE_MIN, CACHE_STEP = 1024, 128
#: Chat-format tokens per message and per request (OpenAI's documented accounting).
PER_MESSAGE, PER_REQUEST = 4, 3


def schema_tokens(method: str, model: Optional[str] = None, schema: Optional[type] = None) -> int:
    """Prompt tokens the output schema adds to each request: json_schema sends it as the response
    format and function_calling as a tool definition (providers bill both as input); json_mode
    sends none (its format instructions are in the system prompt, counted with the messages)."""
    if method == "json_mode":
        return 0
    return count_tokens(json.dumps((schema or Planner.schema).model_json_schema(), ensure_ascii=False), model)


@dataclass
class DocEstimate:
    doc_id: str
    source: str
    chunks: int = 0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0  # estimated
    cached_tokens: int = 0  # of prompt_tokens, those a provider's prefix cache is expected to serve
    text_tokens: int = 0  # report text actually sent (after routing), per pass
    all_text_tokens: int = 0  # report text if every section were sent
    cost: Optional[float] = None
    error: Optional[str] = None


@dataclass
class Estimate:
    model: str
    method: str
    price: Optional[Price]
    docs: list[DocEstimate] = field(default_factory=list)

    @property
    def ok(self) -> list[DocEstimate]:
        return [d for d in self.docs if d.error is None]

    def total(self, attr: str) -> float:
        return sum(getattr(d, attr) or 0 for d in self.ok)

    @property
    def cost(self) -> Optional[float]:
        return None if self.price is None else sum(d.cost or 0.0 for d in self.ok)


def estimate_document(text: str, settings: LLMSettings, *, doc_id: str = "doc", source: str = "") -> DocEstimate:
    """The requests a run would send for `text` (the backend's own plan), counted."""
    st = analyze(text)
    plan = Planner(settings)
    method = plan.method
    chunks = plan.chunks(text, st)
    est = DocEstimate(doc_id=doc_id, source=source, chunks=len(chunks))
    if settings.route != "all":
        est.all_text_tokens = sum(c.tokens for c in chunk_document(
            text, st, max_tokens=settings.max_chunk_tokens, route="all", model=settings.model))
    else:
        est.all_text_tokens = sum(c.tokens for c in chunks)
    fixed: Optional[int] = None  # system + few-shot + schema tokens, the same for every call
    est.text_tokens = sum(c.tokens for c in chunks)
    for req in plan.requests(chunks, keyed=False):
        msgs = req.messages
        if fixed is None:
            fixed = sum(count_tokens(m["content"], settings.model) + PER_MESSAGE for m in msgs[:-1])
            fixed += schema_tokens(method, settings.model, plan.schema)
        est.prompt_tokens += fixed + count_tokens(msgs[-1]["content"], settings.model) + PER_MESSAGE + PER_REQUEST
        if plan.cite:  # segment ranges, not quotes: llm/citing.completion_estimate
            from .citing import completion_estimate
            est.completion_tokens += completion_estimate(req.chunk)
        else:
            est.completion_tokens += int(req.chunk.tokens * COMPLETION_RATIO) + COMPLETION_OVERHEAD
        if est.calls and fixed >= CACHE_MIN:
            est.cached_tokens += fixed // CACHE_STEP * CACHE_STEP
        est.calls += 1
    price = price_for(settings)
    if price is not None:
        est.cost = price.cost(est.prompt_tokens, est.completion_tokens, cached_tokens=est.cached_tokens)
    return est


def estimate_paths(paths: Iterable[Path], settings: LLMSettings) -> Estimate:
    """Estimates for report files (folders are searched like `extract` does); a file that cannot
    be loaded is listed with its error."""
    from ..batch import discover

    files, problems = discover(list(paths))
    result = Estimate(model=settings.model, method=settings.resolved_method(), price=price_for(settings))
    for p in problems:
        result.docs.append(DocEstimate(doc_id=p.doc_id, source=p.path, error=p.error))
    for f in files:
        try:
            doc = load(f)
        except LoadError as e:
            result.docs.append(DocEstimate(doc_id=f.stem, source=str(f), error=str(e)))
            continue
        result.docs.append(estimate_document(doc.text, settings, doc_id=doc.doc_id, source=str(f)))
    return result

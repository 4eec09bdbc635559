"""Cost that matches the invoice: prompt tokens a provider served from its prefix cache are read
from the answer (usage.prompt_tokens_details.cached_tokens, as OpenAI reports them), counted in
stats and billed at the cached price; `estimate`'s completion figure is calibrated against what
the (oracle) mock actually returned."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from llm_extract.backends.openai_backend import OpenAIBackend
from llm_extract.document import Document
from llm_extract.llm import pricing
from llm_extract.llm.estimate import estimate_document
from llm_extract.llm.settings import LLMSettings
from llm_extract.loaders import load
from llm_extract.pipeline import aextract_document
from mock_openai_server import MockOpenAIServer

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "fixtures" / "reports" / "lianjiang_2024.txt"


def _run(srv: MockOpenAIServer, docs: list[Document], **kw):
    b = OpenAIBackend.from_settings(LLMSettings(model="gpt-4o-mini", base_url=srv.base_url, api_key="k",
                                                no_cache=True, concurrency=1, **kw))

    async def main():
        try:
            return [await aextract_document(d, b) for d in docs]
        finally:
            await b.aclose()

    return asyncio.run(main())


def test_cached_prompt_tokens_are_counted_and_billed_at_the_cached_price():
    doc = load(REPORT)
    with MockOpenAIServer() as srv:
        cold, = _run(srv, [doc])
        warm, = _run(srv, [doc])  # same prompts again: the provider's prefix cache is warm
    assert cold.stats.llm_calls > 1
    # within the first run, every call after the first shares the system prompt, examples and schema
    assert 0 < cold.stats.cached_tokens < cold.stats.prompt_tokens
    assert warm.stats.cached_tokens > cold.stats.cached_tokens
    price = pricing.lookup("gpt-4o-mini")
    assert warm.stats.cost == pytest.approx(
        price.cost(warm.stats.prompt_tokens, warm.stats.completion_tokens, cached_tokens=warm.stats.cached_tokens),
        abs=1e-6)
    assert warm.stats.cost < price.cost(warm.stats.prompt_tokens, warm.stats.completion_tokens)


def test_estimate_completion_tokens_are_within_ten_percent_of_what_the_oracle_returned(tmp_path):
    """Calibration: on every gold set, the estimated completion tokens against the oracle's answers."""
    import json

    from _oracle import gold_sets, gold_with_text, run_oracle

    for gs in gold_sets():
        out = tmp_path / gs.name
        run_oracle(gs, out)
        _, files = gold_with_text(gs)
        real = sum(json.loads((out / f"{f.stem}.json").read_text(encoding="utf-8"))["stats"]["completion_tokens"]
                   for f in files)
        est = sum(estimate_document(load(f).text, LLMSettings(model="gpt-4o-mini")).completion_tokens for f in files)
        assert abs(est / real - 1) <= 0.10, (gs.name, est, real)


def test_estimate_expects_the_fixed_prefix_from_the_provider_cache_and_bills_it_lower():
    e = estimate_document(load(REPORT).text, LLMSettings(model="gpt-4o-mini"))
    assert e.calls > 1 and 0 < e.cached_tokens < e.prompt_tokens
    price = pricing.lookup("gpt-4o-mini")
    assert e.cost == pytest.approx(price.cost(e.prompt_tokens, e.completion_tokens, cached_tokens=e.cached_tokens))
    assert e.cost < price.cost(e.prompt_tokens, e.completion_tokens)

"""Run the LLM path against the mock server's oracle (or noisy model) on a gold set, and score it.

Shared by the oracle tests and benchmarks/bench_oracle.py. Gold sets are discovered, so a new
gold folder is covered as soon as it lands; the held-out set is never touched.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from llm_extract.backends.openai_backend import OpenAIBackend
from llm_extract.batch import arun_batch
from llm_extract.commands.eval import EvalConfig, run_eval
from llm_extract.evaluation import EvalResult
from llm_extract.gold import gold_files, load_gold_dir, report_index
from llm_extract.loaders import load
from llm_extract.llm.settings import LLMSettings
from mock_openai_server import MockOpenAIServer

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures"


@dataclass(frozen=True)
class GoldSet:
    name: str
    gold: Path
    reports: Path


#: Every (gold, reports) pair the repository may hold. fixtures/heldout is deliberately absent.
_CANDIDATES = (
    GoldSet("fixtures", FIX / "gold", FIX / "reports"),
    GoldSet("synthetic", FIX / "synthetic_gold", FIX / "synthetic"),
    GoldSet("generality", FIX / "generality" / "gold", FIX / "generality" / "reports"),
)


def gold_sets() -> list[GoldSet]:
    """The gold sets present in this checkout (gold files and their reports folder)."""
    return [g for g in _CANDIDATES if g.gold.is_dir() and g.reports.is_dir() and gold_files(g.gold)]


def gold_with_text(gs: GoldSet) -> tuple[list[dict], list[Path]]:
    """Gold documents with their report text (what the oracle answers from) and the report files."""
    index = report_index(gs.reports)
    gold, files = [], []
    for g in load_gold_dir(gs.gold):
        if g.doc_id in index:
            gold.append({**g.model_dump(), "text": load(index[g.doc_id]).text})
            files.append(index[g.doc_id])
    return gold, files


def run_oracle(gs: GoldSet, out: Path, *, route: str = "relevant", perturb: Optional[str] = None,
               noise: Optional[float] = None, seed: int = 0, passes: int = 1,
               max_chunk_tokens: Optional[int] = None,
               noise_kinds: Optional[Iterable[str]] = None,
               answer_format: str = "quote") -> tuple[EvalResult, list]:
    """Extract the set's reports through the whole pipeline with the mock oracle (`noise`: the
    noisy model at that rate; `answer_format` "cite": the oracle cites segment ranges) and score
    them; returns the eval result and the batch outcomes."""
    gold, files = gold_with_text(gs)
    with MockOpenAIServer(oracle=gold, perturb=perturb, noise=noise, seed=seed, noise_kinds=noise_kinds) as srv:
        opts = dict(model="gpt-4o-mini", base_url=srv.base_url, api_key="sk-oracle", no_cache=True,
                    route=route, concurrency=16, backoff=0.01, passes=passes, answer_format=answer_format)
        if max_chunk_tokens:
            opts["max_chunk_tokens"] = max_chunk_tokens
        b = OpenAIBackend.from_settings(LLMSettings(**opts))

        async def main():
            try:
                return await arun_batch(files, out, b)
            finally:
                await b.aclose()

        outcomes = asyncio.run(main())
    return run_eval(EvalConfig(gold=gs.gold, reports=gs.reports, pred=out)), outcomes

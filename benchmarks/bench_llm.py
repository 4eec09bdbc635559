"""LLM-path benchmarks against the local mock server (no network, no key).

  (a) routing: prompt tokens per report with routing vs. sending every section (tiktoken counts of
      the exact messages), and the oracle's macro span F1 both ways — no F1 loss (the old <= 50 %
      token target is withdrawn: routing must first lose nothing; bench_oracle.py covers every
      gold set);
  (b) throughput: 200 chunk calls with 300 ms mock latency at concurrency 16 vs. the ideal
      200 x 0.3 s / 16 — target <= 1.15 x ideal;
  (c) cache: the same documents rerun from the SQLite cache — target >= 100 x faster.

The mock server runs in its own process for (b)/(c), as a real endpoint would.

Run:  python benchmarks/bench_llm.py [--calls 200] [--latency 0.3] [--concurrency 16] [--also-latency 1 2] [--only a|b]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from llm_extract.backends.openai_backend import OpenAIBackend  # noqa: E402
from llm_extract.batch import arun_batch  # noqa: E402
from llm_extract.commands.eval import EvalConfig, run_eval  # noqa: E402
from llm_extract.document import Document  # noqa: E402
from llm_extract.llm.estimate import estimate_document  # noqa: E402
from llm_extract.gold import gold_files, load_gold_dir, report_index  # noqa: E402
from llm_extract.loaders import load  # noqa: E402
from llm_extract.pipeline import aextract_document  # noqa: E402
from llm_extract.llm.settings import LLMSettings  # noqa: E402
from llm_extract.structure import analyze  # noqa: E402
from mock_openai_server import MockOpenAIServer  # noqa: E402

REPORTS = ROOT / "fixtures" / "reports"
GOLD = ROOT / "fixtures" / "gold"


def routing(max_chunk_tokens: int) -> None:
    print(f"(a) routing — prompt tokens per report (o200k tiktoken, full messages, max_chunk_tokens={max_chunk_tokens})")
    tot_r = tot_a = text_r = text_a = 0
    for path in sorted(REPORTS.iterdir()):
        text = load(path).text
        r = estimate_document(text, LLMSettings(route="relevant", max_chunk_tokens=max_chunk_tokens))
        a = estimate_document(text, LLMSettings(route="all", max_chunk_tokens=max_chunk_tokens))
        tot_r, tot_a = tot_r + r.prompt_tokens, tot_a + a.prompt_tokens
        text_r, text_a = text_r + r.text_tokens, text_a + a.text_tokens
        print(f"    {path.stem:18s} routed {r.prompt_tokens:7,d} ({r.calls:2d} calls)  all {a.prompt_tokens:7,d} "
              f"({a.calls:2d} calls)  = {r.prompt_tokens / a.prompt_tokens:5.1%}   report text alone: "
              f"{r.text_tokens / a.text_tokens:5.1%}")
    print(f"    total              routed {tot_r:7,d}            all {tot_a:7,d}            = {tot_r / tot_a:5.1%}   "
          f"report text alone: {text_r / text_a:5.1%}")
    if GOLD.is_dir() and gold_files(GOLD):
        f1 = {route: oracle_f1(route, max_chunk_tokens) for route in ("relevant", "all")}
        print(f"    oracle macro span F1: routed {f1['relevant']:.4f}  all {f1['all']:.4f}")


def oracle_f1(route: str, max_chunk_tokens: int) -> float:
    index = report_index(REPORTS)
    golds = [g for g in load_gold_dir(GOLD) if g.doc_id in index]
    gold = [{**g.model_dump(), "text": load(index[g.doc_id]).text} for g in golds]
    out = Path(tempfile.mkdtemp()) / "out"
    with MockOpenAIServer(oracle=gold) as srv:
        b = OpenAIBackend(LLMSettings(base_url=srv.base_url, api_key="k", route=route, no_cache=True,
                                      concurrency=16, max_chunk_tokens=max_chunk_tokens))

        async def run() -> None:
            try:
                await arun_batch([index[g.doc_id] for g in golds], out, b)
            finally:
                await b.aclose()

        asyncio.run(run())
    return run_eval(EvalConfig(gold=GOLD, reports=REPORTS, pred=out)).macro_span_f1


def synthetic_docs(calls: int, per_doc: int) -> list[Document]:
    """Documents that chunk into exactly `per_doc` chunks each (one section per chunk at 500 tokens)."""
    docs = []
    for d in range(calls // per_doc):
        parts = [f"{k + 1}、存在问题{d}-{k}\n" + f"一是第{d}号报告第{k}节的问题较为突出，需要持续改进。" * 15 + "\n"
                 for k in range(per_doc)]
        docs.append(Document.from_text("\n".join(parts), doc_id=f"syn{d}"))
    return docs


class ServerProcess:
    """The mock server in its own process, so its CPU does not compete with the client's."""

    def __init__(self, latency: float):
        self.latency = latency

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "mock_openai_server.py"), "--latency", str(self.latency)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return self.proc.stdout.readline().strip()

    def __exit__(self, *exc) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def throughput(calls: int, latency: float, concurrency: int, cache_dir: Path, per_doc: int = 10) -> None:
    docs = synthetic_docs(calls, per_doc)
    ideal = calls * latency / concurrency
    db = cache_dir / f"bench-cache-{latency}.sqlite3"
    with ServerProcess(latency) as url:
        settings = LLMSettings(base_url=url, api_key="k", concurrency=concurrency, cache_path=db, max_chunk_tokens=500)
        b = OpenAIBackend.from_settings(settings)
        n_chunks = sum(len(b.chunks_for(d, analyze(d))) for d in docs)
        assert n_chunks == calls, n_chunks

        async def run_all(backend):
            try:
                return await asyncio.gather(*(aextract_document(d, backend) for d in docs))
            finally:
                await backend.aclose()

        t0, c0 = time.perf_counter(), time.process_time()
        reps = asyncio.run(run_all(b))
        first, cpu = time.perf_counter() - t0, time.process_time() - c0
        sent = sum(r.stats.llm_calls for r in reps)
        b2 = OpenAIBackend.from_settings(settings)
        t0 = time.perf_counter()
        reps2 = asyncio.run(run_all(b2))
        second = time.perf_counter() - t0
        resent = sum(r.stats.llm_calls for r in reps2)
    print(f"(b) throughput — {sent} chunk calls ({len(docs)} documents x {per_doc} chunks), "
          f"{latency * 1000:.0f} ms latency, concurrency {concurrency}")
    print(f"    wall {first:.3f} s; ideal {ideal:.3f} s (calls x latency / concurrency) -> {first / ideal:.3f} x ideal;"
          f" client CPU {cpu / max(sent, 1) * 1000:.1f} ms per call")
    print(f"(c) cache — rerun of the same documents: {second * 1000:.1f} ms, {resent} requests sent, "
          f"{sum(r.stats.cached_calls for r in reps2)} calls served from cache -> {first / second:.0f} x faster")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--latency", type=float, default=0.3)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--max-chunk-tokens", type=int, default=LLMSettings().max_chunk_tokens)
    ap.add_argument("--also-latency", type=float, nargs="*", default=[],
                    help="repeat (b)/(c) at these latencies too (real models answer in seconds)")
    ap.add_argument("--only", choices=["a", "b"], default=None,
                    help="run only (a) routing, or only (b) throughput with (c) cache")
    args = ap.parse_args()
    if args.only != "b":
        routing(args.max_chunk_tokens)
    if args.only == "a":
        return
    with tempfile.TemporaryDirectory() as d:
        for lat in [args.latency, *args.also_latency]:
            throughput(args.calls, lat, args.concurrency, Path(d))


if __name__ == "__main__":
    main()

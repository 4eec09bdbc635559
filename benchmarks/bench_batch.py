"""Batch path against the synchronous path, through the CLI as a user runs it.

For every gold set (fixtures/gold, synthetic, generality; never the held-out set), against the local
mock (tests/mock_batch_api.py: the oracle answers, token counts with tiktoken, an OpenAI-style
prefix cache):

  sync   `llm-extract extract FILES -o OUT --no-cache`
  batch  `llm-extract extract FILES -o OUT --batch` (fresh cache, fresh server: a cold prefix cache
         on both sides)
  rerun  the batch command again into a new folder, same cache

and reports model requests (synchronous chat calls / batch lines), HTTP requests the client made,
batches created, tokens, cost (from the written stats, price table gpt-4o-mini), wall time, and
whether the batch results equal the synchronous ones.

Run:  python benchmarks/bench_batch.py [--poll 0.05]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from _oracle import gold_sets, gold_with_text  # noqa: E402
from mock_batch_api import MockBatchServer  # noqa: E402

MODEL = "gpt-4o-mini"
CODE = "import sys; from llm_extract.cli import main; sys.argv = ['llm-extract', *sys.argv[1:]]; main()"


def cli(args: list[str], tmp: Path) -> tuple[int, float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_EXTRACT_"))}
    env.update(OPENAI_API_KEY="sk-bench", PYTHONPATH=str(ROOT), XDG_CONFIG_HOME=str(tmp / "cfg"),
               XDG_CACHE_HOME=str(tmp / "xdg"))
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", CODE, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    return p.returncode, time.perf_counter() - t0, p.stderr


def totals(out: Path) -> dict:
    t = dict(docs=0, llm_calls=0, batch_calls=0, cached_calls=0, prompt_tokens=0, completion_tokens=0,
             cached_tokens=0, cost=0.0)
    for p in out.glob("*.json"):
        s = json.loads(p.read_text(encoding="utf-8"))["stats"]
        t["docs"] += 1
        for k in t:
            if k != "docs":
                t[k] += s.get(k, 0) or 0
    return t


def results(out: Path) -> dict:
    keep = ("goals", "achievements", "problems", "measures", "indicators", "meta")
    return {p.stem: {k: json.loads(p.read_text(encoding="utf-8"))[k] for k in keep} for p in out.glob("*.json")}


def run(name: str, files: list[Path], gold: list[dict], tmp: Path, poll: float) -> list[dict]:
    rows = []
    common = [*map(str, files), "--model", MODEL, "-q"]
    with MockBatchServer(oracle=gold) as srv:
        code, secs, err = cli(["extract", *common, "-o", str(tmp / "sync"), "--base-url", srv.base_url,
                               "--no-cache"], tmp)
        assert code == 0, err
        rows.append(dict(set=name, path="sync", http=len(srv.requests), chat=len(srv.chat_requests), lines=0,
                         batches=0, secs=secs, **totals(tmp / "sync")))
    with MockBatchServer(oracle=gold) as srv:
        batch = ["--batch", "--batch-poll", str(poll), "--cache", str(tmp / "c.sqlite"), "--base-url", srv.base_url]
        for path in ("batch", "rerun"):
            before, chat0, lines0, b0 = len(srv.requests), len(srv.chat_requests), srv.lines_answered, srv.batches_created
            code, secs, err = cli(["extract", *common, "-o", str(tmp / path), *batch], tmp)
            assert code == 0, err
            rows.append(dict(set=name, path=path, http=len(srv.requests) - before,
                             chat=len(srv.chat_requests) - chat0, lines=srv.lines_answered - lines0,
                             batches=srv.batches_created - b0, secs=secs, **totals(tmp / path)))
    same = results(tmp / "sync") == results(tmp / "batch") == results(tmp / "rerun")
    for r in rows:
        r["same"] = same
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--poll", type=float, default=0.05, help="--batch-poll for the batch runs (seconds)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for gs in gold_sets():
            gold, files = gold_with_text(gs)
            rows.extend(run(gs.name, files, gold, Path(d) / gs.name, args.poll))
    print("| set | path | docs | chat calls | batch lines | batches | HTTP requests | prompt tok | cached tok "
          "| completion tok | cost USD | vs sync | results = sync | wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    sync_cost = {}
    for r in rows:
        if r["path"] == "sync":
            sync_cost[r["set"]] = r["cost"]
        ratio = r["cost"] / sync_cost[r["set"]] if sync_cost.get(r["set"]) else 0.0
        print(f"| {r['set']} | {r['path']} | {r['docs']} | {r['chat']} | {r['lines']} | {r['batches']} | {r['http']} "
              f"| {r['prompt_tokens']} | {r['cached_tokens']} | {r['completion_tokens']} | {r['cost']:.6f} "
              f"| {ratio:.3f} | {'yes' if r['same'] else 'NO'} | {r['secs']:.1f} |")


if __name__ == "__main__":
    main()

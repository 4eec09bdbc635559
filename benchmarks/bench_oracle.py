"""Oracle and noisy-model accuracy of the LLM path on every gold set, against the local mock server.

  (a) oracle: a perfect model answering every chunk with the gold items inside it; macro span F1
      with default routing and with --route all, per gold set, and the prompt tokens routing
      sends as a share of --route all (o200k tiktoken counts of the exact messages);
  (b) noisy: the mock's noisy model (tests/noisy_model.py: drops, truncations, merges, splits,
      copy slips, ellipses, category flips, hallucinations, headings and omission lines in
      quotes, markers left off — each at --noise), default routing, with --passes 1 and 2, mean
      over --seeds.

Gold sets are discovered (fixtures/gold, fixtures/synthetic_gold, fixtures/generality/gold);
the held-out set is never read.

Run:  python benchmarks/bench_oracle.py [--only a|b] [--noise 0.07] [--seeds 0 1 2] [--per-doc]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from _oracle import GoldSet, gold_sets, gold_with_text, run_oracle  # noqa: E402
from llm_extract.llm.estimate import estimate_document  # noqa: E402
from llm_extract.loaders import load  # noqa: E402
from llm_extract.llm.settings import LLMSettings  # noqa: E402


def token_ratio(gs: GoldSet) -> tuple[int, int]:
    _, files = gold_with_text(gs)
    routed = every = 0
    for f in files:
        text = load(f).text
        routed += estimate_document(text, LLMSettings(route="relevant")).prompt_tokens
        every += estimate_document(text, LLMSettings(route="all")).prompt_tokens
    return routed, every


def oracle(sets: list[GoldSet], per_doc: bool) -> None:
    print("(a) oracle — macro span F1, default routing vs --route all; prompt tokens routed / all")
    with tempfile.TemporaryDirectory() as d:
        for gs in sets:
            routed, _ = run_oracle(gs, Path(d) / f"{gs.name}-r")
            every, _ = run_oracle(gs, Path(d) / f"{gs.name}-a", route="all")
            r_tok, a_tok = token_ratio(gs)
            print(f"    {gs.name:11s} routed {routed.macro_span_f1:.4f}  all {every.macro_span_f1:.4f}  "
                  f"diff {routed.macro_span_f1 - every.macro_span_f1:+.4f}   tokens {r_tok:,d} / {a_tok:,d} "
                  f"= {r_tok / a_tok:.1%}")
            if per_doc:
                by_doc = {x.doc_id: x for x in every.docs}
                for x in routed.docs:
                    a = by_doc[x.doc_id].macro_span_f1
                    flag = "  <" if x.macro_span_f1 < a - 1e-9 else ""
                    print(f"        {x.doc_id:26s} routed {x.macro_span_f1:.4f}  all {a:.4f}{flag}")


def noisy(sets: list[GoldSet], rate: float, seeds: list[int], per_doc: bool) -> None:
    print(f"(b) noisy model — each mistake at {rate:.0%}, default routing, mean over seeds {seeds}")
    with tempfile.TemporaryDirectory() as d:
        for passes in (1, 2):
            pooled = []
            for gs in sets:
                f1s = []
                for seed in seeds:
                    res, outcomes = run_oracle(gs, Path(d) / f"{gs.name}-{passes}-{seed}", noise=rate, seed=seed,
                                               passes=passes)
                    f1s.append(res.macro_span_f1)
                    if per_doc:
                        print("        " + "  ".join(f"{x.doc_id}={x.macro_span_f1:.3f}" for x in res.docs))
                pooled.extend(f1s)
                print(f"    passes {passes}  {gs.name:11s} F1 {statistics.mean(f1s):.4f}  "
                      f"(seeds: {' '.join(f'{f:.4f}' for f in f1s)})")
            print(f"    passes {passes}  mean over sets {statistics.mean(pooled):.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["a", "b"])
    ap.add_argument("--noise", type=float, default=0.07)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--per-doc", action="store_true")
    args = ap.parse_args()
    sets = gold_sets()
    if args.only != "b":
        oracle(sets, args.per_doc)
    if args.only != "a":
        noisy(sets, args.noise, args.seeds, args.per_doc)


if __name__ == "__main__":
    main()

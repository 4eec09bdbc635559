"""Throughput and peak memory of the rules backend over ≥1,000 documents (fixtures repeated).

    python benchmarks/bench_rules.py [--docs 1000] [--repeat 3]

Runs the real batch path (load → structure → rules → ground → merge → atomic JSON write) in one
process on one core and prints documents/second and peak RSS. Targets (issue 3): ≥200 docs/s on
text input, peak RSS < 200 MB. Not a test: numbers go into the issue note.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llm_extract.backends.rules import RulesBackend  # noqa: E402
from llm_extract.batch import discover, run_batch  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--src", type=Path, default=ROOT / "fixtures" / "reports")
    ap.add_argument("--repeat", type=int, default=3,
                    help="extract the batch this many times into fresh folders; report best and median "
                         "(the machines here are shared: the best run is the least disturbed one)")
    args = ap.parse_args()
    srcs = sorted(p for p in args.src.iterdir() if p.suffix in (".txt", ".md"))
    with tempfile.TemporaryDirectory() as tmp:
        inp = Path(tmp) / "in"
        inp.mkdir()
        for i in range(args.docs):
            s = srcs[i % len(srcs)]
            shutil.copy(s, inp / f"{s.stem}_{i:05d}{s.suffix}")
        files, _ = discover([inp])
        chars = sum(f.stat().st_size for f in files)
        walls, cpus = [], []
        for r in range(max(1, args.repeat)):
            out = Path(tmp) / f"out{r}"
            t0, c0 = time.perf_counter(), time.process_time()
            outcomes = run_batch(files, out, RulesBackend(), docs_in_flight=1)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        t1 = time.perf_counter()
        again = run_batch(files, out, RulesBackend(), docs_in_flight=1)
        dt_resume = time.perf_counter() - t1
    ok = sum(o.status == "ok" for o in outcomes)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = len(files)
    print(f"documents: {n} ({chars / 1e6:.1f} MB of text), extracted ok: {ok}")
    print(f"first run, {len(walls)} repeats: wall {' '.join(f'{n / w:.0f}' for w in walls)} documents/s")
    print(f"  best {n / min(walls):.0f} documents/s, median {n / statistics.median(walls):.0f} (wall); "
          f"best {n / min(cpus):.0f} documents/s per core (CPU time)")
    print(f"resume run (all already done): {dt_resume:.2f} s, skipped {sum(o.status == 'skipped' for o in again)}")
    print(f"peak RSS: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()

"""`llm-extract extract --concurrency N` through the command line, as a user runs it.

The CLI runs in its own process (startup, discovery, loading, routing, the batch, the JSON writes)
against the mock server at a fixed latency in this process, on >= 100 reports (the fixture reports
cycled). Per concurrency it reports:

* peak requests in flight at the server (target: N);
* wall time from the first request to the CLI's exit, vs. the ideal ceil(calls / N) x latency
  (target <= 1.2 x); and the whole wall time including process startup, for reference;
* average requests in flight over that span (calls x latency / span).

Run:  python benchmarks/bench_cli_concurrency.py [--reports 120] [--latency 0.3] [--concurrency 16 32] [--repeat 5]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from mock_openai_server import MockOpenAIServer  # noqa: E402

REPORTS = ROOT / "fixtures" / "reports"


def make_inputs(folder: Path, n: int) -> None:
    sources = sorted(p for p in REPORTS.iterdir() if p.is_file())
    folder.mkdir(parents=True)
    for i in range(n):
        src = sources[i % len(sources)]
        shutil.copy(src, folder / f"r{i:04d}{src.suffix}")


def _child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_cli(inputs: Path, out: Path, url: str, concurrency: int) -> tuple[float, float, int]:
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": url,
           "XDG_CONFIG_HOME": str(out.parent / "config")}
    cmd = [sys.executable, "-c", "from llm_extract.cli import main; main()", "extract", str(inputs), "-o", str(out),
           "--backend", "openai", "--no-cache", "--concurrency", str(concurrency), "-q"]
    t0, cpu0 = time.monotonic(), _child_cpu()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    t1 = time.monotonic()
    run_cli.cpu = _child_cpu() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"extract failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return t0, t1, len(list(out.glob("*.json")))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=120)
    ap.add_argument("--latency", type=float, default=0.3)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[16, 32])
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        inputs = Path(d) / "in"
        make_inputs(inputs, args.reports)
        print(f"{args.reports} reports, {args.latency * 1000:.0f} ms mock latency, through the CLI (its own process)")
        for conc in args.concurrency:
            ratios = []
            for rep in range(args.repeat):
                with MockOpenAIServer(latency=args.latency) as srv:
                    out = Path(d) / f"out-{conc}-{rep}"
                    t0, t1, written = run_cli(inputs, out, srv.base_url, conc)
                    times = [r["time"] for r in srv.chat_requests]
                    calls, peak = len(times), srv.max_in_flight
                ideal = math.ceil(calls / conc) * args.latency
                span = t1 - min(times)
                print(f"  --concurrency {conc:3d}: {written} written, {calls} calls; peak in flight {peak:3d}; "
                      f"first request -> exit {span:6.2f} s vs ideal {ideal:6.2f} s = {span / ideal:4.2f} x; "
                      f"average in flight {calls * args.latency / span:5.1f}; "
                      f"whole run {t1 - t0:6.2f} s (startup to first request {min(times) - t0:4.2f} s); "
                      f"CLI CPU {run_cli.cpu:5.2f} s")
                ratios.append(span / ideal)
            if len(ratios) > 1:
                print(f"  --concurrency {conc:3d}: median {statistics.median(ratios):4.2f} x ideal, "
                      f"best {min(ratios):4.2f} x, over {len(ratios)} runs")


if __name__ == "__main__":
    main()

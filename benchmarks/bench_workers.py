"""Rules throughput with `extract --workers N`, measured through the CLI as a user runs it.

    python benchmarks/bench_workers.py [--docs 1000] [--workers 1 2] [--repeat 5]

Copies the fixture reports (repeated) into a folder, then runs
`llm-extract extract IN -o OUT --backend rules --workers N -q` as a separate process, into a fresh
output folder each time, for each N in turn (interleaved, so machine noise spreads over all of
them). Wall time is the whole command: interpreter start, imports, helper start-up, every document
written. Peak RSS is the sum over the command's process tree (the CLI and its helpers), sampled
every 50 ms; CPU is what the kernel reports for the CLI and the helpers it waited for. The machines here are shared: the best run is the
least disturbed one, the median says how typical it is. Not a test: numbers go into README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The `llm-extract` console script as pip writes it (run as a file, so helpers see a main script
#: the way a user's install does), importing the package from this checkout.
ENTRY = """import re
import sys
from llm_extract.cli import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(d))
    return kids


def _tree_rss_mb(root: int) -> float:
    """RSS (MB) of `root` and its descendants now."""
    kids, todo, total = _children(), [root], 0
    while todo:
        pid = todo.pop()
        todo.extend(kids.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total / 1024


def run(cli: list[str], inp: Path, out: Path, workers: int) -> tuple[float, float, float]:
    """Wall seconds, peak tree RSS (MB) and CPU seconds of one CLI run (the CLI's own and that of the
    helpers it waited for, as the kernel reports them)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LLM_EXTRACT_API_KEY", "LLM_EXTRACT_BASE_URL"):
        env.pop(k, None)
    t0 = time.perf_counter()
    proc = subprocess.Popen([*cli, "extract", str(inp), "-o", str(out), "--backend", "rules", "--workers",
                             str(workers), "-q"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    peak = [0.0]
    ended = threading.Event()

    def sample() -> None:
        while not ended.wait(0.05):
            peak[0] = max(peak[0], _tree_rss_mb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    if sys.platform.startswith("linux"):
        sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    ended.set()
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        raise SystemExit(f"extract --workers {workers} exited {rc}")
    proc.returncode = rc
    sampler.join(1) if sampler.is_alive() else None
    return wall, peak[0], usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--src", type=Path, default=ROOT / "fixtures" / "reports")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    srcs = sorted(p for p in args.src.iterdir() if p.suffix in (".txt", ".md"))
    walls: dict[int, list[float]] = {w: [] for w in args.workers}
    peaks: dict[int, list[float]] = {w: [] for w in args.workers}
    cpus: dict[int, list[float]] = {w: [] for w in args.workers}
    load0 = os.getloadavg()[0]  # anything above 0 is other work competing for the same cores
    with tempfile.TemporaryDirectory() as tmp:
        inp = Path(tmp) / "in"
        inp.mkdir()
        entry = Path(tmp) / "llm-extract"
        entry.write_text(ENTRY, encoding="utf-8")
        cli = [sys.executable, str(entry)]
        for i in range(args.docs):
            s = srcs[i % len(srcs)]
            shutil.copy(s, inp / f"{s.stem}_{i:05d}{s.suffix}")
        for r in range(args.repeat):
            for w in args.workers:
                out = Path(tmp) / f"out_{w}_{r}"
                wall, peak, cpu = run(cli, inp, out, w)
                walls[w].append(wall)
                peaks[w].append(peak)
                cpus[w].append(cpu)
                shutil.rmtree(out)
                print(f"  run {r + 1}, --workers {w}: {args.docs / wall:.0f} documents/s ({wall:.2f} s), "
                      f"CPU {cpu:.2f} s, peak RSS {peak:.0f} MB", flush=True)
    n = args.docs
    print(f"{n} documents through the CLI, {args.repeat} runs each (CPUs available: {len(os.sched_getaffinity(0))}; "
          f"load average at the start {load0:.1f}, at the end {os.getloadavg()[0]:.1f})")
    for w in args.workers:
        print(f"--workers {w}: best {n / min(walls[w]):.0f} documents/s, median {n / statistics.median(walls[w]):.0f}; "
              f"CPU (whole tree) median {statistics.median(cpus[w]):.2f} s; "
              f"peak RSS (whole tree) max {max(peaks[w]):.0f} MB")
    base = args.workers[0]
    for w in args.workers[1:]:
        print(f"speed-up --workers {w} over --workers {base}: best {min(walls[base]) / min(walls[w]):.2f}x, "
              f"median {statistics.median(walls[base]) / statistics.median(walls[w]):.2f}x; CPU spent "
              f"{statistics.median(cpus[w]) / statistics.median(cpus[base]):.2f}x that of --workers {base} (medians)")


if __name__ == "__main__":
    main()

"""Cost as the invoice counts it, measured through the command line as a user runs it.

Against the mock server (the oracle answers every chunk with its gold items; usage is counted with
tiktoken and an OpenAI-style automatic prefix cache reports `cached_tokens`), on every gold set:

* a first run and a second run of `llm-extract extract --no-cache` (so both send every request):
  the share of prompt tokens the provider's prefix cache served on each, and the cost at
  gpt-4o-mini prices with and without the cached-input discount;
* `llm-extract estimate` on the same reports: its completion tokens and cost against what the runs
  actually returned and cost (the estimate assumes a document's first call is cold).

Run:  python benchmarks/bench_cost.py
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from _oracle import gold_sets, gold_with_text  # noqa: E402
from mock_openai_server import MockOpenAIServer  # noqa: E402

from llm_extract.llm import pricing  # noqa: E402

CLI = [sys.executable, "-c", "from llm_extract.cli import main; main()"]


def cli(args: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run([*CLI, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"llm-extract {' '.join(args)} failed: {proc.stderr[-2000:]}")
    return proc.stdout


def totals(out: Path) -> dict[str, float]:
    t = {"prompt": 0, "cached": 0, "completion": 0, "cost": 0.0}
    for p in out.glob("*.json"):
        s = json.loads(p.read_text(encoding="utf-8"))["stats"]
        t["prompt"] += s["prompt_tokens"]
        t["cached"] += s.get("cached_tokens", 0)
        t["completion"] += s["completion_tokens"]
        t["cost"] += s["cost"]
    return t


def main() -> None:
    price = pricing.lookup("gpt-4o-mini")
    print("| set | run | prompt tokens | cached share | completion tokens | cost (cached-aware) | cost if cache ignored |")
    print("|---|---|---|---|---|---|---|")
    est_rows = []
    for gs in gold_sets():
        gold, files = gold_with_text(gs)
        with tempfile.TemporaryDirectory() as tmp, MockOpenAIServer(oracle=gold) as srv:
            tmp = Path(tmp)
            inputs = tmp / "in"
            inputs.mkdir()
            for f in files:
                (inputs / f.name).write_bytes(f.read_bytes())
            env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": srv.base_url,
                   "LLM_EXTRACT_MODEL": "gpt-4o-mini", "XDG_CONFIG_HOME": str(tmp / "config")}
            runs = []
            for n in (1, 2):
                out = tmp / f"out{n}"
                cli(["extract", str(inputs), "-o", str(out), "--backend", "openai", "--no-cache", "-q"], env)
                t = totals(out)
                runs.append(t)
                full = price.cost(int(t["prompt"]), int(t["completion"]))
                print(f"| {gs.name} | {'first' if n == 1 else 'second (warm provider cache)'} | {int(t['prompt']):,} | "
                      f"{t['cached'] / t['prompt']:.1%} | {int(t['completion']):,} | ${t['cost']:.4f} | ${full:.4f} |")
            text = cli(["estimate", str(inputs)], env)
            nums = re.search(r"total\s*│\s*\d+\s*│\s*\d+\s*│\s*([\d,]+)\s*│\s*([\d,]+)\s*│\s*([\d,]+)\s*│\s*([\d.]+)", text)
            if nums is None:  # one report: no total row; take the only row
                nums = re.search(r"│\s*\d+\s*│\s*\d+\s*│\s*([\d,]+) \(\S+\)\s*│\s*([\d,]+)\s*│\s*([\d,]+)\s*│\s*([\d.]+)", text)
            est_prompt, est_completion, est_cost = (int(nums.group(2).replace(",", "")),
                                                   int(nums.group(3).replace(",", "")), float(nums.group(4)))
            first = runs[0]
            est_rows.append((gs.name, est_prompt / first["prompt"] - 1, est_completion / first["completion"] - 1,
                             est_cost / first["cost"] - 1))
    print()
    print("| set | estimate vs first run: prompt tokens | completion tokens | cost |")
    print("|---|---|---|---|")
    for name, p, c, k in est_rows:
        print(f"| {name} | {p:+.1%} | {c:+.1%} | {k:+.1%} |")


if __name__ == "__main__":
    main()

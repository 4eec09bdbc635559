"""Quote vs cite answer format, through the command line as a user runs it, on every gold set.

For each gold set (fixtures/gold, fixtures/synthetic_gold, fixtures/generality/gold — never the
held-out set) and each `--answer-format`, `llm-extract extract` runs in its own process against the
mock server's oracle in this process (quote format: it copies the gold quotes found in the excerpt;
cite format: it answers the segment ranges covering them), then the output is scored. Reported:

* fidelity: macro span F1 of cite ÷ quote, per set and pooled over all reports (floor 0.99);
* completion tokens the server actually returned, counted with tiktoken (the model's encoding)
  over every answer's content, and the mock's own `usage` figure summed from the outputs' stats;
* prompt tokens sent (tiktoken over every request's messages), since numbering segments adds some;
* cost at the model's list price (prompt + completion, tiktoken counts).

Run:  python benchmarks/bench_cite.py [--model gpt-4o-mini] [--method json_schema]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from _oracle import gold_sets, gold_with_text  # noqa: E402
from mock_openai_server import MockOpenAIServer  # noqa: E402

from llm_extract.commands.eval import EvalConfig, run_eval  # noqa: E402
from llm_extract.evaluation import EvalResult  # noqa: E402
from llm_extract.llm.pricing import price_for  # noqa: E402
from llm_extract.llm.settings import LLMSettings  # noqa: E402
from llm_extract.llm.tokens import count_tokens, ensure_offline_tiktoken  # noqa: E402

FORMATS = ("quote", "cite")


class RecordingServer(MockOpenAIServer):
    """The mock server, keeping every answer it gave (to count what was really returned)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.answers: list[str] = []
        self._alock = threading.Lock()

    def default_content(self, body: dict) -> str:
        content = super().default_content(body)
        with self._alock:
            self.answers.append(content)
        return content


def prompt_tokens(body: dict, model: str) -> int:
    """Tokens of one request as billed: its messages, plus the schema it carries as a response
    format or tool (4 tokens of chat framing per message, 3 per request)."""
    n = 3
    for m in body.get("messages", []):
        c = m.get("content")
        n += 4 + (count_tokens(c, model) if isinstance(c, str) else 0)
    for extra in ("response_format", "tools"):
        if isinstance(body.get(extra), (dict, list)):
            n += count_tokens(json.dumps(body[extra], ensure_ascii=False), model)
    return n


def run_cli(files: list[Path], out: Path, url: str, fmt: str, model: str, method: str | None) -> None:
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": url,
           "XDG_CONFIG_HOME": str(out.parent / "config"), "XDG_CACHE_HOME": str(out.parent / "cache")}
    cmd = [sys.executable, "-c", "from llm_extract.cli import main; main()", "extract", *map(str, files),
           "-o", str(out), "--backend", "openai", "--model", model, "--no-cache", "--answer-format", fmt, "-q"]
    if method:
        cmd += ["--method", method]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"extract --answer-format {fmt} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")


def measure(model: str, method: str | None) -> dict:
    ensure_offline_tiktoken()
    price = price_for(LLMSettings(model=model))
    rows: dict = {"sets": {}, "all": {}}
    pooled: dict[str, list] = {f: [] for f in FORMATS}
    totals = {f: {"completion": 0, "usage_completion": 0, "prompt": 0, "calls": 0} for f in FORMATS}
    with tempfile.TemporaryDirectory() as tmp:
        for gs in gold_sets():
            gold, files = gold_with_text(gs)
            row = {"reports": len(files)}
            for fmt in FORMATS:
                out = Path(tmp) / gs.name / fmt
                with RecordingServer(oracle=gold) as srv:
                    run_cli(files, out, srv.base_url, fmt, model, method)
                    bodies = [r["body"] for r in srv.chat_requests]
                    answers = list(srv.answers)
                res = run_eval(EvalConfig(gold=gs.gold, reports=gs.reports, pred=out))
                pooled[fmt].extend(res.docs)
                usage = sum(json.loads(p.read_text(encoding="utf-8"))["stats"]["completion_tokens"]
                            for p in out.glob("*.json"))
                r = {"f1": res.macro_span_f1, "calls": len(bodies),
                     "completion": sum(count_tokens(a, model) for a in answers),
                     "usage_completion": usage,
                     "prompt": sum(prompt_tokens(b, model) for b in bodies)}
                row[fmt] = r
                for k in totals[fmt]:
                    totals[fmt][k] += r[k]
            row["fidelity"] = row["cite"]["f1"] / row["quote"]["f1"]
            rows["sets"][gs.name] = row
    for fmt in FORMATS:
        t = totals[fmt]
        t["f1"] = EvalResult(docs=pooled[fmt]).macro_span_f1
        if price is not None:
            t["cost"] = price.cost(t["prompt"], t["completion"])
        rows["all"][fmt] = t
    rows["all"]["fidelity"] = rows["all"]["cite"]["f1"] / rows["all"]["quote"]["f1"]
    return rows


def report(rows: dict, model: str) -> None:
    print(f"model {model} (tiktoken counts); fidelity = macro span F1 cite / quote")
    print(f"{'set':<12}{'docs':>5}{'F1 quote':>10}{'F1 cite':>9}{'fidelity':>10}"
          f"{'compl quote':>13}{'compl cite':>12}{'ratio':>7}{'prompt quote':>14}{'prompt cite':>13}{'ratio':>7}")

    def line(name, docs, q, c, fid):
        print(f"{name:<12}{docs:>5}{q['f1']:>10.4f}{c['f1']:>9.4f}{fid:>10.4f}"
              f"{q['completion']:>13,}{c['completion']:>12,}{c['completion'] / q['completion']:>7.1%}"
              f"{q['prompt']:>14,}{c['prompt']:>13,}{c['prompt'] / q['prompt']:>7.1%}")

    for name, r in rows["sets"].items():
        line(name, r["reports"], r["quote"], r["cite"], r["fidelity"])
    a = rows["all"]
    line("all", sum(r["reports"] for r in rows["sets"].values()), a["quote"], a["cite"], a["fidelity"])
    print(f"mock usage (its own count) completion: quote {a['quote']['usage_completion']:,}, "
          f"cite {a['cite']['usage_completion']:,}; calls: quote {a['quote']['calls']}, cite {a['cite']['calls']}")
    if "cost" in a["quote"]:
        print(f"cost at list price: quote ${a['quote']['cost']:.4f}, cite ${a['cite']['cost']:.4f} "
              f"({a['cite']['cost'] / a['quote']['cost']:.1%})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="gpt-4o-mini", help="model whose tokenizer and price are used")
    ap.add_argument("--method", choices=["json_schema", "function_calling", "json_mode"],
                    help="structured-output method (default: the CLI's choice for a local server)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    rows = measure(args.model, args.method)
    report(rows, args.model)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()

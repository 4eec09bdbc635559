"""Digest at scale: 1,000 result files generated from the fixture reports, digested to every format.

Run:  python benchmarks/bench_digest.py [--n 1000] [--keep DIR]

Each format is digested in a fresh subprocess so its wall time and peak RSS are its own. The result
files are load generation only: items are cut from the fixture texts by section keywords (real
offsets, real wording, varied per file), not by the extraction backends.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llm_extract.document import sha256_text  # noqa: E402
from llm_extract.models import Indicator, Item, Meta, Report, build_report_items  # noqa: E402

FIXTURES = ROOT / "fixtures" / "reports"
FORMATS = (".json", ".md", ".html", ".xlsx", ".csv")

_MODES = (("problem", re.compile(r"问题|不足|扣分|偏差")), ("measure", re.compile(r"措施|下一步|建议|整改|计划")),
          ("goal", re.compile(r"目标")), ("achievement", re.compile(r"成效|绩效情况|完成情况|履职")))
_SENT = re.compile(r"[^。！？\n]+[。！？]?")


def _items_from_text(text: str) -> list[Item]:
    """Paragraphs under problem/measure/goal/achievement-like headings become items of that kind;
    sentences naming 问题/不足 elsewhere become problems."""
    items: list[Item] = []
    mode = None
    heading = ""
    pos = 0
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        s = line.strip()
        if not s:
            continue
        if len(s) <= 30 and "。" not in s:
            heading = s
            mode = next((m for m, rx in _MODES if rx.search(s)), None)
            continue
        lead = len(line) - len(line.lstrip())
        if mode:
            q = line[lead:].rstrip()
            items.append(Item(category=mode, text=q, quote=q, start=start + lead, end=start + lead + len(q), section=heading))
        else:
            for m in _SENT.finditer(line):
                q = m.group().strip()
                if len(q) > 12 and re.search(r"问题|不足|滞后|短缺|薄弱", q):
                    off = start + m.start() + (len(m.group()) - len(m.group().lstrip()))
                    items.append(Item(category="problem", text=q, quote=q, start=off, end=off + len(q), section=heading))
    return items


def synthetic_report(text: str, source: str, doc_id: str, rng: random.Random) -> Report:
    items = [it for it in _items_from_text(text) if rng.random() < 0.85]  # vary content per file
    for it in items:
        assert text[it.start:it.end] == it.quote
    budget = round(rng.uniform(500, 50000), 2)
    inds = []
    for k in range(rng.randint(4, 12)):
        target = rng.choice(["≥95%", "100%", "≥10 万人次", "≤5%", "全覆盖", "≥90%"])
        actual = rng.choice(["96%", "100%", "11.88 万人次", "4.2%", "已完成", "85%", "9.5 万人次"])
        inds.append(Indicator(level1="产出指标", level2="数量指标", name=f"指标{k}", target=target, actual=actual,
                              weight="5", score=rng.choice(["5", "5", "4"])))
    return Report(
        # each generated file stands for a different report: its own sha256, or the digest would
        # count the copies of one fixture once (identical reports are deduplicated by sha256)
        doc_id=doc_id, source=source, sha256=sha256_text(f"{doc_id}\n{text}"), backend="bench",
        meta=Meta(unit_name=f"{rng.choice('东西南北中')}{rng.randint(1, 300)}县卫生健康局", year=rng.choice([2022, 2023, 2024]),
                  self_score=round(rng.uniform(80, 100), 2), grade="优",
                  budget={"全年预算数": budget, "全年执行数": round(budget * rng.uniform(0.3, 1.0), 2)}),
        indicators=inds, **build_report_items(items),
    )


def generate(folder: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    texts = [(p, p.read_text(encoding="utf-8")) for p in sorted(FIXTURES.glob("*")) if p.suffix in (".txt", ".md")]
    for i in range(n):
        path, text = texts[i % len(texts)]
        rep = synthetic_report(text, str(path), f"{path.stem}_{i:04d}", rng)
        (folder / f"{rep.doc_id}.json").write_text(rep.to_json(), encoding="utf-8")


def run_one(folder: Path, out: Path) -> None:
    """Child process: one digest, then print seconds and peak RSS as JSON."""
    from llm_extract.digest import digest
    from llm_extract.render import write_digest

    t = time.perf_counter()
    d = digest(folder)
    write_digest(d, out)
    secs = time.perf_counter() - t
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": round(secs, 2), "peak_rss_mb": round(rss_mb, 1), "reports": len(d.reports),
                      "problems": len(d.problems), "measures": len(d.measures), "themes": len(d.themes),
                      "bytes": sum(p.stat().st_size for p in out.parent.glob(out.stem + "*" + out.suffix))}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    ap.add_argument("--child", nargs=2, metavar=("FOLDER", "OUT"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        run_one(Path(a.child[0]), Path(a.child[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = a.keep or Path(tmp) / "results"
        folder.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        generate(folder, a.n)
        size = sum(p.stat().st_size for p in folder.glob("*.json"))
        print(f"generated {a.n} result files ({size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f}s")
        print("| format | seconds | peak RSS MB | output MB | reports | problems | measures |")
        print("|---|---|---|---|---|---|---|")
        for fmt in FORMATS:
            out = Path(tmp) / "out" / f"digest{fmt}"
            out.parent.mkdir(exist_ok=True)
            res = subprocess.run([sys.executable, __file__, "--child", str(folder), str(out)],
                                 capture_output=True, text=True, check=True)
            r = json.loads(res.stdout.strip().splitlines()[-1])
            print(f"| {fmt} | {r['seconds']} | {r['peak_rss_mb']} | {r['bytes'] / 1e6:.1f} | {r['reports']} | "
                  f"{r['problems']} | {r['measures']} |")


if __name__ == "__main__":
    main()

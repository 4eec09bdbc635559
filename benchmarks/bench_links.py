"""Problem→measure links and unaddressed problems on the labelled corpora, two ways.

- linker only: the gold items themselves (exact offsets; section paths from the structure
  reader), so every miss is the linker's;
- end to end: the rules backend's items, as `llm-extract eval` scores them.

Run from the repository root: python benchmarks/bench_links.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llm_extract.backends import get_backend  # noqa: E402
from llm_extract.evaluation import Counts, prediction_spans, score_links  # noqa: E402
from llm_extract.gold import gold_links, load_gold_dir, locate_gold, report_index  # noqa: E402
from llm_extract.links import report_links  # noqa: E402
from llm_extract.loaders import load  # noqa: E402
from llm_extract.models import Item, Report, build_report_items  # noqa: E402
from llm_extract.pipeline import extract_path  # noqa: E402
from llm_extract.structure import analyze  # noqa: E402
from llm_extract.themes import load_taxonomy  # noqa: E402

CORPORA = [("fixtures", "fixtures/gold", "fixtures/reports"),
           ("synthetic", "fixtures/synthetic_gold", "fixtures/synthetic"),
           ("generality", "fixtures/generality/gold", "fixtures/generality/reports"),
           ("multiyear", "fixtures/multiyear/gold", "fixtures/multiyear/reports")]


def gold_report(doc, text: str) -> Report:
    """The gold items as a report, each with the section path the structure reader gives its start."""
    st = analyze(text)
    items = []
    for gi, span in zip(doc.items, locate_gold(doc, text)):
        inside = [s for s in st.sections if s.start <= span.start < max(s.end, s.start + 1)]
        section = max(inside, key=lambda s: (s.level, s.start)).path_str if inside else ""
        items.append(Item(category=gi.category, text=gi.quote, quote=gi.quote, start=span.start, end=span.end,
                          section=section))
    return Report(doc_id=doc.doc_id, source="", sha256="", backend="gold", **build_report_items(items))


def main() -> None:
    tax, rules = load_taxonomy(), get_backend("rules")
    print("| corpus | items | link P | link R | gold links | unaddressed (pred / gold) |")
    print("|---|---|---|---|---|---|")
    for name, gdir, rdir in CORPORA:
        index = report_index(ROOT / rdir)
        for mode in ("linker only (gold items)", "end to end (rules items)"):
            total, un_pred, un_gold = Counts(), 0, 0
            for doc in load_gold_dir(ROOT / gdir):
                if "links" not in doc.model_fields_set:
                    continue
                text = load(index[doc.doc_id]).text
                rep = gold_report(doc, text) if mode.startswith("linker") else extract_path(index[doc.doc_id], rules)
                spans = locate_gold(doc, text)
                truth = gold_links(doc)
                ps = prediction_spans(rep, text)
                links = [(l.problem, l.measure) for l in report_links(rep, tax)]
                total = total + score_links(text, spans, truth, [s for s in ps if s.category == "problem"],
                                            [s for s in ps if s.category == "measure"], links)
                un_pred += sum(1 for i in range(len(rep.problems)) if not any(p == i for p, _ in links))
                un_gold += sum(1 for i, it in enumerate(doc.items)
                               if it.category == "problem" and not any(p == i for p, _ in truth))
            print(f"| {name} | {mode} | {total.precision:.3f} | {total.recall:.3f} | {total.gold} | {un_pred} / {un_gold} |")


if __name__ == "__main__":
    main()

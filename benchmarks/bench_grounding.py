"""Grounding accuracy and speed on every fixture gold quote, in the forms models return them.

Forms: verbatim; whitespace dropped (PDF line breaks, table-cell tabs); half-width punctuation;
both; and one character changed (a slip that only the fuzzy step can place).
Modes:
  independent — each quote alone against the whole report (no chunk, no order): the setting of
                langextract's reference numbers (92 % / 69 % / 1 % exact).
  chunked     — each quote in the chunk the pipeline would send it in, items in reading order, as
                the openai backend grounds a model's answer.
A quote counts as exact when its grounded [start, end) equals the gold span.

Run:  python benchmarks/bench_grounding.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from llm_extract.llm.chunking import chunk_document  # noqa: E402
from llm_extract.gold import load_gold_dir, locate_gold, report_index  # noqa: E402
from llm_extract.grounding import Grounder  # noqa: E402
from llm_extract.loaders import load  # noqa: E402
from llm_extract.structure import analyze  # noqa: E402
from mock_openai_server import perturb  # noqa: E402

FORMS = [None, "nobreaks", "halfwidth", "both", "typo"]


def make(quote: str, form):
    if form != "typo":
        return perturb(quote, form)
    # change one CJK character near the middle (quotes of 10+ content characters only)
    idx = [i for i, c in enumerate(quote) if "\u4e00" <= c <= "\u9fff"]
    if len(idx) < 10:
        return quote
    i = idx[len(idx) // 2]
    return quote[:i] + ("的" if quote[i] != "的" else "是") + quote[i + 1:]


def main() -> None:
    index = report_index(ROOT / "fixtures" / "reports")
    docs = []
    for g in load_gold_dir(ROOT / "fixtures" / "gold"):
        if g.doc_id in index:
            text = load(index[g.doc_id]).text
            docs.append((g.doc_id, text, locate_gold(g, text)))
    n = sum(len(s) for _, _, s in docs)
    print(f"{n} gold quotes in {len(docs)} reports ({', '.join(d for d, _, _ in docs)})")
    print(f"{'form':10s} {'independent':>12s} {'chunked':>9s}   {'ms/item (mean / max, view build included)':s}")
    for form in FORMS:
        ind_ok = ch_ok = total = 0
        times: list[float] = []
        for _, text, spans in docs:
            # independent: a fresh grounder per document, quotes one by one
            g = Grounder(text)
            for s in spans:
                t = time.perf_counter()
                al = g.align(make(s.quote, form))
                times.append((time.perf_counter() - t) * 1000)
                ind_ok += al is not None and (al.start, al.end) == (s.start, s.end)
            # chunked: group gold items by the routed chunk holding them, ground each answer in order
            chunks = chunk_document(text, analyze(text), route="all")
            answers: dict[int, list] = {}
            for s in spans:
                c = next((c for c in chunks if c.start <= s.start and s.end <= c.end), None)
                w = (c.start, c.end) if c else (0, len(text))
                answers.setdefault(w, []).append(s)
            gr = Grounder(text)
            for (ws, we), group in answers.items():
                prev = None  # the reading-order cursor ground_items keeps per answer
                for s in group:
                    al = gr.align(make(s.quote, form), window=(ws, we), after=prev)
                    if al is not None:
                        prev = (al.start, al.end)
                    ch_ok += al is not None and (al.start, al.end) == (s.start, s.end)
            total += len(spans)
        print(f"{str(form):10s} {ind_ok / total:11.1%} {ch_ok / total:8.1%}   "
              f"{statistics.mean(times):.3f} / {max(times):.2f}")


if __name__ == "__main__":
    main()

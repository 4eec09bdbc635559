"""The digest as flat tables for CSV and Excel.

`items` is the long format a pivot table, pandas or DuckDB wants: one row per item of every
category, with its theme, citation and the ids of the items it is linked to; `links` has one row
per problem→measure link. The other tables (reports, problems, measures, indicators, themes) are
the digest's own views. Cells hold numbers as numbers (figures stated as text, such as an
indicator's weight "10", are converted when they are a plain number).
"""

from __future__ import annotations

import re
from typing import Any, Optional

from ..digest import Digest

Table = tuple[list[str], list[list[Any]]]

_PLAIN_NUMBER = re.compile(r"\s*[-+]?\d+(?:\.\d+)?\s*")

#: The long format's columns (README shows a pivot and a DuckDB query over them).
ITEM_COLUMNS = ["item_id", "doc_id", "unit", "year", "category", "theme", "theme_name", "section", "quote",
                "start", "end", "linked_ids", "link_reasons", "links"]


def as_number(v: Any) -> Any:
    """A cell that is a plain number written as text ("10", "8.5") as a number; anything else as is."""
    if isinstance(v, str) and _PLAIN_NUMBER.fullmatch(v):
        f = float(v)
        return int(f) if f.is_integer() and "." not in v else f
    return v


def _links(d: Digest) -> tuple[dict[str, list[tuple[str, str]]], list[list[Any]]]:
    """item id → [(linked id, reason)], and one row per link."""
    by_item: dict[str, list[tuple[str, str]]] = {}
    rows = []
    for p in d.problems:
        for l in p.measures:
            by_item.setdefault(p.id, []).append((l.measure_id, l.reason))
            by_item.setdefault(l.measure_id, []).append((p.id, l.reason))
            rows.append([p.doc_id, p.id, l.measure_id, l.reason, l.score, p.theme, p.text, d.entry(l.measure_id).text])
    return by_item, rows


def items_table(d: Digest) -> Table:
    """One row per item (goals and achievements too), in report order then category order."""
    by_item, _ = _links(d)
    order = {c: i for i, c in enumerate(("goal", "achievement", "problem", "measure"))}
    entries = sorted((*d.other_items, *d.problems, *d.measures),
                     key=lambda e: (e.doc_id, order[e.category], e.start if e.start is not None else -1))
    rows = []
    for e in entries:
        linked = by_item.get(e.id, [])
        rows.append([e.id, e.doc_id, e.unit, e.year, e.category, e.theme, d.theme_name(e.theme), e.section, e.quote,
                     e.start, e.end, "; ".join(i for i, _ in linked), "; ".join(r for _, r in linked), len(linked)])
    return ITEM_COLUMNS, rows


def tables(d: Digest) -> dict[str, Table]:
    """Sheet name → (header, rows), in the order a reader wants them."""
    name = d.theme_name
    out: dict[str, Table] = {}
    _, link_rows = _links(d)
    out["reports"] = (
        ["doc_id", "unit", "year", "self_score", "grade", "budget", "spent", "execution_rate_%",
         "goals", "achievements", "problems", "measures", "indicators", "missed_indicators",
         "unaddressed_problems", "flag", "source"],
        [[r.doc_id, r.unit, r.year, r.self_score, r.grade, r.budget, r.spent, r.execution_rate,
          r.counts.get("goal", 0), r.counts.get("achievement", 0), r.counts.get("problem", 0),
          r.counts.get("measure", 0), r.indicators, r.missed_indicators, r.unaddressed_problems,
          "no items" if r.no_items else "", r.source]
         for r in d.reports],
    )
    out["items"] = items_table(d)
    if d.shows("problem") and d.shows("measure"):
        out["links"] = (["doc_id", "problem_id", "measure_id", "reason", "score", "problem_theme", "problem", "measure"],
                        link_rows)
    if d.shows("problem"):
        out["problems"] = (
            ["id", "doc_id", "unit", "year", "theme", "theme_name", "section", "problem", "quote", "start", "end",
             "cluster", "addressed", "measures", "measure_ids", "link_reasons"],
            [[p.id, p.doc_id, p.unit, p.year, p.theme, name(p.theme), p.section, p.text, p.quote, p.start, p.end,
              p.cluster, "yes" if p.measures else "no", len(p.measures), "; ".join(l.measure_id for l in p.measures),
              "; ".join(l.reason for l in p.measures)]
             for p in d.problems],
        )
    if d.shows("measure"):
        out["measures"] = (
            ["id", "doc_id", "unit", "year", "theme", "theme_name", "section", "measure", "quote", "start", "end",
             "problems", "problem_ids"],
            [[m.id, m.doc_id, m.unit, m.year, m.theme, name(m.theme), m.section, m.text, m.quote, m.start, m.end,
              len(m.problems), "; ".join(m.problems)]
             for m in d.measures],
        )
    out["indicators"] = (
        ["doc_id", "unit", "year", "level1", "level2", "name", "target", "actual", "weight", "score", "note",
         "missed", "missed_reason"],
        [[i.doc_id, i.unit, i.year, i.level1, i.level2, i.name, i.target, i.actual, as_number(i.weight),
          as_number(i.score), i.note, "yes" if i.missed else "no", i.missed_reason]
         for i in d.indicators],
    )
    if d.history:
        rows = []
        for h in d.history:
            for st in h.steps:
                for r in st.recurring:
                    rows.append([h.unit, st.earlier_year, st.year, "recurring problem", r.problem_id, d.entry(r.problem_id).text,
                                 r.earlier_id, d.entry(r.earlier_id).text, "", r.score])
                for f in st.follow_ups:
                    rows.append([h.unit, st.earlier_year, st.year, "earlier measure", f.measure_id, d.entry(f.measure_id).text,
                                 f.evidence_id or "", d.entry(f.evidence_id).text if f.evidence_id else "",
                                 "yes" if f.evidenced else "no", f.score])
        out["year_over_year"] = (["unit", "earlier_year", "year", "kind", "item_id", "item", "matched_id", "matched",
                                  "evidenced", "score"], rows)
    if d.shows("problem"):
        summaries = any(g.summary for g in d.themes)  # only --llm writes them: no empty columns otherwise
        out["themes"] = (
            ["theme", "name", "name_en", "reports", "problems", "clusters", "top_problem", "top_problem_reports"]
            + (["summary", "summary_cites"] if summaries else []),
            [[g.id, g.name, g.name_en, g.reports, g.problems, len(g.clusters), _top(d, g.clusters[0].id if g.clusters else None),
              g.clusters[0].reports if g.clusters else 0]
             + ([g.summary or "", "; ".join(g.summary_cites)] if summaries else [])
             for g in d.themes],
        )
    return out


def _top(d: Digest, entry_id: Optional[str]) -> str:
    """The most widespread problem of a theme, in its report's words."""
    return d.entry(entry_id).text if entry_id else ""

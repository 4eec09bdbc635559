"""The digest as flat tables (reports, problems, measures, indicators, themes) for CSV and Excel."""

from __future__ import annotations

from typing import Any

from ..digest import Digest

Table = tuple[list[str], list[list[Any]]]


def tables(d: Digest) -> dict[str, Table]:
    """Sheet name → (header, rows), in the order a reader wants them."""
    name = d.theme_name
    out: dict[str, Table] = {}
    out["reports"] = (
        ["doc_id", "unit", "year", "self_score", "grade", "budget", "spent", "execution_rate_%",
         "goals", "achievements", "problems", "measures", "indicators", "missed_indicators",
         "unaddressed_problems", "source"],
        [[r.doc_id, r.unit, r.year, r.self_score, r.grade, r.budget, r.spent, r.execution_rate,
          r.counts.get("goal", 0), r.counts.get("achievement", 0), r.counts.get("problem", 0),
          r.counts.get("measure", 0), r.indicators, r.missed_indicators, r.unaddressed_problems, r.source]
         for r in d.reports],
    )
    if d.shows("problem"):
        out["problems"] = (
            ["id", "doc_id", "unit", "year", "theme", "theme_name", "section", "problem", "quote", "start", "end",
             "cluster", "addressed", "measures"],
            [[p.id, p.doc_id, p.unit, p.year, p.theme, name(p.theme), p.section, p.text, p.quote, p.start, p.end,
              p.cluster, "yes" if p.measures else "no", "\n".join(f"{l.measure_id}: {l.text}" for l in p.measures)]
             for p in d.problems],
        )
    if d.shows("measure"):
        out["measures"] = (
            ["id", "doc_id", "unit", "year", "theme", "theme_name", "section", "measure", "quote", "start", "end",
             "addresses"],
            [[m.id, m.doc_id, m.unit, m.year, m.theme, name(m.theme), m.section, m.text, m.quote, m.start, m.end,
              "\n".join(m.problems)]
             for m in d.measures],
        )
    out["indicators"] = (
        ["doc_id", "unit", "year", "level1", "level2", "name", "target", "actual", "weight", "score", "note",
         "missed", "missed_reason"],
        [[i.doc_id, i.unit, i.year, i.level1, i.level2, i.name, i.target, i.actual, i.weight, i.score, i.note,
          "yes" if i.missed else "", i.missed_reason]
         for i in d.indicators],
    )
    if d.shows("problem"):
        out["themes"] = (
            ["theme", "name", "name_en", "reports", "problems", "clusters", "summary", "summary_cites"],
            [[g.id, g.name, g.name_en, g.reports, g.problems, len(g.clusters), g.summary or "",
              "\n".join(g.summary_cites)]
             for g in d.themes],
        )
    return out

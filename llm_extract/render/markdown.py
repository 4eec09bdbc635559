"""Digest as Markdown: readable as plain text, renders on any Markdown viewer.

Document strings are escaped (Markdown and HTML metacharacters) so a report's text can never turn
into markup or links.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TextIO

from ..atomic import atomic_path
from ..digest import Digest
from .common import (CATEGORY_NAMES, MAX_CLUSTERS, MAX_MEMBERS, filter_text, num, one_line, pct, problems_by_doc,
                     title, where, who)

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


def esc(s: object) -> str:
    """Escape a document string for inline Markdown (also inside a table cell)."""
    return _MD_SPECIAL.sub(r"\\\1", one_line("" if s is None else str(s)))


class _Lines:
    """Collects output lines straight into a text stream (no giant list for big digests)."""

    def __init__(self, fh: TextIO):
        self.fh = fh

    def append(self, line: str) -> None:
        self.fh.write(line + "\n")

    def __iadd__(self, lines: list[str]) -> "_Lines":
        for line in lines:
            self.append(line)
        return self


def write(d: Digest, out: Path) -> list[Path]:
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        _render(d, _Lines(fh))
    return [out]


def render(d: Digest) -> str:
    buf = io.StringIO()
    _render(d, _Lines(buf))
    return buf.getvalue()


def _render(d: Digest, L: _Lines) -> None:
    L += [f"# {title(d)}", ""]
    counts = [f"{len(d.reports)} reports"] + [f"{len(getattr(d, c + 's'))} {c}s" for c in ("problem", "measure")
                                              if d.shows(c)]
    L.append(" · ".join(counts) + f" · themes by {d.theme_source} · filters: {esc(filter_text(d))}")
    L.append("")
    for s in d.skipped:
        L.append(f"- ⚠ skipped `{esc(Path(s.path).name)}`: {esc(s.reason)}")
    for w in d.warnings:
        L.append(f"- ⚠ {esc(w)}")
    if d.skipped or d.warnings:
        L.append("")

    L += ["## Reports 报告概览", "",
          "| report | unit | year | self-score | budget | execution | goals | achievements | problems | measures | missed indicators |",
          "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in d.reports:
        c = r.counts
        L.append(f"| {esc(r.doc_id)}{' ⚠ no items' if r.no_items else ''} | {esc(r.unit or '—')} | {r.year or '—'} | {num(r.self_score)}"
                 f"{(' ' + esc(r.grade)) if r.grade else ''} | {num(r.budget)} | {pct(r.execution_rate)} | "
                 f"{c.get('goal', 0)} | {c.get('achievement', 0)} | {c.get('problem', 0)} | {c.get('measure', 0)} | "
                 f"{r.missed_indicators} |")
    L.append("")

    if d.shows("problem"):
        L += ["## Problems by theme 问题主题", "", "| theme | reports | problems |", "|---|---|---|"]
        L += [f"| {esc(g.name)} ({esc(g.name_en)}) | {g.reports} | {g.problems} |" for g in d.themes]
        L.append("")
        for n, g in enumerate(d.themes, 1):
            L += [f"### {n}. {esc(g.name)} — {g.reports} reports, {g.problems} problems", ""]
            if g.summary:
                cites = ", ".join(esc(c) for c in g.summary_cites)
                L += [f"*Summary (LLM, from {cites}):* {esc(g.summary)}", ""]
            for c in g.clusters[:MAX_CLUSTERS]:
                rep = d.entry(c.id)
                L.append(f"- > {esc(rep.quote)}")
                L.append(f"  — {esc(who(rep))} · {esc(rep.doc_id)} · {esc(where(rep.section, rep.start, rep.end))}")
                others = [d.entry(m) for m in c.members[1:]]
                if others:
                    shown = "; ".join(f"{esc(who(o))} ({esc(o.id)})" for o in others[:MAX_MEMBERS])
                    more = f" and {len(others) - MAX_MEMBERS} more" if len(others) > MAX_MEMBERS else ""
                    L.append(f"  — near-duplicates in {c.reports} reports: {shown}{more}")
            if len(g.clusters) > MAX_CLUSTERS:
                L.append(f"- … {len(g.clusters) - MAX_CLUSTERS} more distinct problems (see the .xlsx or .json digest)")
            L.append("")

    if d.shows("problem") and d.shows("measure"):  # the links need both
        L += ["## Measures linked to problems 问题与整改措施", ""]
        by_doc = problems_by_doc(d)
        for r in d.reports:
            probs = by_doc.get(r.doc_id, [])
            if not probs:
                continue
            L += [f"### {esc(r.label)} ({r.year or '—'})", ""]
            for p in probs:
                L.append(f"- **{esc(p.id)}** [{esc(d.theme_name(p.theme))}] {esc(p.text)}")
                if not p.measures:
                    L.append("  - ✗ **no measure addresses this problem**")
                for l in p.measures:
                    L.append(f"  - → {esc(d.entry(l.measure_id).text)} ({esc(l.measure_id)}; {l.reason})")
            L.append("")

        un = d.unaddressed()
        L += [f"## Problems no measure addresses 未见对应措施的问题 ({len(un)})", ""]
        if un:
            L += ["| report | theme | problem | where |", "|---|---|---|---|"]
            L += [f"| {esc(who(p))} | {esc(d.theme_name(p.theme))} | {esc(p.text)} | "
                  f"{esc(where(p.section, p.start, p.end))} |" for p in un]
        else:
            L.append("Every problem has at least one linked measure.")
        L.append("")
        weak = d.theme_only()
        if weak:
            L += [f"{len(weak)} more problem(s) are linked only by a shared theme (the weakest reason); check them:", ""]
            L += [f"- {esc(who(p))}: {esc(p.text)} ({esc(p.id)})" for p in weak]
            L.append("")

    if d.history:
        L += ["## Year over year 同比", ""]
        for h in d.history:
            L += [f"### {esc(h.unit)} ({', '.join(map(str, h.years))})", ""]
            for st in h.steps:
                L += [f"**{st.earlier_year} → {st.year}: recurring problems ({len(st.recurring)})**", ""]
                for r in st.recurring:
                    now, was = d.entry(r.problem_id), d.entry(r.earlier_id)
                    L.append(f"- {esc(now.text)} ({esc(now.id)})")
                    L.append(f"  - {st.earlier_year}: {esc(was.text)} ({esc(was.id)}; similarity {num(r.score)})")
                if not st.recurring:
                    L.append(f"- none of {st.year}'s problems repeats one of {st.earlier_year}")
                L.append("")
                if st.follow_ups:
                    done = sum(f.evidenced for f in st.follow_ups)
                    L += [f"**{st.earlier_year} measures against {st.year} achievements ({done} of {len(st.follow_ups)} evidenced)**", ""]
                    for f in st.follow_ups:
                        m = d.entry(f.measure_id)
                        if f.evidenced:
                            a = d.entry(f.evidence_id)
                            L.append(f"- ✓ {esc(m.text)} ({esc(m.id)}) — evidenced: {esc(a.text)} ({esc(a.id)})")
                        else:
                            L.append(f"- ✗ {esc(m.text)} ({esc(m.id)}) — not evidenced")
                    L.append("")

    L += ["## Report cards 报告卡片", ""]
    for card in d.cards:
        r = card.report
        L += [f"### {esc(r.label)} — {r.year or '—'}", "",
              f"Self-score **{num(r.self_score)}**{(' (' + esc(r.grade) + ')') if r.grade else ''} · "
              f"budget {num(r.budget)} · spent {num(r.spent)} · execution {pct(r.execution_rate)} · "
              f"source `{esc(r.doc_id)}`", ""]
        for cat, bullets in card.bullets.items():
            if not bullets:
                continue
            more = card.more.get(cat, 0)
            L += [f"**{CATEGORY_NAMES[cat]} ({len(bullets) + more})**", ""]
            for b in bullets:
                L.append(f"- {esc(b.text)} <sub>{esc(where(b.section, b.start, b.end))}</sub>")
                if one_line(b.quote) != b.text:
                    L.append(f"  > {esc(b.quote)}")
            if more:
                L.append(f"- … {more} more (see the report's result file or `llm-extract view`)")
            L.append("")
        if card.missed:
            L += ["**Indicators that missed their target 未达标指标**", "",
                  "| indicator | target | actual | why |", "|---|---|---|---|"]
            L += [f"| {esc(i.name)} | {esc(i.target)} | {esc(i.actual)} | {esc(i.missed_reason)} |" for i in card.missed]
            L.append("")

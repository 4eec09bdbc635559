"""The deterministic, offline default backend: headings, enumerations, cue phrases, table layout."""

from __future__ import annotations

from pydantic import TypeAdapter

from ..document import Document
from ..rules.paragraphs import paragraph_items
from ..rules.table_items import table_items
from ..rules.cues import explicit_label, strip_marker
from ..structure import Block, Structure, is_shortfall_point
from ..models import Item
from ..tables import table_title
from ..textview import trim_spans
from .base import BackendResult, SyncBackend


def item_text(quote: str, limit: int = 120) -> str:
    """A short one-line form of a quote: whitespace folded, cut at `limit` characters."""
    s = " ".join(quote.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


#: Items are validated in one pydantic-core call per document (or table): cheaper than one
#: Item(...) call each, and far cheaper than model_construct's Python path.
_ITEM_LIST: TypeAdapter[list[Item]] = TypeAdapter(list[Item])


def _rows(text: str, spans, where: str) -> list[dict]:
    """Item fields of each (start, end, category) span, cut from the source itself: offsets exact
    by construction (the pipeline re-checks)."""
    out = []
    for s, e, cat in spans:
        q = text[s:e]
        out.append({"category": cat, "text": item_text(q), "quote": q, "start": s, "end": e, "section": where,
                    "alignment": "exact"})
    return out


def _items(text: str, spans, where: str) -> list[Item]:
    return _ITEM_LIST.validate_python(_rows(text, spans, where))


def table_block_items(text: str, block: Block, structure: Structure) -> list[Item]:
    """Items of a table block, by layout (预期目标/实际完成情况 cells, 指标值/实际值, 偏差原因 clauses);
    their section is the heading path plus the table's own title line."""
    if block.table is None:
        return []
    return _items(text, *_table_spans(text, block, structure.sections[block.section].path_str))


def _table_spans(text: str, block: Block, path: str) -> tuple[list, str]:
    """A table block's item spans, and its section: the heading path plus the table's title."""
    assert block.table is not None
    return table_items(text, block.table).items, " > ".join(p for p in (path, table_title(text, block.start)) if p)


def around_holes(text: str, spans, holes: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """Items cut around the page furniture inside their paragraph ("— 3 —" and the running
    header of a PDF page break never sit inside a quote): one piece on each side."""
    out = []
    for s, e, cat in spans:
        for hs, he in holes:  # sorted, disjoint
            if he <= s or hs >= e:
                continue
            if s < hs:
                out.extend((a, b, cat) for a, b in trim_spans(text, [(s, hs)]))
            s = he
        if s < e:
            out.extend((a, b, cat) for a, b in trim_spans(text, [(s, e)]))
    return out


def _with_problem_heading(text: str, spans: list, block: Block, section) -> list:
    """A point titled by its shortfall and then labelled ("（一）补贴面积核实不够精准\n问题：…"): the
    heading states the problem, so the first problem item starts at the heading."""
    if (
        spans
        and spans[0][2] == "problem"
        and spans[0][0] == block.start
        and is_shortfall_point(section.title)
        and explicit_label(strip_marker(text[block.start:block.start + 12])) == "problem"
    ):
        spans[0] = (section.heading_start, spans[0][1], "problem")
    return spans


def _carried_label(ctx: dict, structure: Structure, section) -> dict:
    """A fresh paragraph context for a new section, keeping an open "整改措施：" label when the
    section is an unnamed point under the labelled one ("（1）…" lines read as headings)."""
    at = ctx.get("label_section")
    if not ctx.get("label") or at is None or section.own_kind is not None:
        return {}
    p = section.parent
    while p is not None and p != at:
        p = structure.sections[p].parent
    return {k: ctx[k] for k in ("label", "label_section", "label_rank")} if p == at else {}


class RulesBackend(SyncBackend):
    name = "rules"
    model = None
    prompt_version = None

    def __init__(self, **_: object) -> None:
        pass

    def extract(self, doc: Document, structure: Structure) -> BackendResult:
        text = doc.text
        rows: list[dict] = []
        ctx: dict = {}
        current = -1
        path = ""
        for block in structure.blocks:
            section = structure.sections[block.section]
            if block.section != current:
                ctx, current = _carried_label(ctx, structure, section), block.section
                path = section.path_str
            if block.kind == "para":
                spans = paragraph_items(text, block, section, ctx)
                if block.holes:
                    spans = around_holes(text, spans, block.holes)
                if section.kind in ("problems", "mixed") and not ctx.get("seen_para"):
                    spans = _with_problem_heading(text, list(spans), block, section)
                ctx["seen_para"] = True
                rows.extend(_rows(text, spans, path))
            elif block.kind == "table" and block.table is not None:
                rows.extend(_rows(text, *_table_spans(text, block, path)))
        return BackendResult(grounded=_ITEM_LIST.validate_python(rows))

"""Hand-labelled gold (LABELING.md "Gold file format"): load it and place every quote in its report.

A gold quote must be a verbatim substring of the report text as `loaders.load` returns it; one that
is not is a labelling error, reported with the document, item number and a preview so a labeller
can fix it, never silently skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from pydantic import ValidationError

from .evaluation import Span
from .loaders import SUFFIXES
from .models import GoldDoc
from .textview import normalize


class GoldError(Exception):
    """A gold file a user must fix: unreadable, invalid, or holding quotes not found in its report."""


def gold_files(gold_dir: Path) -> list[Path]:
    """The gold files of a folder: every `<doc_id>.json`, sorted by name."""
    return sorted(p for p in Path(gold_dir).glob("*.json") if p.is_file())


def load_gold_file(path: Path) -> GoldDoc:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as e:
        raise GoldError(f"{path.name}: cannot read: {e.strerror or e}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise GoldError(f"{path.name}: not valid UTF-8 JSON: {e}") from None
    try:
        doc = GoldDoc.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise GoldError(f"{path.name}: not a gold document ({where}: {first['msg']})") from None
    if doc.doc_id != path.stem:
        raise GoldError(f"{path.name}: doc_id '{doc.doc_id}' does not match the file name '{path.stem}'")
    return doc


def load_gold_dir(gold_dir: Path) -> list[GoldDoc]:
    """All gold documents of a folder; raises one GoldError naming every bad file."""
    docs, errors = [], []
    for p in gold_files(gold_dir):
        try:
            docs.append(load_gold_file(p))
        except GoldError as e:
            errors.append(str(e))
    if errors:
        raise GoldError("\n".join(errors))
    return docs


def _preview(quote: str, n: int = 40) -> str:
    q = quote.replace("\n", "⏎").replace("\t", "⇥")
    return q if len(q) <= n else q[:n] + "…"


def find_in_order(text: str, quote: str, prev_start: int, prev_end: int) -> int:
    """Where `quote` stands when items are read in order: from the previous item's end (so a
    repeated phrase lands on its next occurrence), then from its start (overlapping items), then
    anywhere. -1 when it is not in `text` at all."""
    i = text.find(quote, prev_end)
    if i < 0:
        i = text.find(quote, prev_start)
    if i < 0:
        i = text.find(quote)
    return i


def locate_gold(doc: GoldDoc, text: str) -> list[Span]:
    """Each gold item's [start, end) in `text`, in the order given.

    A quote is searched from the previous item's end (so a repeated phrase lands on its next
    occurrence), then from the previous item's start (overlapping items), then from the top.
    """
    spans: list[Span] = []
    problems: list[str] = []
    prev_start = prev_end = 0
    norm_text = None
    for n, item in enumerate(doc.items, 1):
        q = item.quote
        i = find_in_order(text, q, prev_start, prev_end) if q else -1
        if i < 0:
            hint = ""
            if q:
                norm_text = norm_text if norm_text is not None else normalize(text)
                if normalize(q) and normalize(q) in norm_text:
                    hint = " (matches only if whitespace/punctuation width is ignored: copy the source's characters)"
            problems.append(f"  item {n} ({item.category}): '{_preview(q)}'{hint}")
            continue
        spans.append(Span(category=item.category, start=i, end=i + len(q), quote=q))
        prev_start, prev_end = i, i + len(q)
    if problems:
        raise GoldError(
            f"{doc.doc_id}: {len(problems)} gold quote(s) not found verbatim in the report:\n" + "\n".join(problems)
        )
    return spans


def report_index(reports_dir: Path) -> dict[str, Path]:
    """doc_id (file stem) → report file, for every loadable file under `reports_dir` (recursive)."""
    out: dict[str, Path] = {}
    for p in sorted(Path(reports_dir).rglob("*")):
        if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith("."):
            out.setdefault(p.stem, p)
    return out


def _item_ref(doc: GoldDoc, ref: int | str, category: str) -> int:
    """0-based index of the gold item a link side names (1-based number, or its quote's start)."""
    if isinstance(ref, int):
        if not 1 <= ref <= len(doc.items):
            raise GoldError(f"{doc.doc_id}: link names item {ref}, but the gold has {len(doc.items)} items")
        i = ref - 1
    else:
        hits = [i for i, it in enumerate(doc.items) if it.category == category and it.quote.startswith(ref)]
        if len(hits) != 1:
            raise GoldError(f"{doc.doc_id}: link quote '{_preview(ref)}' starts {len(hits)} {category} items, not one")
        i = hits[0]
    if doc.items[i].category != category:
        raise GoldError(f"{doc.doc_id}: link side item {i + 1} is a {doc.items[i].category}, not a {category}")
    return i


def gold_links(doc: GoldDoc) -> set[tuple[int, int]]:
    """The gold's (problem, measure) links as 0-based item indices; GoldError names a bad reference."""
    return {(_item_ref(doc, p, "problem"), _item_ref(doc, m, "measure")) for p, m in doc.links}


def gold_themes(doc: GoldDoc, theme_ids: Iterable[str]) -> dict[int, str]:
    """0-based problem index → labelled theme id; GoldError names an unknown item or theme."""
    known = set(theme_ids)
    out: dict[int, str] = {}
    for num, tid in doc.themes.items():
        i = _item_ref(doc, int(num) if num.isdigit() else num, "problem")
        if tid not in known:
            raise GoldError(f"{doc.doc_id}: item {num} has theme '{tid}', which the taxonomy does not define")
        out[i] = tid
    return out

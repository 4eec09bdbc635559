"""Each table of a document is read once: the rules backend's items and the report's indicator rows
share one parse (Table.parsed), on every fixture corpus."""

from __future__ import annotations

from pathlib import Path

import llm_extract.rules.table_items as table_items
from llm_extract.backends.rules import RulesBackend
from llm_extract.loaders import SUFFIXES
from llm_extract.pipeline import extract_path

ROOT = Path(__file__).resolve().parents[1]
CORPORA = [ROOT / "fixtures" / "reports", ROOT / "fixtures" / "synthetic", ROOT / "fixtures" / "generality" / "reports"]


def test_every_table_is_parsed_once_per_document(monkeypatch):
    parsed: list[int] = []
    real = table_items._table_items

    def counting(text, table):
        parsed.append(id(table))
        return real(text, table)

    monkeypatch.setattr(table_items, "_table_items", counting)
    files = [p for d in CORPORA if d.is_dir() for p in sorted(d.iterdir()) if p.suffix.lower() in SUFFIXES]
    with_indicators = 0
    for path in files:
        parsed.clear()
        report = extract_path(path, RulesBackend())
        assert len(parsed) == len(set(parsed)), f"{path.name}: a table was parsed more than once"
        with_indicators += bool(report.indicators)
        if report.indicators:
            assert parsed, path.name  # the rows came from the one parse
    assert len(files) >= 10 and with_indicators >= 3  # the corpora hold indicator tables to read

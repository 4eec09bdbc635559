"""Digest as CSV: the problems table in the named file, the other tables beside it.

`digest.csv` holds one row per problem (theme, quote, linked measures); `digest.reports.csv`,
`digest.measures.csv`, `digest.indicators.csv` and `digest.themes.csv` hold the rest. UTF-8 with
a BOM so Excel opens Chinese text correctly.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from ..atomic import atomic_path
from ..digest import Digest
from .tables import tables

_RISKY = ("=", "@", "\t", "\r")


def safe_cell(v: Any) -> Any:
    """Neutralise spreadsheet formulas in document text (=, @, +x, -x) without touching numbers."""
    if not isinstance(v, str) or not v:
        return "" if v is None else v
    if v.startswith(_RISKY) or (v[0] in "+-" and len(v) > 1 and not (v[1].isdigit() or v[1] in ". ")):
        return "'" + v
    return v


def write(d: Digest, out: Path) -> list[Path]:
    t = tables(d)
    main = "problems" if "problems" in t else "reports"
    written = []
    for name, (header, rows) in t.items():
        path = out if name == main else out.with_name(f"{out.stem}.{name}{out.suffix}")
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows([safe_cell(v) for v in row] for row in rows)
        written.append(path)
    return written

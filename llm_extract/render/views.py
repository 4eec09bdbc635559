"""The per-report view pages a digest links to (`digest --views`): one `llm-extract view` page per
digested report, in a folder beside the digest.

Pages are written beside the digest rather than embedded in it: a view holds its report's whole
text, so fifty embedded reports would turn a page a director opens into a 20 MB file, while the
folder keeps the digest small and each report one click away (`<digest>_views/<doc_id>.html#item-P3`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator, Union
from urllib.parse import quote

from ..digest import Digest
from ..models import Report
from ..results import ResultError, Source, read_report, result_files


def views_folder(out: Union[str, Path]) -> Path:
    """Where the view pages of the digest written to `out` go."""
    out = Path(out)
    return out.with_name(f"{out.stem}_views")


def _results(inputs: Iterable[Source]) -> Iterator[Union[Report, Path]]:
    for src in inputs:
        if isinstance(src, Report):
            yield src
        elif Path(src).is_dir():
            yield from result_files(Path(src))
        else:
            yield Path(src)


def write_views(d: Digest, inputs: Iterable[Source], out: Union[str, Path]) -> tuple[dict[str, str], list[str]]:
    """Write a view page for every report of the digest; returns doc_id → link relative to the
    digest file, and one warning per report whose page could not be built (its citations then
    stay plain text)."""
    from ..view import ViewError, render_view

    folder = views_folder(out)
    wanted = {r.doc_id for r in d.reports}
    hrefs: dict[str, str] = {}
    warnings: list[str] = []
    for res in _results([inputs] if isinstance(inputs, (str, Path, Report)) else inputs):
        try:
            rep = res if isinstance(res, Report) else read_report(res)
        except ResultError:
            continue  # the digest already named it as skipped
        if rep.doc_id not in wanted or rep.doc_id in hrefs:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        try:
            render_view(res, out=folder / f"{rep.doc_id}.html")
        except ViewError as e:
            warnings.append(f"no view page for '{rep.doc_id}': {e}")
            continue
        hrefs[rep.doc_id] = f"{quote(folder.name)}/{quote(rep.doc_id)}.html"
    return hrefs, warnings

"""Read extraction result files (the JSON contract) one at a time, naming every file it cannot use.

Used by digest and view: a folder of results may hold a malformed file, a foreign JSON, or a file
written by another version of llm-extract; each becomes a `Skipped` with a reason and the rest is
read. Files are parsed one by one so memory stays bounded however many results there are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Union

from pydantic import ValidationError

from .models import SCHEMA_VERSION, Report

#: schema_version values this version can read (older ones are migrated in `_upgrade`).
READABLE_VERSIONS = {SCHEMA_VERSION}


class ResultError(Exception):
    """A result file that cannot be used; the message says why in plain words."""


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def result_files(folder: Path) -> list[Path]:
    """The result JSON files of an output folder, sorted; names starting with '_' or '.' are run
    bookkeeping (manifests, summaries), not results, and are left out."""
    return sorted(
        p for p in folder.glob("*.json") if p.is_file() and not p.name.startswith(("_", "."))
    )


def read_report(path: str | Path) -> Report:
    """Parse one result file or raise ResultError naming what is wrong with it."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ResultError("file not found") from None
    except OSError as e:
        raise ResultError(f"cannot read file: {e.strerror or e}") from None
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ResultError(f"not valid JSON ({e})") from None
    return report_from_data(data)


def report_from_data(data: object) -> Report:
    if not isinstance(data, dict) or "doc_id" not in data or "schema_version" not in data:
        raise ResultError("not an llm-extract result file (no schema_version/doc_id)")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ResultError(f"schema_version {version!r} is not a number")
    if version > SCHEMA_VERSION:
        raise ResultError(
            f"written by a newer llm-extract (schema_version {version}; this version reads {SCHEMA_VERSION}); upgrade llm-extract"
        )
    if version not in READABLE_VERSIONS:
        raise ResultError(
            f"old result format (schema_version {version}) is no longer supported; re-run `llm-extract` on the source"
        )
    try:
        return Report.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise ResultError(f"does not match the result schema: {where}: {err['msg']}") from None


Source = Union[str, Path, Report]


def iter_reports(inputs: Iterable[Source]) -> Iterator[Union[Report, Skipped]]:
    """Reports from Report objects, result files and result folders, in the order given.

    Yields a Skipped (never raises) for each file that cannot be used, and for a folder with no
    result files at all.
    """
    for src in inputs:
        if isinstance(src, Report):
            yield src
            continue
        p = Path(src)
        if p.is_dir():
            files = result_files(p)
            if not files:
                yield Skipped(str(p), "folder has no result files (*.json)")
            for f in files:
                yield _read_or_skip(f)
        else:
            yield _read_or_skip(p)


def _read_or_skip(p: Path) -> Union[Report, Skipped]:
    try:
        return read_report(p)
    except ResultError as e:
        return Skipped(str(p), str(e))

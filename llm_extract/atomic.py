"""Atomic output writes: a crash or Ctrl-C never leaves a half-written file where a result should be.

Every output (per-report JSON, digests, eval reports, viewer pages) is written to a temporary file
beside its target and renamed over it only when complete. The temporary file is created with the
usual 0666 & ~umask permissions, so outputs are as readable as any file the user writes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; it replaces `path` only when the block succeeds."""
    path = Path(path)
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "xb") as fh:
            fh.write(data)


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "x", encoding=encoding) as fh:
            fh.write(text)

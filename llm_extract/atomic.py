"""Atomic output writes: a crash or Ctrl-C never leaves a half-written file where a result should be.

Every output (per-report JSON, digests, eval reports, viewer pages) is written to a temporary file
beside its target and renamed over it only when complete. The temporary file is created with the
usual 0666 & ~umask permissions, so outputs are as readable as any file the user writes.
"""

from __future__ import annotations

import contextlib
import hashlib
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
    tmp = path.with_name(f".{_short_name(path.name)}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


#: Bytes of the target's name kept in a temporary name: file systems allow 255 bytes a name, and
#: the temporary suffix (pid, random part) needs up to ~30 of them.
_NAME_BYTES = 200


def _short_name(name: str) -> str:
    """`name`, or for a name too long to take the suffix, its first bytes and a hash of the rest."""
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= _NAME_BYTES:
        return name
    head = raw[: _NAME_BYTES - 17].decode("utf-8", "ignore")  # never split a character
    return f"{head}~{hashlib.sha256(raw).hexdigest()[:16]}"


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

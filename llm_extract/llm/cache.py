"""Persistent response cache (SQLite): a rerun, or a resumed batch, re-sends nothing it already has.

The key is a SHA-256 over everything that determines an answer — model, endpoint, structured-output
method, temperature, prompt version (and its content hash), output schema, and the exact messages
(which hold the chunk text and section path). The value is the validated output plus its token
usage. Default location: the user cache dir (platformdirs; $XDG_CACHE_HOME on Linux).

A cache is only a saving: a damaged file (not a database any more) is set aside as
`<name>.damaged-<time>` and a fresh one started, so it costs requests, never the run.

One connection per cache, guarded by a lock: calls are sub-millisecond, so they run inline on the
event loop; WAL mode lets several processes share a file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    prompt_version TEXT,
    output TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
)
"""


class CacheError(RuntimeError):
    """The cache file cannot be opened or written (a path problem a user can fix)."""


@dataclass(frozen=True)
class CachedResponse:
    output: Any  # JSON-decoded validated output
    prompt_tokens: int
    completion_tokens: int


def cache_key(
    *,
    model: str,
    base_url: Optional[str],
    method: str,
    temperature: float,
    prompt_version: str,
    schema: Any,
    messages: Any,
) -> str:
    payload = {
        "model": model,
        "base_url": base_url or "",
        "method": method,
        "temperature": temperature,
        "prompt_version": prompt_version,
        "schema": schema,
        "messages": messages,
    }
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        #: where a damaged cache file was moved before starting afresh (None: it was not)
        self.set_aside: Optional[Path] = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._db = self._open()
            except sqlite3.DatabaseError as e:
                if isinstance(e, sqlite3.OperationalError):  # a path or permission problem
                    raise
                # not a database (truncated, overwritten): a cache is only a saving, so the damaged
                # file is set aside and every answer it held costs one request again
                self.set_aside = self.path.with_name(f"{self.path.name}.damaged-{int(time.time())}")
                self.path.replace(self.set_aside)
                for suffix in ("-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
                self._db = self._open()
        except (OSError, sqlite3.Error) as e:
            raise CacheError(f"cannot open response cache {self.path}: {e}") from None

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(_SCHEMA)
            db.commit()
        except BaseException:
            db.close()
            raise
        return db

    def get(self, key: str) -> Optional[CachedResponse]:
        with self._lock:
            try:
                row = self._db.execute(
                    "SELECT output, prompt_tokens, completion_tokens FROM responses WHERE key = ?", (key,)
                ).fetchone()
            except sqlite3.Error:
                return None  # a damaged cache costs a request, never a failure
        if row is None:
            return None
        try:
            return CachedResponse(json.loads(row[0]), int(row[1]), int(row[2]))
        except (ValueError, TypeError):
            return None

    def put(self, key: str, output: Any, *, model: str, prompt_version: str,
            prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        blob = json.dumps(output, ensure_ascii=False)
        with self._lock:
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (key, model, prompt_version, blob, prompt_tokens, completion_tokens, time.time()),
                )
                self._db.commit()
            except sqlite3.Error as e:
                raise CacheError(f"cannot write response cache {self.path}: {e}") from None

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM responses")
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            try:
                self._db.close()
            except sqlite3.Error:
                pass

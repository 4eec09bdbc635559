"""Secrets kept out of everything we print, write or cache.

Servers echo what they were sent (a 401 body quoting the key, a proxy error quoting the URL with
its credentials) and a model can be talked into repeating it, so every message built from a
server's words and every model answer we keep goes through one `Redactor` made from the settings:
it masks the API key, the credentials of the base URL, anything shaped like a key, bearer headers
and key-like query parameters.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Optional
from urllib.parse import unquote, urlsplit

MASK = "***"
_KEYLIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-]{3})[A-Za-z0-9_\-]{6,}")
_BEARER = re.compile(r"\b(Bearer\s+|Authorization:\s*Basic\s+)[A-Za-z0-9._~+/=\-]+", re.I)
#: scheme://user:password@ — the credentials part of any URL in a message
_USERINFO = re.compile(r"\b([a-z][a-z0-9+.\-]*://)[^/\s@?#]+@", re.I)
_SECRET_PARAM = re.compile(r"([?&](?:api[-_]?key|key|token|access[-_]?token|secret|sig|signature|password)=)[^&#\s]+",
                           re.I)


class Redactor:
    """Masks the given secret values, and whatever looks like a credential, in a message."""

    def __init__(self, secrets: Iterable[Optional[str]] = ()):
        found: set[str] = set()
        for s in secrets:
            if s and len(s) >= 4:  # shorter values would mask ordinary words
                found.update({s, unquote(s)})
        self._secrets = sorted(found, key=len, reverse=True)

    @classmethod
    def for_settings(cls, settings: Any) -> "Redactor":
        """The secrets of LLM settings: the API key and the credentials in the base URL (a lone
        user name there is a token, as in https://TOKEN@host)."""
        key = settings.api_key.get_secret_value() if getattr(settings, "api_key", None) else None
        return cls([key, *url_secrets(getattr(settings, "base_url", None))])

    def __call__(self, message: str) -> str:
        for s in self._secrets:
            message = message.replace(s, MASK)
        message = _USERINFO.sub(rf"\1{MASK}@", message)
        message = _SECRET_PARAM.sub(rf"\1{MASK}", message)
        message = _KEYLIKE.sub(rf"\1{MASK}", message)
        return _BEARER.sub(rf"\1{MASK}", message)

    def scrub(self, value: Any) -> Any:
        """`value` (JSON-like: dicts, lists, strings) with every string redacted."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        return value


def url_secrets(url: Optional[str]) -> list[str]:
    """The credentials a URL carries: its password, or a user name standing alone (a token)."""
    if not url:
        return []
    try:
        u = urlsplit(url)
    except ValueError:
        return []
    if u.password:
        return [u.password, f"{u.username or ''}:{u.password}"]
    return [u.username] if u.username else []


def public_url(url: str) -> str:
    """The URL to show in a message: credentials and key-like query parameters masked."""
    return _SECRET_PARAM.sub(rf"\1{MASK}", _USERINFO.sub(rf"\1{MASK}@", url))

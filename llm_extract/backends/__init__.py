"""Backend registry: name → lazy factory. A new backend is one module here and one `REGISTRY` row;
the CLI's --backend choices and `get_backend` both read the registry.

`rules` is offline and deterministic; `openai` is any OpenAI-compatible endpoint; `auto` (not a
backend) picks openai when an endpoint is configured, else rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

from .base import Backend, BackendError, BackendResult, RawItem

if TYPE_CHECKING:
    from ..llm.settings import LLMSettings


@dataclass(frozen=True)
class BackendEntry:
    """How to build one backend. `uses_llm`: it needs LLMSettings (flags > env > config file), so a
    broken LLM configuration stops it; a backend without it never reads them."""

    factory: Callable[[Optional["LLMSettings"]], Backend]
    uses_llm: bool
    help: str


def _rules(_: Optional["LLMSettings"]) -> Backend:
    from .rules import RulesBackend

    return RulesBackend()


def _openai(settings: Optional["LLMSettings"]) -> Backend:
    from .openai_backend import OpenAIBackend

    assert settings is not None
    return OpenAIBackend.from_settings(settings)


REGISTRY: dict[str, BackendEntry] = {
    "rules": BackendEntry(_rules, uses_llm=False, help="offline, deterministic"),
    "openai": BackendEntry(_openai, uses_llm=True, help="any OpenAI-compatible endpoint"),
}
AUTO = "auto"
BACKENDS = (AUTO, *REGISTRY)


def settings_for(
    name: str, overrides: Mapping[str, Any] | None = None, config_path: Optional[Path] = None
) -> Optional["LLMSettings"]:
    """The LLM settings backend `name` runs with, resolved once per command (None for a backend that
    reads none). `overrides` are flag values, None meaning "not given"."""
    entry = REGISTRY.get(name)
    if entry is not None and not entry.uses_llm:
        return None
    from ..llm.settings import LLMSettings

    return LLMSettings.load(overrides, config_path)


def get_backend(name: str = "rules", settings: Optional["LLMSettings"] = None) -> Backend:
    """Build a backend by name; `settings` None means those of the environment and config file."""
    if name == AUTO:
        settings = settings if settings is not None else settings_for(AUTO)
        name = resolve_auto(settings)
    entry = REGISTRY.get(name)
    if entry is None:
        raise ValueError(f"unknown backend '{name}' (choose from: {', '.join(BACKENDS)})")
    if entry.uses_llm and settings is None:
        settings = settings_for(name)
    return entry.factory(settings)


def resolve_auto(settings: Optional["LLMSettings"]) -> str:
    """'openai' when an API key or base URL is configured (flags, env or config file), else 'rules'."""
    return "openai" if settings is not None and settings.is_configured() else "rules"


__all__ = ["Backend", "BackendError", "BackendResult", "RawItem", "BackendEntry", "REGISTRY", "BACKENDS",
           "get_backend", "settings_for", "resolve_auto"]

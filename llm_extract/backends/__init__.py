"""Backend registry: `rules` (offline, deterministic) and `openai` (any OpenAI-compatible endpoint)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from .base import Backend, BackendError, BackendResult, RawItem

BACKENDS = ("auto", "rules", "openai")


def get_backend(name: str = "rules", *, config_path: Optional[Path] = None, **settings: Any) -> Backend:
    """Build a backend by name. `settings` are LLM settings given as flags (None = not given)."""
    if name == "rules":
        from .rules import RulesBackend

        return RulesBackend()
    if name == "openai":
        from ..llm.settings import LLMSettings
        from .openai_backend import OpenAIBackend

        return OpenAIBackend.from_settings(LLMSettings.load(settings, config_path))
    if name == "auto":
        return get_backend(resolve_auto(config_path=config_path, **settings), config_path=config_path, **settings)
    raise ValueError(f"unknown backend '{name}' (choose from: {', '.join(BACKENDS)})")


def resolve_auto(*, config_path: Optional[Path] = None, **settings: Any) -> str:
    """'openai' when an API key or base URL is configured (flags, env or config file), else 'rules'."""
    from ..llm.settings import LLMSettings

    return "openai" if LLMSettings.load(settings, config_path).is_configured() else "rules"


__all__ = ["Backend", "BackendError", "BackendResult", "RawItem", "get_backend", "resolve_auto", "BACKENDS"]

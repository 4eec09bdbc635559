"""Fixtures shared across test modules."""

from __future__ import annotations

import pytest

#: Environment variables that point the tool at a model endpoint or a settings file.
ENDPOINT_VARS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LLM_EXTRACT_API_KEY", "LLM_EXTRACT_BASE_URL",
                 "LLM_EXTRACT_MODEL", "LLM_EXTRACT_CONFIG")


@pytest.fixture
def offline_env(monkeypatch, tmp_path):
    """No endpoint configured, and the user config and cache folders are empty ones of this test, so
    neither the developer's environment nor their config file or response cache leaks in. Returns
    the monkeypatch, for tests that then set what they need."""
    for k in ENDPOINT_VARS:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return monkeypatch

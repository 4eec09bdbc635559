"""The backend registry: names, lazy factories, and which backends read the LLM settings."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from llm_extract.backends import BACKENDS, REGISTRY, get_backend, resolve_auto, settings_for
from llm_extract.cli import app
from llm_extract.llm.settings import SettingsError

pytestmark = pytest.mark.usefixtures("offline_env")


def test_rules_reads_no_llm_settings_so_a_broken_llm_config_does_not_stop_it(offline_env):
    offline_env.setenv("LLM_EXTRACT_TEMPERATURE", "hot")  # invalid for the LLM backend
    assert settings_for("rules") is None
    assert get_backend("rules").name == "rules"
    with pytest.raises(SettingsError, match="temperature"):
        settings_for("openai")


def test_settings_are_resolved_typed_from_flags_over_the_environment(offline_env):
    offline_env.setenv("LLM_EXTRACT_MODEL", "from-env")
    s = settings_for("openai", {"model": "from-flag", "passes": None, "base_url": "http://127.0.0.1:9/v1"})
    assert s.model == "from-flag" and s.base_url == "http://127.0.0.1:9/v1"
    assert resolve_auto(s) == "openai"
    assert resolve_auto(settings_for("auto")) == "rules"  # nothing configured
    assert get_backend("auto").name == "rules"


def test_unknown_backend_names_the_registered_ones():
    with pytest.raises(ValueError) as e:
        get_backend("gpt")
    for name in BACKENDS:
        assert name in str(e.value)


def test_extract_help_and_errors_list_every_registered_backend(tmp_path):
    runner = CliRunner()
    out = runner.invoke(app, ["extract", "--help"], env={"COLUMNS": "300"}).output
    help_text = " ".join(out.replace("│", " ").split())
    for name, entry in REGISTRY.items():
        assert f"{name} ({entry.help})" in help_text
    r = runner.invoke(app, ["extract", str(tmp_path), "-o", str(tmp_path / "o"), "--backend", "nope"])
    assert r.exit_code == 2
    assert all(name in r.stderr for name in BACKENDS)

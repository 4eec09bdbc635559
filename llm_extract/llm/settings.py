"""Settings of the OpenAI-compatible backend: flags > environment > config file > defaults.

One pydantic model so every source is validated the same way. The API key is a SecretStr: it
prints as '**********' in reprs, logs and error messages, and is read only where the HTTP client
is built.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Mapping, Optional
from urllib.parse import urlparse

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from .prompts import DEFAULT_VERSION
from .redact import public_url

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

Method = Literal["auto", "json_schema", "function_calling", "json_mode"]
Route = Literal["relevant", "all"]
#: How the model answers: copying each item's text (quote), or citing numbered segments (cite).
AnswerFormat = Literal["quote", "cite"]
#: The prompt set a citing run uses unless --prompt-version names another.
CITE_PROMPT_VERSION = "v3-cite"

APP_NAME = "llm-extract"
#: Environment variables that are not spelled LLM_EXTRACT_<FIELD>.
ENV_ALIASES: dict[str, tuple[str, ...]] = {
    "api_key": ("LLM_EXTRACT_API_KEY", "OPENAI_API_KEY"),
    "base_url": ("LLM_EXTRACT_BASE_URL", "OPENAI_BASE_URL"),
    "model": ("LLM_EXTRACT_MODEL",),
}
CONFIG_ENV = "LLM_EXTRACT_CONFIG"

#: Hosts whose OpenAI-compatible API has no `json_schema` response format but does tool calls.
_TOOL_CALL_HOSTS = ("deepseek", "dashscope", "aliyuncs", "bigmodel", "moonshot", "zhipu")


class SettingsError(ValueError):
    """A setting a user gave is invalid (bad value, unreadable config file); message is one line."""


class PriceOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: float = Field(ge=0, description="USD per 1M prompt tokens")
    output: float = Field(ge=0, description="USD per 1M completion tokens")
    cached_input: Optional[float] = Field(None, ge=0, description="USD per 1M prompt tokens served from the provider's prefix cache")
    batch: Optional[float] = Field(None, gt=0, le=1, description="Factor the provider's Batch API bills (0.5 = half price)")


class LLMSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    model: str = Field("gpt-4o-mini", description="Model name as the endpoint knows it.")
    base_url: Optional[str] = Field(None, description="OpenAI-compatible endpoint; None = api.openai.com.")
    api_key: Optional[SecretStr] = Field(None, description="Bearer key; local servers usually accept any.")
    temperature: float = Field(0.0, ge=0, le=2)
    timeout: float = Field(120.0, gt=0, description="Seconds per HTTP request, start to last byte.")
    max_response_mb: float = Field(8.0, gt=0, description="Largest answer accepted from one LLM call, in MB.")
    max_retries: int = Field(4, ge=0, le=20, description="Retries per call on 429/5xx/timeouts/dropped connections.")
    backoff: float = Field(1.0, ge=0, description="First retry delay in seconds (doubles each retry, jittered).")
    max_backoff: float = Field(60.0, ge=0, description="Longest wait between retries, Retry-After included.")
    reasks: int = Field(2, ge=0, le=5, description="Re-asks when the output fails schema validation.")
    concurrency: int = Field(8, ge=1, le=512, description="Requests in flight across the whole batch.")
    rps: Optional[float] = Field(None, gt=0, description="Requests per second ceiling; None = unlimited.")
    method: Method = Field("auto", description="Structured-output method; auto picks one from the endpoint.")
    passes: int = Field(1, ge=1, le=5, description="Extraction passes per chunk (merged, for recall).")
    max_chunk_tokens: int = Field(2000, ge=100, description="Token budget of the report text in one chunk.")
    route: Route = Field("relevant", description="'relevant' skips boilerplate/budget sections and reads recognised self-evaluation tables by layout; 'all' sends all.")
    prompt_version: str = Field(DEFAULT_VERSION, description="Prompt set under prompts/<version>/.")
    answer_format: AnswerFormat = Field("quote", description="quote: the model copies each item's text; cite: it answers with numbered segment ranges (far fewer completion tokens).")
    cache_path: Optional[Path] = Field(None, description="SQLite response cache; None = user cache dir.")
    no_cache: bool = Field(False, description="Neither read nor write the response cache.")
    price_input: Optional[float] = Field(None, ge=0, description="Override: USD per 1M prompt tokens.")
    price_output: Optional[float] = Field(None, ge=0, description="Override: USD per 1M completion tokens.")
    prices: dict[str, PriceOverride] = Field(default_factory=dict, description="Extra price-table rows.")

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, v: Optional[str]) -> Optional[str]:
        if v is None or not v.strip():
            return None
        v = v.strip().rstrip("/")
        u = urlparse(v)
        if u.scheme not in ("http", "https") or not u.netloc:
            raise ValueError("base URL must start with http:// or https:// and name a host")
        return v

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key(cls, v: Any) -> Any:
        if isinstance(v, str) and not v.strip():
            return None
        return v

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        cli_overrides: Mapping[str, Any] | None = None,
        config_path: Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> "LLMSettings":
        """Merge defaults < config file < environment < flags. `None` flag values mean "not given".

        `config_path` None reads $LLM_EXTRACT_CONFIG or the user config file if it exists; an
        explicitly given path must exist.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        path = config_path or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
        if path is not None:
            values.update(read_config(path, required=True))
        else:
            default = default_config_path()
            if default.is_file():
                values.update(read_config(default, required=False))
        values.update(env_values(env))
        values.update({k: v for k, v in (cli_overrides or {}).items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as e:
            raise SettingsError(_one_line(e)) from None

    # -- derived ---------------------------------------------------------------------------

    def is_configured(self) -> bool:
        """True when the user pointed us at a model endpoint (key or base URL)."""
        return self.api_key is not None or self.base_url is not None

    def resolved_method(self) -> str:
        """The structured-output method to use: explicit, or chosen from the endpoint.

        api.openai.com → json_schema (strict structured outputs); DeepSeek, DashScope (Qwen),
        Zhipu, Moonshot → function_calling (no json_schema there); anything else → json_mode, the
        one format nearly every server accepts. A local vLLM, SGLang, llama.cpp or Ollama server
        is recognised at start-up by the openai backend (llm/server.py) and gets json_schema.
        """
        if self.method != "auto":
            return self.method
        host = (urlparse(self.base_url).hostname or "") if self.base_url else "api.openai.com"
        if host.endswith("openai.com"):
            # models older than structured outputs (gpt-3.5, gpt-4, gpt-4-turbo) take tool calls
            name = self.model.split("/")[-1]
            if name.startswith(("gpt-3", "gpt-4-")) or name == "gpt-4":
                return "function_calling"
            return "json_schema"
        if any(h in host for h in _TOOL_CALL_HOSTS):
            return "function_calling"
        return "json_mode"

    def resolved_prompt_version(self) -> str:
        """The prompt set to load: a citing run with the default prompt version gets the citing
        prompt (whose examples answer in segment ranges); an explicit choice is kept."""
        if self.answer_format == "cite" and self.prompt_version == DEFAULT_VERSION:
            return CITE_PROMPT_VERSION
        return self.prompt_version

    def resolved_cache_path(self) -> Optional[Path]:
        if self.no_cache:
            return None
        return self.cache_path or default_cache_path()

    def max_response_bytes(self) -> int:
        return int(self.max_response_mb * 1_000_000)

    def endpoint_label(self) -> str:
        """The endpoint for messages: base URL (credentials masked) or the OpenAI default."""
        return public_url(self.base_url) if self.base_url else "https://api.openai.com/v1"

    def public_dict(self) -> dict[str, Any]:
        """Settings safe to print or record: the key is reduced to whether one is set."""
        d = self.model_dump(exclude={"api_key"})
        d["api_key"] = "set" if self.api_key is not None else None
        d["base_url"] = public_url(self.base_url) if self.base_url else None
        return d


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_cache_path() -> Path:
    """Under the user cache dir (XDG_CACHE_HOME on Linux), so moving that moves the cache."""
    return Path(platformdirs.user_cache_dir(APP_NAME)) / "responses.sqlite3"


def env_values(env: Mapping[str, str]) -> dict[str, Any]:
    """Settings from the environment: the aliases above, then LLM_EXTRACT_<FIELD> for the rest."""
    out: dict[str, Any] = {}
    for name in LLMSettings.model_fields:
        if name == "prices":
            continue
        keys = ENV_ALIASES.get(name, (f"LLM_EXTRACT_{name.upper()}",))
        for key in keys:
            v = env.get(key)
            if v is not None and v.strip() != "":
                out[name] = _env_bool(v) if name == "no_cache" else v.strip()
                break
    return out


def _env_bool(v: str) -> bool:
    return v.strip().lower() in ("1", "true", "yes", "on")


def read_config(path: Path, *, required: bool) -> dict[str, Any]:
    """Top-level keys of a TOML file (or its [llm] table), named like the settings fields."""
    p = Path(path).expanduser()
    if not p.is_file():
        if required:
            raise SettingsError(f"config file not found: {p}")
        return {}
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise SettingsError(f"cannot read config file {p}: {e}") from None
    table = data.get("llm", data)
    if not isinstance(table, dict):
        raise SettingsError(f"config file {p}: [llm] must be a table")
    unknown = sorted(set(table) - set(LLMSettings.model_fields) - {"llm"})
    if unknown:
        raise SettingsError(f"config file {p}: unknown setting(s): {', '.join(unknown)}")
    return {k: v for k, v in table.items() if k != "llm"}


def _one_line(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "settings"
        parts.append(f"{loc}: {err['msg']}")
    return "invalid setting — " + "; ".join(parts)

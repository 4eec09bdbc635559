"""LangChain's ChatOpenAI without the per-call work that does not change between calls.

One batch makes hundreds of calls from one event loop, so every millisecond of Python per call
is a millisecond no other call can use. The stock client redoes three things on every call whose
result is the same each time; this subclass does them once and otherwise leaves ChatOpenAI alone
(`with_structured_output`, its parsers, callbacks and tracing are untouched):

* the structured-output format for tracing (`ls_structured_output_format`): LangChain turns the
  pydantic class into a JSON schema on every call, whether or not a tracer is listening. We hand
  it the schema already converted — the same dict it would have made.
* the strict response format (method `json_schema`): the openai SDK's `parse` regenerates the
  strict JSON schema from the pydantic class on every call. We send the format made once by the
  SDK's own function, and validate the answer with the same pydantic class, as `parse` would.
* the SDK's request transform: `create`/`parse` walk the whole request body against the SDK's
  TypedDict unions (twice for `parse`) to apply field aliases and formats — chat message params
  have none — costing milliseconds for a few-shot prompt. The messages LangChain builds are
  already plain wire-format JSON, so they travel in `extra_body` (documented: merged into the
  JSON body after the transform) with `messages=[]` keeping their place: the body sent is
  byte-for-byte the same. (LiteLLM, BerriAI/litellm#29769, and Hermes Agent,
  NousResearch/hermes-agent#112231, bypass the transform the same way.)

One behaviour differs: an answer that stopped at the output-token limit (finish_reason=length)
but whose JSON is complete is used, not rejected as `parse` does.

`build_chat_model` is the one place a chat model is made from the settings, for the extract
backend and for `digest --llm` alike.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Optional

import openai
from langchain_core.outputs import ChatResult
from langchain_core.utils.function_calling import convert_to_json_schema
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from .http_client import AnswerError, build_async_client, build_sync_client

if TYPE_CHECKING:
    from .settings import LLMSettings

#: Models that reject a temperature parameter (reasoning models).
_NO_TEMPERATURE = re.compile(r"^(o\d|gpt-5)")


def build_http_client(settings: "LLMSettings") -> Any:
    """The async HTTP client of one run. Its connection pool is what enforces `concurrency`
    (HTTP/1.1: one request per connection), so waiting for a free connection is not part of a
    request's timeout; `timeout` bounds the whole request, not each read, and answers are capped
    (http_client)."""
    from .transport import http_library, ssl_context

    s = settings
    http = http_library()
    return build_async_client(
        http, deadline=s.timeout, max_bytes=s.max_response_bytes(),
        timeout=http.Timeout(s.timeout, connect=min(s.timeout, 10.0), pool=None),
        limits=http.Limits(max_connections=s.concurrency, max_keepalive_connections=s.concurrency),
        verify=ssl_context(),
    )


def build_sync_http_client(settings: "LLMSettings") -> Any:
    """The blocking HTTP client of `digest --llm`: the same whole-request deadline and answer cap
    as the extract backend's (one question at a time, so no pool to size)."""
    from .transport import http_library, ssl_context

    s = settings
    http = http_library()
    return build_sync_client(http, deadline=s.timeout, max_bytes=s.max_response_bytes(),
                             timeout=http.Timeout(s.timeout, connect=min(s.timeout, 10.0)), verify=ssl_context())


def build_chat_model(settings: "LLMSettings", *, chat_class: Optional[type] = None, **client: Any) -> Any:
    """The chat model for `settings`: model, endpoint, key, timeout and temperature (left out for
    models that reject one). `client` adds or overrides constructor arguments (the HTTP client,
    retries); `chat_class` defaults to LeanChatOpenAI."""
    s = settings
    kwargs: dict[str, Any] = dict(
        model=s.model,
        base_url=s.base_url,
        api_key=s.api_key.get_secret_value() if s.api_key else "not-needed",
        timeout=s.timeout,
        max_retries=0,
        use_responses_api=False,
    )
    if not _NO_TEMPERATURE.match(s.model.split("/")[-1]):
        kwargs["temperature"] = s.temperature
    kwargs.update(client)
    return (chat_class or LeanChatOpenAI)(**kwargs)


@lru_cache(maxsize=32)
def tracing_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """What LangChain's `_format_ls_structured_output` makes of `schema` (it returns a JSON schema
    dict unchanged, so handing it this one is free)."""
    return convert_to_json_schema(schema)


@lru_cache(maxsize=32)
def strict_response_format(schema: type[BaseModel]) -> Optional[dict[str, Any]]:
    """The `response_format` the openai SDK's `parse` sends for `schema` (strict json_schema), made
    by the SDK's own function; None if this SDK version does not have it (then nothing changes)."""
    try:
        from openai.lib._parsing import type_to_response_format_param
    except ImportError:
        return None
    fmt = type_to_response_format_param(schema)
    return fmt if isinstance(fmt, dict) else None


def _plain_json(v: Any, depth: int = 0) -> bool:
    if isinstance(v, str) or v is None or isinstance(v, (bool, int, float)):
        return True
    if depth > 20:
        return False
    if isinstance(v, list):
        return all(_plain_json(x, depth + 1) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _plain_json(x, depth + 1) for k, x in v.items())
    return False


class LeanChatOpenAI(ChatOpenAI):
    """ChatOpenAI (Chat Completions API) that prepares per-call constants once; see the module doc."""

    async def agenerate(self, messages: Any, stop: Optional[list[str]] = None, callbacks: Any = None,
                        **kwargs: Any) -> Any:
        fmt = kwargs.get("ls_structured_output_format")
        if isinstance(fmt, dict) and isinstance(fmt.get("schema"), type) and issubclass(fmt["schema"], BaseModel):
            kwargs["ls_structured_output_format"] = {**fmt, "schema": tracing_schema(fmt["schema"])}
        return await super().agenerate(messages, stop, callbacks, **kwargs)

    async def _agenerate(self, messages: Any, stop: Optional[list[str]] = None, run_manager: Any = None,
                         **kwargs: Any) -> ChatResult:
        schema = kwargs.get("response_format")
        try:
            return await self._agenerate_format(messages, stop, run_manager, **kwargs)
        except openai.LengthFinishReasonError as e:
            # The SDK's `parse` rejects every answer that stopped at the token limit, even one
            # whose JSON is complete; take such an answer, and name the limit for one that is not.
            return self._answer_at_length(e.completion, schema)

    def _answer_at_length(self, completion: Any, schema: Any) -> ChatResult:
        content = completion.choices[0].message.content if completion.choices else None
        try:
            json.loads(content or "")
        except ValueError:
            tokens = getattr(completion.usage, "completion_tokens", None)
            raise AnswerError(
                f"the model's answer was cut off at its output limit{f' ({tokens} tokens)' if tokens else ''} "
                "before its JSON was complete (finish_reason=length); a smaller --max-chunk-tokens "
                "asks for less per call") from None
        result = self._create_chat_result(completion)
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            for gen in result.generations[:1]:
                gen.message.additional_kwargs["parsed"] = schema.model_validate_json(content)
        return result

    async def _agenerate_format(self, messages: Any, stop: Optional[list[str]] = None, run_manager: Any = None,
                                **kwargs: Any) -> ChatResult:
        schema = kwargs.get("response_format")
        fmt = strict_response_format(schema) if isinstance(schema, type) and issubclass(schema, BaseModel) else None
        if fmt is None:
            return await super()._agenerate(messages, stop, run_manager, **kwargs)
        # `parse` with a format dict checks finish_reason (length / content_filter) as before but
        # leaves `parsed` to us: validate exactly as it would (model_validate_json), so invalid
        # output still raises pydantic's ValidationError from the call.
        kwargs["response_format"] = fmt
        result = await super()._agenerate(messages, stop, run_manager, **kwargs)
        for gen in result.generations[:1]:
            extra = gen.message.additional_kwargs
            content = gen.message.content
            if extra.get("parsed") is None and isinstance(content, str) and content and not extra.get("refusal"):
                extra["parsed"] = schema.model_validate_json(content)
        return result

    def _get_request_payload(self, input_: Any, *, stop: Optional[list[str]] = None, **kwargs: Any) -> dict:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        msgs = payload.get("messages")
        if isinstance(msgs, list) and msgs and _plain_json(msgs):
            extra = payload.get("extra_body") or {}
            if "messages" not in extra:
                payload["extra_body"] = {**extra, "messages": msgs}
                payload["messages"] = []  # keeps the key's place in the body; extra_body fills it
        return payload


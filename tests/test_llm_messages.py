"""What the openai backend says when an endpoint misbehaves: each failure named for what it is
(a refused region, a web page, a body cut off in transit, an answer cut at the token limit), with
advice that names flags and variables that exist, and no client internals in the message."""

from __future__ import annotations

import json

import pytest

from llm_extract.backends.base import BackendError
from llm_extract.backends.openai_backend import EndpointError
from local_http import KEY, LocalServer, backend, completion, extract, send

METHODS = ["json_mode", "json_schema"]


def _answer(status: int, body: bytes, content_type: str = "application/json"):
    return lambda h, srv: send(h, status, body, content_type)


def _failure(answer, **kw) -> str:
    with LocalServer(answer) as srv:
        with pytest.raises(BackendError) as e:
            extract(backend(srv, **kw))
    return str(e.value)


def _cli_flags() -> set[str]:
    from typer.main import get_command

    from llm_extract.cli import app

    flags: set[str] = set()
    for cmd in get_command(app).commands.values():
        for p in cmd.params:
            flags.update(o for o in p.opts if o.startswith("--"))
    return flags


def test_a_403_is_not_called_a_rejected_key_and_names_the_other_causes():
    body = json.dumps({"error": {"message": "Country, region, or territory not supported",
                                 "code": "unsupported_country_region_territory"}}).encode()
    msg = _failure(_answer(403, body))
    assert "rejected the API key" not in msg
    assert "refused access (HTTP 403" in msg and "Country, region, or territory not supported" in msg
    assert "region" in msg and "--model" in msg


def test_a_403_web_page_is_named_by_its_title_not_pasted():
    page = b"<html><head><title>Access denied | Cloudflare</title></head><body><p>blocked</p></body></html>"
    msg = _failure(_answer(403, page, "text/html"))
    assert "a web page ('Access denied | Cloudflare')" in msg and "<html" not in msg and "<p>" not in msg


def test_advice_names_only_flags_that_exist():
    # 401 (bad key) and 404 (unknown model) advice, checked against the real command line
    msgs = [_failure(_answer(401, b'{"error": {"message": "bad key"}}')),
            _failure(_answer(404, b'{"error": {"message": "no such model"}}'))]
    flags = _cli_flags()
    assert "--api-key" not in " ".join(msgs)
    for msg in msgs:
        for flag in {w.strip("(),:;.'") for w in msg.split() if w.startswith(("--", "(--"))}:
            assert flag.lstrip("(") in flags, f"{flag} in: {msg}"
    assert "OPENAI_API_KEY" in msgs[0]


@pytest.mark.parametrize("method", METHODS + ["function_calling"])
def test_an_html_page_with_status_200_is_named_as_a_web_page(method):
    page = b"<!doctype html><html><head><title>Open WebUI</title></head><body>app</body></html>"
    msg = _failure(_answer(200, page, "text/html"), method=method)
    assert "web page ('Open WebUI') instead of JSON" in msg and "/v1" in msg
    assert "'str' object" not in msg and "schema validation" not in msg


@pytest.mark.parametrize("method", METHODS + ["function_calling"])
def test_a_body_cut_off_in_transit_is_not_called_schema_validation(method):
    msg = _failure(_answer(200, completion('{"items": []}')[:70]), method=method)
    assert "not complete JSON" in msg and "schema validation" not in msg


def test_a_body_cut_off_once_is_asked_again():
    cut = completion('{"items": []}')[:70]
    sent = []

    def flaky(h, srv):
        sent.append(1)
        send(h, 200, cut if len(sent) == 1 else completion('{"items": []}'))

    with LocalServer(flaky) as srv:
        report = extract(backend(srv, max_retries=1))
    assert len(sent) == 2 and report.stats.llm_calls == 1


def _at_length(content: str) -> bytes:
    d = json.loads(completion(content))
    d["choices"][0]["finish_reason"] = "length"
    return json.dumps(d).encode()


@pytest.mark.parametrize("method", METHODS)
def test_an_answer_at_the_token_limit_with_complete_json_is_accepted(method):
    quote = "一是村医老龄化现象突出。"
    answer = _answer(200, _at_length(json.dumps({"items": [{"category": "problem", "quote": quote}]},
                                                ensure_ascii=False)))
    with LocalServer(answer) as srv:
        report = extract(backend(srv, method=method))
    assert [i.quote for i in report.problems] == [quote]


@pytest.mark.parametrize("method", METHODS)
def test_an_answer_cut_at_the_token_limit_says_so_without_a_usage_dump(method):
    msg = _failure(_answer(200, _at_length('{"items": [{"category": "problem", "quote": "一是')), method=method)
    assert "cut off at its output limit" in msg and "finish_reason=length" in msg
    assert "--max-chunk-tokens" in msg and "--max-chunk-tokens" in _cli_flags()
    assert "CompletionUsage" not in msg and "schema validation" not in msg


def test_no_message_carries_the_key_even_when_the_page_echoes_it():
    page = f"<html><head><title>Denied for {KEY}</title></head></html>".encode()
    with LocalServer(_answer(403, page, "text/html")) as srv:
        with pytest.raises(EndpointError) as e:
            extract(backend(srv))
    assert KEY not in str(e.value)


def test_credentials_in_the_base_url_are_never_printed():
    from llm_extract.backends.openai_backend import OpenAIBackend
    from llm_extract.llm.settings import LLMSettings

    url = "http://alice:s3cret-pass@127.0.0.1:9/v1?api-key=query-key-42"
    s = LLMSettings(base_url=url, api_key=KEY, no_cache=True, backoff=0.01, max_retries=1, timeout=2)
    assert s.endpoint_label() == "http://***@127.0.0.1:9/v1?api-key=***"
    assert "s3cret" not in json.dumps(s.public_dict()) and "query-key-42" not in json.dumps(s.public_dict())
    with pytest.raises(EndpointError) as e:
        extract(OpenAIBackend.from_settings(s))
    msg = str(e.value)
    assert "cannot reach http://***@127.0.0.1:9/v1" in msg
    assert "s3cret-pass" not in msg and "query-key-42" not in msg and "alice" not in msg


def test_a_server_echoing_url_credentials_does_not_get_them_printed():
    def echo(h, srv):
        send(h, 403, json.dumps({"error": {"message": f"denied for {h.path} with s3cret-pass"}}).encode())

    with LocalServer(echo) as srv:
        url = srv.base_url.replace("http://", "http://bob:s3cret-pass@") + "?key=query-key-42"
        with pytest.raises(EndpointError) as e:
            extract(backend(srv, base_url=url))
    assert "s3cret-pass" not in str(e.value) and "query-key-42" not in str(e.value)

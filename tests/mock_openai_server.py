"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks (no network, no key).

It speaks enough of POST /v1/chat/completions for the official `openai` client (driven through
LangChain) to work: plain content, `response_format` json_schema/json_object, and `tools` with
`tool_choice` (answers as a tool call). Behaviour is scripted per request:

    with MockOpenAIServer(oracle=[gold_doc, ...]) as srv:
        srv.script(status(429, retry_after=0.1), drop(), reply({"items": []}))
        ... srv.base_url ... srv.requests ...

Queued actions are consumed one per request, in order; when the queue is empty the default
responder answers: the "oracle" (every gold quote found in the request's excerpt, optionally
perturbed the way models perturb Chinese text; with `noise=` a noisy model making real models'
mistakes at that rate, see noisy_model.py), or an empty item list. `responder=` overrides it.
A numbered excerpt ("[1]…[2]…", `--answer-format cite`) gets the oracle's answer as segment
ranges ({"category", "first", "last"}) instead of quotes.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Optional

from llm_extract.llm.chunking import PART_SEPARATOR
from llm_extract.gold import find_in_order
from noisy_model import NoisyModel

EXCERPT = re.compile(r"<report_excerpt>\n?(.*?)\n?</report_excerpt>", re.S)

#: What models do to Chinese punctuation: full-width to ASCII (independent of llm_extract.textview).
HALF_WIDTH = str.maketrans({"，": ",", "。": ".", "；": ";", "：": ":", "（": "(", "）": ")",
                            "！": "!", "？": "?", "“": '"', "”": '"', "‘": "'", "’": "'"})


def perturb(quote: str, how: Optional[str]) -> str:
    """'nobreaks': all whitespace removed (PDF line breaks, cell tabs); 'halfwidth': ASCII
    punctuation; 'both'."""
    if how in ("nobreaks", "both"):
        quote = re.sub(r"\s+", "", quote)
    if how in ("halfwidth", "both"):
        quote = quote.translate(HALF_WIDTH)
    return quote


# -- scripted actions ------------------------------------------------------------------------

@dataclass
class Action:
    kind: str  # "status" | "drop" | "hang" | "reply" | "raw"
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0


def status(code: int, *, retry_after: Optional[float] = None, message: str = "mock error",
           delay: float = 0.0) -> Action:
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    err = {"error": {"message": message, "type": "mock_error", "code": str(code)}}
    return Action("status", code, headers, err, delay)


def drop(delay: float = 0.0) -> Action:
    """Close the connection without answering."""
    return Action("drop", delay=delay)


def hang(seconds: float) -> Action:
    """Answer nothing for `seconds` (longer than the client timeout), then close."""
    return Action("hang", delay=seconds)


def reply(payload: Any, delay: float = 0.0) -> Action:
    """Answer with `payload` JSON-encoded as the message content / tool arguments."""
    return Action("reply", body=json.dumps(payload, ensure_ascii=False), delay=delay)


def raw(content: str, delay: float = 0.0) -> Action:
    """Answer with this exact content string (e.g. malformed JSON)."""
    return Action("reply", body=content, delay=delay)


# -- the oracle --------------------------------------------------------------------------------

class Oracle:
    """Answers an excerpt with the gold items it contains, in reading order.

    `gold` is a list of gold documents ({"items": [{"category", "quote"}], "text": report text}).
    With the report text, gold quotes are placed in it (in order, as the eval harness does) and
    the excerpt is placed too, so only the items that really lie in this excerpt are answered —
    a "100%" cell elsewhere in the report is not. Without it, any gold quote found in the excerpt
    counts. With `partial`, a gold quote cut by the excerpt's edge is answered with the part
    inside, as a model would.
    """

    def __init__(self, gold: Iterable[dict], *, perturb: Optional[str] = None, partial: bool = True,
                 min_partial: int = 6):
        self.docs = [(g.get("text"), list(g["items"]), _place(g.get("text"), g["items"])) for g in gold]
        self.perturb = perturb
        self.partial = partial
        self.min_partial = min_partial

    def answer(self, excerpt: str) -> dict:
        """Items of an excerpt; one made of parts ("……" where text was left out) is read part by
        part, each an exact slice of its report. A numbered excerpt (the citing format) is
        answered with segment ranges instead of quotes."""
        if NUMBERED.match(excerpt):
            return self.cite(excerpt)
        return {"items": [{"category": c, "quote": perturb(q, self.perturb)} for _, c, q in self.located(excerpt)]}

    def cite(self, numbered: str) -> dict:
        """The citing answer: for every gold item in the excerpt, the first and last segment whose
        text lies mostly inside the item (a short item inside one long segment cites that
        segment). Read from the prompt alone, as a model would: the markers are taken out, the
        gold quotes located in what remains, and each segment runs from its marker to the next
        one (or the "……" line), trailing whitespace left off."""
        plain, segs = unnumber(numbered)
        items = []
        for pos, cat, q in self.located(plain):
            s, e = pos, pos + len(q)
            overlap = {i: min(b, e) - max(a, s) for i, a, b in segs}
            inside = [i for i, a, b in segs if overlap[i] > 0 and 2 * overlap[i] >= b - a]
            if not inside:
                best = max(overlap, key=overlap.get, default=None)
                if best is None or overlap[best] <= 0:
                    continue
                inside = [best]
            items.append({"category": cat, "first": inside[0], "last": inside[-1]})
        return {"items": items}

    def located(self, excerpt: str) -> list[tuple[int, str, str]]:
        """(offset in the excerpt, category, quote) of every gold item in it, in reading order."""
        out: list[tuple[int, str, str]] = []
        at = 0
        for part in excerpt.split(PART_SEPARATOR):
            out.extend((at + pos, c, q) for pos, c, q in self._answer_part(part))
            at += len(part) + len(PART_SEPARATOR)
        return out

    def _answer_part(self, excerpt: str) -> list[tuple[int, str, str]]:
        best: list[tuple[int, str, str]] = []
        best_cover = -1
        for text, items, spans in self.docs:
            found = self._in_text(text, items, spans, excerpt) if text else self._found(items, excerpt)
            if found is None:
                continue
            cover = sum(len(q) for _, _, q in found)
            if cover > best_cover:
                best, best_cover = found, cover
        best.sort(key=lambda t: t[0])
        return best

    def _in_text(self, text: str, items: list[dict], spans: list, excerpt: str):
        at = text.find(excerpt)
        if at < 0:
            return None  # not this document
        end = at + len(excerpt)
        out = []
        for it, span in zip(items, spans):
            if span is None:
                continue
            s, e = span
            if s >= at and e <= end:
                out.append((s - at, it["category"], it["quote"]))
            elif self.partial and s < end and e > at:
                a, b = max(s, at), min(e, end)
                part = text[a:b].strip()
                if len(part) >= self.min_partial:
                    out.append((a - at, it["category"], part))
        return out

    def _found(self, items: list[dict], excerpt: str) -> list[tuple[int, str, str]]:
        """Without the report text: gold quotes found in the excerpt, a repeated phrase looked for
        after the previous item first."""
        out = []
        prev_start = prev_end = 0
        for it in items:
            q = it["quote"]
            pos = find_in_order(excerpt, q, prev_start, prev_end)
            if pos >= 0:
                out.append((pos, it["category"], q))
                prev_start, prev_end = pos, pos + len(q)
            elif self.partial:
                part = _edge_overlap(q, excerpt, self.min_partial)
                if part is not None:
                    out.append((part[0], it["category"], part[1]))
        return out


#: A numbered excerpt (the citing answer format) opens with its first segment's number.
NUMBERED = re.compile(r"\s*\[1\]")
SEGMENT_NO = re.compile(r"\[(\d+)\]")


def unnumber(numbered: str) -> tuple[str, list[tuple[int, int, int]]]:
    """The excerpt without its segment numbers, and (number, start, end) of every segment in it."""
    plain: list[str] = []
    starts: list[tuple[int, int]] = []
    at = n = 0
    for m in SEGMENT_NO.finditer(numbered):
        plain.append(numbered[at:m.start()])
        n += len(numbered[at:m.start()])
        starts.append((int(m.group(1)), n))
        at = m.end()
    plain.append(numbered[at:])
    text = "".join(plain)
    segs = []
    for k, (no, a) in enumerate(starts):
        b = starts[k + 1][1] if k + 1 < len(starts) else len(text)
        sep = text.find(PART_SEPARATOR, a, b)
        if sep >= 0:
            b = sep
        while b > a and text[b - 1].isspace():
            b -= 1
        segs.append((no, a, b))
    return text, segs


def _place(text: Optional[str], items: list[dict]) -> list[Optional[tuple[int, int]]]:
    """Gold quotes placed in order: after the previous item, else from its start, else anywhere."""
    if not text:
        return []
    out: list[Optional[tuple[int, int]]] = []
    ps = pe = 0
    for it in items:
        q = it["quote"]
        i = find_in_order(text, q, ps, pe)
        if i < 0:
            out.append(None)
            continue
        out.append((i, i + len(q)))
        ps, pe = i, i + len(q)
    return out


def _edge_overlap(q: str, excerpt: str, min_len: int) -> Optional[tuple[int, str]]:
    """The longest head of q ending the excerpt, or tail of q starting it."""
    for n in range(min(len(q) - 1, len(excerpt)), min_len - 1, -1):
        if excerpt.endswith(q[:n]):
            return len(excerpt) - n, q[:n]
        if excerpt.startswith(q[-n:]):
            return 0, q[-n:]
    return None


# -- the server ------------------------------------------------------------------------------

class _Server(ThreadingHTTPServer):
    daemon_threads = True
    #: listen() backlog; the default 5 drops simultaneous connects (a 1 s SYN retry each)
    request_queue_size = 256


class MockOpenAIServer:
    def __init__(
        self,
        *,
        oracle: Optional[Iterable[dict]] = None,
        perturb: Optional[str] = None,
        partial: bool = True,
        latency: float = 0.0,
        api_key: Optional[str] = None,
        responder: Optional[Callable[[dict], Any]] = None,  # body -> content | Action | None (default)
        noise: Optional[float] = None,
        seed: int = 0,
        noise_kinds: Optional[Iterable[str]] = None,
    ):
        self.oracle = Oracle(oracle, perturb=perturb, partial=partial) if oracle is not None else None
        #: with `noise` (a rate, e.g. 0.07) the oracle answers as a noisy model (tests/noisy_model.py)
        self.noisy = None
        if noise and self.oracle is not None:
            self.noisy = NoisyModel(self.oracle, rate=noise, seed=seed,
                                    **({"kinds": noise_kinds} if noise_kinds is not None else {}))
        self.latency = latency
        self.api_key = api_key
        self.responder = responder
        self.requests: list[dict] = []
        self._queue: deque[Action] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self.max_in_flight = 0
        self._in_flight = 0
        #: the provider's automatic prefix cache: warm for every later request of this server
        self.prefix_cache = PrefixCache()

    # lifecycle
    def start(self) -> "MockOpenAIServer":
        handler = _make_handler(self)
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "MockOpenAIServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # scripting
    def script(self, *actions: Action) -> None:
        with self._lock:
            self._queue.extend(actions)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()

    @property
    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def _next_action(self) -> Optional[Action]:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def _record(self, entry: dict) -> None:
        with self._lock:
            self.requests.append(entry)

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def default_content(self, body: dict) -> str:
        if self.oracle is not None:
            ex = excerpt_of(body)
            if self.noisy is not None and not NUMBERED.match(ex or ""):  # seeded by the whole user message: pass 2 errs differently
                return json.dumps(self.noisy.answer(ex or "", last_user_message(body)), ensure_ascii=False)
            return json.dumps(self.oracle.answer(ex or ""), ensure_ascii=False)
        return json.dumps({"items": []})


def last_user_message(body: dict) -> str:
    for m in reversed(body.get("messages", [])):
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, list):
                return "".join(p.get("text", "") for p in c if isinstance(p, dict))
            return c or ""
    return ""


def excerpt_of(body: dict) -> Optional[str]:
    """The report excerpt of the last user message that has one (the chunk being asked about; a
    re-ask's correction message has none)."""
    for m in reversed(body.get("messages", [])):
        if m.get("role") == "user" and isinstance(m.get("content"), str):
            found = EXCERPT.findall(m["content"])
            if found:
                return found[-1]
    return None


class PrefixCache:
    """OpenAI-style automatic prompt caching: a prompt whose first >= 1,024 tokens were sent before
    is billed with those tokens (in 128-token steps) reported as `cached_tokens`. Thread-safe."""

    MIN, STEP = 1024, 128

    def __init__(self) -> None:
        self._seen: set[bytes] = set()
        self._lock = threading.Lock()

    def cached(self, ids: list[int]) -> int:
        h = hashlib.blake2b(digest_size=16)
        keys = []
        for k in range(self.STEP, len(ids) + 1, self.STEP):
            h.update(repr(ids[k - self.STEP:k]).encode())
            keys.append((k, h.copy().digest()))
        with self._lock:
            hit = max((k for k, key in keys if k >= self.MIN and key in self._seen), default=0)
            self._seen.update(key for _, key in keys)
        return hit


def prompt_ids(body: dict) -> list[int]:
    """The request's prompt as a provider tokenises it: the schema it carries (a tool or the
    response format) first, then every message (o200k_base, offline)."""
    from llm_extract.llm.tokens import encoding_for_model

    schema = body.get("tools") or (body.get("response_format") or {}).get("json_schema")
    parts = [json.dumps(schema, ensure_ascii=False, sort_keys=True)] if schema else []
    for m in body.get("messages", []):
        c = m.get("content")
        if isinstance(c, list):
            c = "".join(p.get("text", "") for p in c if isinstance(p, dict))
        parts.append(f"<|{m.get('role')}|>{c or ''}")
    return encoding_for_model(None).encode_ordinary("".join(parts))


def completion(body: dict, content: str, n: int, cache: Optional[PrefixCache] = None) -> dict:
    from llm_extract.llm.tokens import count_tokens

    tools = body.get("tools")
    ids = prompt_ids(body)
    usage = {"prompt_tokens": len(ids) + 3, "completion_tokens": count_tokens(content) + 1}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    usage["prompt_tokens_details"] = {"cached_tokens": cache.cached(ids) if cache is not None else 0}
    if tools:
        choice = body.get("tool_choice")
        name = None
        if isinstance(choice, dict):
            name = (choice.get("function") or {}).get("name")
        name = name or tools[0]["function"]["name"]
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": content}}]}
        finish = "tool_calls"
    else:
        message = {"role": "assistant", "content": content, "refusal": None}
        finish = "stop"
    return {
        "id": f"chatcmpl-mock-{n}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "mock"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": usage,
    }


def _make_handler(srv: MockOpenAIServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms Nagle stall

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def _send(self, code: int, payload: Any, headers: Optional[dict] = None) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def do_GET(self) -> None:  # noqa: N802
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": "mock", "object": "model"}]})
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw_body = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw_body or b"{}")
            except ValueError:
                body = {}
            entry = {"path": self.path, "body": body, "raw": raw_body.decode("utf-8", "replace"),
                     "headers": dict(self.headers), "time": time.monotonic()}
            srv._record(entry)
            n = len(srv.requests)
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            if srv.api_key is not None and self.headers.get("Authorization") != f"Bearer {srv.api_key}":
                got = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                # like some providers, echo the presented key back in the error message
                self._send(401, {"error": {"message": f"Incorrect API key provided: {got}",
                                           "type": "invalid_request_error", "code": "invalid_api_key"}})
                return
            srv._enter()
            try:
                action = srv._next_action()
                content: Optional[str] = None
                if action is None and srv.responder is not None:
                    out = srv.responder(body)  # may answer, or script this request by its content
                    if isinstance(out, Action):
                        action = out
                    elif out is not None:
                        content = out if isinstance(out, str) else json.dumps(out, ensure_ascii=False)
                if action is not None and action.kind == "hang":
                    srv._stop.wait(action.delay)
                    self._drop()
                    return
                delay = (action.delay if action is not None else 0.0) + srv.latency
                if delay:
                    srv._stop.wait(delay)
                if action is not None and action.kind == "drop":
                    self._drop()
                    return
                if action is not None and action.kind == "status":
                    self._send(action.status, action.body, action.headers)
                    return
                if content is None:
                    content = action.body if action is not None else srv.default_content(body)
                self._send(200, completion(body, content, n, srv.prefix_cache))
            finally:
                srv._leave()

        def _drop(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    return Handler


def main(argv: Optional[list[str]] = None) -> None:
    """Serve from the command line (benchmarks, trying the CLI by hand):

        python tests/mock_openai_server.py [--latency 0.3] [--gold fixtures/gold] [--reports fixtures/reports]

    prints the base URL on its first line, then serves until stdin closes or Ctrl-C.
    """
    import argparse
    import sys
    from pathlib import Path

    ap = argparse.ArgumentParser(description="OpenAI-compatible mock server on 127.0.0.1")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds before every answer")
    ap.add_argument("--gold", type=Path, help="folder of gold <doc_id>.json files: answer as the oracle")
    ap.add_argument("--reports", type=Path, help="folder of the reports the gold is about (precise oracle)")
    ap.add_argument("--perturb", choices=["nobreaks", "halfwidth", "both"], help="perturb oracle quotes")
    ap.add_argument("--noise", type=float, help="answer as a noisy model making each mistake at this rate")
    ap.add_argument("--seed", type=int, default=0, help="seed of the noisy model")
    args = ap.parse_args(argv)
    oracle = None
    if args.gold:
        oracle = []
        texts = {}
        if args.reports:
            for p in sorted(args.reports.rglob("*")):
                if p.is_file():
                    try:
                        texts[p.stem] = p.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
                    except (UnicodeDecodeError, OSError):
                        pass
        for g in sorted(args.gold.glob("*.json")):
            data = json.loads(g.read_text(encoding="utf-8"))
            if data.get("doc_id") in texts:
                data["text"] = texts[data["doc_id"]]
            oracle.append(data)
    srv = MockOpenAIServer(oracle=oracle, perturb=args.perturb, latency=args.latency, noise=args.noise,
                           seed=args.seed).start()
    print(srv.base_url, flush=True)
    try:
        sys.stdin.read()  # serve until the parent closes our stdin
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()


if __name__ == "__main__":
    main()

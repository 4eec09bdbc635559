"""The mock server of mock_openai_server.py plus OpenAI's Batch API: /v1/files (upload, content) and
/v1/batches (create, retrieve, list, cancel), on 127.0.0.1, for the real `openai` client.

A batch answers each line as the synchronous endpoint would (the oracle, the scripted `responder`),
when it finishes. How it finishes is set per server:

    with MockBatchServer(oracle=gold, outcome="expired", polls=2) as srv: ...

* `outcome`: "completed"; "expired" (the first half of the lines answered, the rest in the error
  file as batch_expired); "failed" (no line run, the batch's `errors` say why).
* `polls`: status requests answered "in_progress" before the batch finishes.
* `hold`: a threading.Event the batch waits for before it may finish (set it to let it).
* `poll_errors`: the next this many status checks answer HTTP 500.
* `line_error(custom_id, body)`: None to answer normally, or ("error", code) for an error-file line,
  ("status", http_code) for a non-200 response, ("content", text) to answer with that text.
Cancel answers like an expired batch, with batch_cancelled.
"""

from __future__ import annotations

import json
import threading
import time
from email import policy
from email.parser import BytesParser
from typing import Any, Callable, Optional

from mock_openai_server import MockOpenAIServer, _make_handler, _Server, completion


class MockBatchServer(MockOpenAIServer):
    def __init__(self, *, outcome: str = "completed", polls: int = 1, hold: Optional[threading.Event] = None,
                 line_error: Optional[Callable[[str, dict], Optional[tuple]]] = None, **kw: Any):
        super().__init__(**kw)
        self.outcome = outcome
        self.polls = polls
        self.hold = hold
        self.line_error = line_error
        self.files: dict[str, dict] = {}
        self.batches: dict[str, dict] = {}
        self.lines_answered = 0
        #: the next this many status checks answer 500 (a provider's bad minute)
        self.poll_errors = 0
        self._seen_polls: dict[str, int] = {}

    def start(self) -> "MockBatchServer":
        base = _make_handler(self)
        srv = self

        class Handler(base):  # type: ignore[misc, valid-type]
            def do_GET(self) -> None:  # noqa: N802
                if not srv._route(self, "GET", b""):
                    super().do_GET()

            def do_POST(self) -> None:  # noqa: N802
                if "/files" in self.path or "/batches" in self.path:
                    length = int(self.headers.get("Content-Length") or 0)
                    srv._route(self, "POST", self.rfile.read(length) if length else b"")
                else:
                    super().do_POST()

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    # -- routes ------------------------------------------------------------------------------------

    def _route(self, h: Any, verb: str, raw: bytes) -> bool:
        parts = h.path.split("?")[0].rstrip("/").split("/")
        try:
            i = parts.index("v1")
        except ValueError:
            return False
        parts = parts[i + 1:]
        if not parts or parts[0] not in ("files", "batches"):
            return False
        self._record({"path": h.path, "body": None, "raw": "", "headers": dict(h.headers), "time": time.monotonic()})
        with self._lock:
            if parts == ["files"] and verb == "POST":
                return self._answer(h, 200, self._upload(h.headers.get("Content-Type", ""), raw))
            if len(parts) == 3 and parts[0] == "files" and parts[2] == "content" and parts[1] in self.files:
                return self._bytes(h, self.files[parts[1]]["data"])
            if parts == ["batches"] and verb == "POST":
                return self._answer(h, 200, self._create(json.loads(raw)))
            if parts == ["batches"]:
                data = sorted(self.batches.values(), key=lambda b: -b["created_at"])
                return self._answer(h, 200, {"object": "list", "data": data, "has_more": False,
                                             "first_id": data[0]["id"] if data else None,
                                             "last_id": data[-1]["id"] if data else None})
            if len(parts) >= 2 and parts[0] == "batches" and parts[1] in self.batches:
                b = self.batches[parts[1]]
                if len(parts) == 2 and self.poll_errors > 0:
                    self.poll_errors -= 1
                    return self._answer(h, 500, {"error": {"message": "mock: try later", "type": "server_error"}})
                if len(parts) == 3 and parts[2] == "cancel" and verb == "POST":
                    if b["status"] in ("validating", "in_progress", "finalizing"):
                        b["status"] = "cancelling"
                    return self._answer(h, 200, b)
                return self._answer(h, 200, self._advance(b))
        return self._answer(h, 404, {"error": {"message": f"no route {h.path}", "type": "invalid_request_error"}})

    def _answer(self, h: Any, code: int, payload: Any) -> bool:
        h._send(code, payload)
        return True

    def _bytes(self, h: Any, data: bytes) -> bool:
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
        return True

    def _upload(self, content_type: str, raw: bytes) -> dict:
        msg = BytesParser(policy=policy.default).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
        fields = {p.get_param("name", header="content-disposition"): p for p in msg.iter_parts()}
        data = fields["file"].get_payload(decode=True)
        purpose = fields["purpose"].get_payload(decode=True).decode()
        return self._store(data, purpose, fields["file"].get_filename() or "upload.jsonl")

    def _store(self, data: bytes, purpose: str, name: str) -> dict:
        fid = f"file-{len(self.files) + 1}"
        self.files[fid] = {"data": data, "obj": {
            "id": fid, "object": "file", "bytes": len(data), "created_at": int(time.time()),
            "filename": name, "purpose": purpose, "status": "processed"}}
        return self.files[fid]["obj"]

    def _create(self, req: dict) -> dict:
        bid = f"batch_{len(self.batches) + 1}"
        lines = [json.loads(x) for x in self.files[req["input_file_id"]]["data"].splitlines() if x.strip()]
        b = {"id": bid, "object": "batch", "endpoint": req["endpoint"], "errors": None,
             "input_file_id": req["input_file_id"], "completion_window": req["completion_window"],
             "status": "validating", "output_file_id": None, "error_file_id": None,
             "created_at": int(time.time()), "metadata": req.get("metadata"),
             "request_counts": {"total": len(lines), "completed": 0, "failed": 0}}
        self.batches[bid] = b
        self._lines = getattr(self, "_lines", {})
        self._lines[bid] = lines
        return b

    @property
    def batches_created(self) -> int:
        return len(self.batches)

    # -- running a batch -----------------------------------------------------------------------------

    def _advance(self, b: dict) -> dict:
        if b["status"] == "cancelling":
            self._finish(b, "cancelled")
            return b
        if b["status"] not in ("validating", "in_progress"):
            return b
        n = self._seen_polls[b["id"]] = self._seen_polls.get(b["id"], 0) + 1
        b["status"] = "in_progress"
        total = b["request_counts"]["total"]  # answers trickle in as a real batch's do
        b["request_counts"]["completed"] = min(max(total - 1, 0), total * n // (self.polls + 1))
        if n > self.polls and (self.hold is None or self.hold.is_set()):
            self._finish(b, self.outcome)
        return b

    def _finish(self, b: dict, outcome: str) -> None:
        lines = self._lines[b["id"]]
        if outcome == "failed":
            b.update(status="failed", errors={"object": "list", "data": [
                {"code": "invalid_request", "message": "mock: the batch failed validation", "line": None,
                 "param": None}]})
            return
        run = lines if outcome == "completed" else lines[: len(lines) // 2]
        out, errs = [], []
        for k, line in enumerate(lines):
            cid = line["custom_id"]
            if k >= len(run):
                code = "batch_cancelled" if outcome == "cancelled" else "batch_expired"
                errs.append({"id": f"req_{k}", "custom_id": cid, "response": None,
                             "error": {"code": code, "message": f"mock: {code}"}})
                continue
            body = line["body"]
            verdict = self.line_error(cid, body) if self.line_error else None
            self.lines_answered += 1
            if verdict and verdict[0] == "error":
                errs.append({"id": f"req_{k}", "custom_id": cid, "response": None,
                             "error": {"code": verdict[1], "message": "mock line error"}})
            elif verdict and verdict[0] == "status":
                errs.append({"id": f"req_{k}", "custom_id": cid, "error": None, "response": {
                    "status_code": verdict[1], "request_id": f"r{k}",
                    "body": {"error": {"message": "mock status", "type": "server_error"}}}})
            else:
                content = verdict[1] if verdict else self.default_content(body)
                out.append({"id": f"req_{k}", "custom_id": cid, "error": None, "response": {
                    "status_code": 200, "request_id": f"r{k}", "body": completion(body, content, k, self.prefix_cache)}})
        enc = lambda rows: "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()  # noqa: E731
        b["output_file_id"] = self._store(enc(out), "batch_output", "out.jsonl")["id"] if out else None
        b["error_file_id"] = self._store(enc(errs), "batch_output", "errors.jsonl")["id"] if errs else None
        b["status"] = outcome
        b["request_counts"] = {"total": len(lines), "completed": len(out), "failed": len(errs)}

"""Model calls that fail for good: through the CLI, against the local mock server with the real client.

A document whose calls did not all succeed is `partial`: not written (so a rerun does not skip it as
done), named with its failed-call count and the last error, exit code 1. A rerun asks only for the
calls that failed (the others come from the response cache) and ends with exactly the results of a
run that never failed.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_extract.llm.chunking import PART_SEPARATOR
from llm_extract.cli import app
from llm_extract.gold import load_gold_dir, report_index
from llm_extract.loaders import load
from mock_openai_server import MockOpenAIServer, excerpt_of, status

ROOT = Path(__file__).resolve().parent.parent
GOLD_DIR = ROOT / "fixtures" / "gold"
REPORTS = ROOT / "fixtures" / "reports"


@pytest.fixture
def env(offline_env):
    offline_env.setenv("OPENAI_API_KEY", "sk-test-partial")
    return offline_env


def _gold_and_inputs(folder: Path) -> list[dict]:
    folder.mkdir()
    index = report_index(REPORTS)
    gold = []
    for g in load_gold_dir(GOLD_DIR):
        if g.doc_id in index:
            gold.append({**g.model_dump(), "text": load(index[g.doc_id]).text})
            shutil.copy(index[g.doc_id], folder / index[g.doc_id].name)
    assert len(gold) >= 2
    return gold


class Flaky:
    """Fails 17 of every 20 requests (85 %) with a 500; remembers what it answered and what not."""

    def __init__(self) -> None:
        self.n = 0
        self.lock = threading.Lock()
        self.failed: Counter[str] = Counter()

    def __call__(self, body: dict):
        with self.lock:
            self.n += 1
            fail = self.n % 20 < 17
            if fail:
                self.failed[excerpt_of(body) or ""] += 1
        return status(500, message="overloaded, try later") if fail else None


def _extract(inp: Path, out: Path, cache: Path, base_url: str):
    return CliRunner().invoke(app, [
        "extract", str(inp), "-o", str(out), "--backend", "openai", "--base-url", base_url,
        "--cache", str(cache), "--max-retries", "0", "--max-chunk-tokens", "400", "--concurrency", "8",
    ])


def _results(out: Path) -> dict[str, dict]:
    """Each result without its run statistics (timings, cached vs sent calls differ by design)."""
    res = {}
    for p in sorted(out.glob("*.json")):
        data = json.loads(p.read_text(encoding="utf-8"))
        data.pop("stats")
        res[p.name] = data
    return res


def test_partial_failure_is_not_written_and_a_rerun_asks_only_for_the_failed_calls(tmp_path, env):
    inp = tmp_path / "in"
    gold = _gold_and_inputs(inp)
    with MockOpenAIServer(oracle=gold) as srv:
        clean = _extract(inp, tmp_path / "clean", tmp_path / "clean.sqlite3", srv.base_url)
        assert clean.exit_code == 0, clean.output
        clean_asked = Counter(excerpt_of(r["body"]) or "" for r in srv.chat_requests)

        flaky = Flaky()
        srv.reset()
        srv.responder = flaky
        out = tmp_path / "out"
        first = _extract(inp, out, tmp_path / "c.sqlite3", srv.base_url)
        written_by_first = list(out.glob("*.json"))
        assert sum(flaky.failed.values()) > 0.8 * len(srv.chat_requests)

        srv.reset()
        srv.responder = None
        second = _extract(inp, out, tmp_path / "c.sqlite3", srv.base_url)
        rerun_asked = Counter(excerpt_of(r["body"]) or "" for r in srv.chat_requests)

    # the flaky run wrote nothing it could not finish, named each such document, and exited 1
    assert first.exit_code == 1, first.output
    partial = re.findall(r"partial (\S+): (\d+) of (\d+) model calls failed; last error: HTTP 500: .*overloaded",
                         first.output)
    assert partial, first.output  # 85 % failing: some documents got some answers, none got all
    assert all(0 < int(f) < int(n) for _, f, n in partial)
    assert not written_by_first  # no document got every answer, so none was written
    assert "partial" in first.output and "nothing was written" in first.output
    assert "the others were written" not in first.output

    # the rerun asked again exactly what had failed, nothing that had been answered
    assert rerun_asked == flaky.failed
    assert sum(rerun_asked.values()) < sum(clean_asked.values())
    assert second.exit_code == 0, second.output
    assert _results(out) == _results(tmp_path / "clean")
    assert len(_results(out)) == len(gold)


def test_partial_document_is_redone_while_finished_ones_are_skipped(tmp_path, env):
    """One document fails some calls: it alone is partial, the others are written and later skipped."""
    inp = tmp_path / "in"
    gold = _gold_and_inputs(inp)
    victim = sorted(inp.iterdir())[0]
    text = load(victim).text

    state = {"fail": True, "seen": 0}

    def second_chunk_fails(body):
        ex = excerpt_of(body) or ""
        if state["fail"] and ex and ex.split(PART_SEPARATOR)[0][:40] in text:
            state["seen"] += 1
            if state["seen"] == 2:  # one call of this document fails for good
                return status(503, message="busy")
        return None

    with MockOpenAIServer(oracle=gold, responder=second_chunk_fails) as srv:
        out = tmp_path / "out"
        first = _extract(inp, out, tmp_path / "c.sqlite3", srv.base_url)
        written_by_first = {p.stem for p in out.glob("*.json")}
        state["fail"] = False
        srv.reset()
        second = _extract(inp, out, tmp_path / "c.sqlite3", srv.base_url)
        asked = len(srv.chat_requests)
    assert first.exit_code == 1
    assert re.search(rf"partial \S*{victim.name}: 1 of \d+ model calls failed; last error: HTTP 503", first.output)
    assert f"1 of {len(gold)} input(s) partial" in first.output.replace("\n", " ")
    assert written_by_first == {p.stem for p in inp.iterdir()} - {victim.stem}
    assert second.exit_code == 0, second.output
    assert asked == 1  # only the failed call; the finished documents were skipped
    assert (out / f"{victim.stem}.json").exists()


def test_an_unexpected_error_in_one_call_makes_the_document_partial_and_is_named(monkeypatch):
    """A bug or an error the client lets through fails its call only, and is named by its type."""
    import asyncio

    from llm_extract.backends.base import PartialExtraction
    from llm_extract.backends.openai_backend import OpenAIBackend
    from llm_extract.document import Document
    from llm_extract.pipeline import aextract_document
    from llm_extract.llm.settings import LLMSettings

    text = "".join(f"{n}、存在问题\n一是第{n}项工作推进缓慢，资金使用效率不高。\n\n" for n in range(1, 40))
    doc = Document.from_text(text, doc_id="many")
    real = OpenAIBackend._scrubbed
    seen = []

    def flaky_scrub(self, out, *args):
        seen.append(1)
        if len(seen) == 2:
            raise KeyError("items")
        return real(self, out, *args)

    monkeypatch.setattr(OpenAIBackend, "_scrubbed", flaky_scrub)
    with MockOpenAIServer() as srv:
        b = OpenAIBackend.from_settings(LLMSettings(base_url=srv.base_url, api_key="k", no_cache=True,
                                                    max_chunk_tokens=100, max_retries=0))

        async def main():
            try:
                return await aextract_document(doc, b)
            finally:
                await b.aclose()

        with pytest.raises(PartialExtraction) as e:
            asyncio.run(main())
    assert e.value.failed == 1 and e.value.calls == len(seen) > 2
    assert "last error: KeyError: 'items'" in str(e.value)

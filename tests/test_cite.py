"""The citing answer format (--answer-format cite): segments, resolution, prompt, cache keys, and
fidelity against the quote format on every gold set."""

from __future__ import annotations

import json

import pytest

from _oracle import gold_sets, run_oracle
from mock_openai_server import MockOpenAIServer, reply, unnumber
from llm_extract.backends.openai_backend import OpenAIBackend
from llm_extract.evaluation import EvalResult
from llm_extract.llm.chunking import PART_SEPARATOR, Chunk
from llm_extract.llm.citing import chunk_segments, cite_messages, example_answer, numbered_text
from llm_extract.llm.cite_schema import CitedExtraction
from llm_extract.llm.plan import Planner
from llm_extract.llm.prompts import load_prompts
from llm_extract.llm.segments import resolve, segment_span
from llm_extract.llm.settings import LLMSettings
from llm_extract.document import Document
from llm_extract.pipeline import extract_document, extract_text

#: Macro span F1 of the cite format over that of the quote format, with the oracle (issue 11 §4).
FIDELITY_FLOOR = 0.99


def _segments(text: str) -> list[str]:
    return [text[s:e] for s, e in segment_span(text, 0, len(text))]


def test_segments_start_where_items_can_start():
    text = ("（二）存在问题\n一是村医老龄化现象突出。60 岁以上村医占 38.58%；二是信息化滞后。\n"
            "整改措施：加强培训。\n\t夜间门诊人次\n\t≥10 万人次\n\t超额完成，持续优化服务时段")
    assert _segments(text) == [
        "（二）存在问题", "一是村医老龄化现象突出。", "60 岁以上村医占 38.58%；", "二是信息化滞后。",
        "整改措施：", "加强培训。", "夜间门诊人次", "≥10 万人次", "超额完成，", "持续优化服务时段"]


def test_a_comma_outside_a_table_is_no_segment_boundary():
    assert _segments("完成培训12场，覆盖3000人。") == ["完成培训12场，覆盖3000人。"]


def test_markdown_table_cells_are_segments_without_their_pipes():
    assert _segments("| 接种率 | ≥90% | 92.6% |") == ["|", "接种率", "|", "≥90%", "|", "92.6%", "|"]


def _chunk(text: str, parts: list[tuple[int, int]]) -> Chunk:
    body = PART_SEPARATOR.join(text[s:e] for s, e in parts)
    return Chunk(index=0, start=parts[0][0], end=parts[-1][1], text=body, section_path="", tokens=0,
                 parts=tuple(parts))


def test_cited_ranges_resolve_to_exact_offsets_and_split_at_an_omission():
    text = "前言无关。\n一是完成改造。二是建成站点。\n中间被略去的文字。\n三是开展培训。"
    a, b = text.index("一是"), text.index("\n中间")
    c = text.index("三是")
    chunk = _chunk(text, [(a, b), (c, len(text))])
    segs = chunk_segments(chunk)
    assert [text[g.start:g.end] for g in segs] == ["一是完成改造。", "二是建成站点。", "三是开展培训。"]
    # what the model reads: numbers before the segments, the omission line between the parts
    assert numbered_text(chunk) == "[1]一是完成改造。[2]二是建成站点。" + PART_SEPARATOR + "[3]三是开展培训。"
    assert resolve(segs, chunk.parts, 1, 2) == [(a, text.index("\n中间"))]
    assert resolve(segs, chunk.parts, 2, 3) == [(text.index("二是"), b), (c, len(text))]


@pytest.mark.parametrize("first,last", [(0, 1), (2, 9), (3, 2), (-1, 1)])
def test_ids_outside_the_excerpt_do_not_resolve(first, last):
    text = "一是完成改造。二是建成站点。三是开展培训。"
    chunk = _chunk(text, [(0, len(text))])
    assert resolve(chunk_segments(chunk), chunk.parts, first, last) is None


def test_literal_bracket_numbers_in_the_source_cannot_pose_as_segment_ids():
    text = "完成改造[2]项。二是建成站点。"
    shown = numbered_text(_chunk(text, [(0, len(text))]))
    assert shown == "[1]完成改造［2］项。[2]二是建成站点。"


def test_schema_accepts_model_drift_and_rejects_other_shapes():
    out = CitedExtraction.model_validate([{"category": "问题", "first": "[3]", "last": "S4"},
                                          {"category": "measure", "first": 5}])
    assert [(i.category, i.first, i.last) for i in out.items] == [("problem", 3, 4), ("measure", 5, 5)]
    with pytest.raises(ValueError):
        CitedExtraction.model_validate({"items": [{"category": "problem", "quote": "一是…"}]})


def test_cite_prompt_shows_examples_as_ranges_of_their_numbered_text():
    prompts = load_prompts("v3-cite")
    text = "一是完成改造。二是建成站点。"
    msgs = cite_messages(prompts, _chunk(text, [(0, len(text))]))
    ex_user, ex_answer = msgs[1]["content"], json.loads(msgs[2]["content"])
    ex = prompts.examples[0]
    plain, segs = unnumber(ex_user.split("<report_excerpt>\n", 1)[1].split("\n</report_excerpt>")[0])
    assert plain == ex.text
    # every example answer, cut back out of the numbered text, is its verbatim quote
    bounds = {no: (a, b) for no, a, b in segs}
    for it, (cat, quote) in zip(ex_answer["items"], ex.items):
        assert it["category"] == cat
        assert plain[bounds[it["first"]][0]:bounds[it["last"]][1]] == quote
    assert all(example_answer(e) for e in prompts.examples)
    assert "[1]一是完成改造。[2]二是建成站点。" in msgs[-1]["content"]


def test_cache_keys_differ_between_formats_and_cite_uses_its_prompt():
    quote = Planner(LLMSettings(base_url="http://127.0.0.1:9/v1"))
    cite = Planner(LLMSettings(base_url="http://127.0.0.1:9/v1", answer_format="cite"))
    assert (quote.prompts.version, cite.prompts.version) == ("v2", "v3-cite")
    text = "一是完成改造。二是建成站点。"
    chunk = _chunk(text, [(0, len(text))])
    assert quote.request_key(chunk, 1) != cite.request_key(chunk, 1)
    assert quote.document_key(text) != cite.document_key(text)
    assert quote.schema_id != cite.schema_id
    explicit = LLMSettings(answer_format="cite", prompt_version="v1")
    assert explicit.resolved_prompt_version() == "v1"


def test_answer_format_comes_from_the_environment_and_config(tmp_path, offline_env):
    offline_env.setenv("LLM_EXTRACT_ANSWER_FORMAT", "cite")
    assert LLMSettings.load().answer_format == "cite"
    offline_env.delenv("LLM_EXTRACT_ANSWER_FORMAT")
    cfg = tmp_path / "c.toml"
    cfg.write_text('answer_format = "cite"\n', encoding="utf-8")
    assert LLMSettings.load(config_path=cfg).answer_format == "cite"
    with pytest.raises(ValueError):
        LLMSettings(answer_format="anchors")


def _backend(url: str, **kw) -> OpenAIBackend:
    return OpenAIBackend(LLMSettings(model="gpt-4o-mini", base_url=url, api_key="sk-t", no_cache=True,
                                     answer_format="cite", backoff=0.01, route="all", **kw))


REPORT = "（二）存在问题\n一是村医老龄化现象突出。60 岁以上村医占 38.58%。\n二是信息化建设滞后。\n"


def test_a_cited_answer_becomes_items_at_exact_offsets(tmp_path):
    with MockOpenAIServer() as srv:
        srv.script(reply({"items": [{"category": "problem", "first": 2, "last": 3},
                                    {"category": "problem", "first": 4, "last": 4}]}))
        report = extract_text(REPORT, _backend(srv.base_url), doc_id="d")
    assert [p.quote for p in report.problems] == ["一是村医老龄化现象突出。60 岁以上村医占 38.58%。", "二是信息化建设滞后。"]
    for p in report.problems:
        assert REPORT[p.start:p.end] == p.quote and p.alignment == "exact"


def test_invalid_segment_ids_are_reported_as_ungrounded_not_guessed(tmp_path):
    answer = {"items": [{"category": "problem", "first": 4, "last": 4},
                        {"category": "problem", "first": 7, "last": 9},
                        {"category": "measure", "first": 3, "last": 2}]}
    with MockOpenAIServer() as srv:
        srv.script(reply(answer))
        report = extract_text(REPORT, _backend(srv.base_url), doc_id="d")
        srv.script(reply(answer))
        kept = extract_document(Document.from_text(REPORT, doc_id="d"), _backend(srv.base_url),
                                keep_ungrounded=True)
    assert [p.quote for p in report.problems] == ["二是信息化建设滞后。"] and not report.measures
    assert report.stats.ungrounded_dropped == 2
    assert [(i.start, i.alignment) for i in kept.ungrounded] == [(None, "none")] * 2
    assert [i.quote for i in kept.ungrounded] == ["⟦cited segments 7–9 (not in the excerpt)⟧",
                                                  "⟦cited segments 3–2 (not in the excerpt)⟧"]


@pytest.mark.parametrize("gs", gold_sets(), ids=lambda g: g.name)
def test_cite_format_keeps_the_quote_formats_fidelity(tmp_path, gs):
    """The oracle answering in segment ranges scores at least FIDELITY_FLOOR of the oracle copying
    quotes, on every report with gold (macro span F1, through the whole pipeline)."""
    quote, _ = run_oracle(gs, tmp_path / "quote")
    cite, outcomes = run_oracle(gs, tmp_path / "cite", answer_format="cite")
    assert all(o.status == "ok" for o in outcomes)
    assert cite.macro_span_f1 >= FIDELITY_FLOOR * quote.macro_span_f1, (cite.macro_span_f1, quote.macro_span_f1)
    for d, q in zip(cite.docs, quote.docs):
        assert (d.macro_span_f1 or 0) >= 0.97 * (q.macro_span_f1 or 0), d.doc_id
    assert isinstance(cite, EvalResult)


def test_eval_baseline_shows_both_formats_side_by_side_with_their_tokens(tmp_path, offline_env):
    """The two commands the README gives: a quote run saved with --json, then a cite run with
    --baseline, on the user's model (here the mock oracle) and gold."""
    from typer.testing import CliRunner

    from _oracle import FIX, GoldSet, gold_with_text
    from llm_extract.cli import app

    gs = GoldSet("fixtures", FIX / "gold", FIX / "reports")
    gold, _ = gold_with_text(gs)
    offline_env.setenv("OPENAI_API_KEY", "sk-t")
    with MockOpenAIServer(oracle=gold) as srv:
        common = ["eval", "--gold", str(gs.gold), "--backend", "openai", "--base-url", srv.base_url,
                  "--model", "gpt-4o-mini", "--no-docs"]
        first = CliRunner().invoke(app, [*common, "--json", str(tmp_path / "quote.json")], catch_exceptions=False)
        assert first.exit_code == 0, first.output
        second = CliRunner().invoke(app, [*common, "--answer-format", "cite", "--baseline", str(tmp_path / "quote.json")],
                                    catch_exceptions=False)
    assert second.exit_code == 0, second.output
    out = " ".join(second.output.split())
    assert "prompt v2" in out and "prompt v3-cite" in out
    base = json.loads((tmp_path / "quote.json").read_text(encoding="utf-8"))["run"]
    assert base["completion_tokens"] > 0 and base["prompt_tokens"] > 0
    row = next(line for line in second.output.splitlines() if line.strip().startswith("completion tokens"))
    a, b = (int(x.replace(",", "")) for x in row.split()[2:4])
    assert a == base["completion_tokens"] and 0 < b < a


def test_estimate_counts_cited_answers_within_ten_percent_of_the_oracles():
    """`estimate --answer-format cite` predicts the completion tokens the oracle's cited answers
    take (tiktoken), pooled over every gold set, within 10 %."""
    import re

    from mock_openai_server import Oracle
    from llm_extract.llm.citing import completion_estimate
    from llm_extract.llm.estimate import estimate_document
    from llm_extract.llm.tokens import count_tokens
    from llm_extract.structure import analyze
    from _oracle import gold_with_text

    settings = LLMSettings(answer_format="cite", base_url="http://127.0.0.1:9/v1")
    plan = Planner(settings)
    excerpt = re.compile(r"<report_excerpt>\n?(.*?)\n?</report_excerpt>", re.S)
    actual = estimated = 0
    for gs in gold_sets():
        gold, _ = gold_with_text(gs)
        oracle = Oracle(gold)
        for g in gold:
            est = estimate_document(g["text"], settings)
            chunks = plan.chunks(g["text"], analyze(g["text"]))
            assert est.completion_tokens == sum(completion_estimate(c) for c in chunks)
            estimated += est.completion_tokens
            for c in chunks:
                shown = excerpt.findall(plan.messages(c, 1)[-1]["content"])[-1]
                actual += count_tokens(json.dumps(oracle.answer(shown), ensure_ascii=False), settings.model)
    assert actual > 0 and abs(estimated - actual) <= 0.10 * actual, (estimated, actual)

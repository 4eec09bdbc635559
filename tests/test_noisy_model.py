"""The mock server's noisy model, and the floors the LLM path must keep under it.

The noisy model is the oracle making real models' mistakes (tests/noisy_model.py). Under all of
them at 7 % the pipeline must keep macro span F1 above a floor, higher with two passes; under the
mistakes grounding is built to absorb (copy slips, ellipses, headings and markers, the omission
line, splits, truncations, hallucinations) it must stay close to the oracle.
"""

from __future__ import annotations

import statistics

import pytest

from _oracle import gold_sets, run_oracle
from llm_extract.llm.chunking import PART_SEPARATOR
from mock_openai_server import Oracle
from noisy_model import KINDS, NoisyModel

RATE = 0.07
SEEDS = (0, 1)
#: Mean macro span F1 over the gold sets and SEEDS (measured 0.868 with one pass; 0.940 with two,
#: seed 0 alone; the code before grounding/arbitration for real answers scored 0.851 and 0.861).
FLOOR_ONE_PASS = 0.84
FLOOR_TWO_PASSES = 0.92
#: Mistakes grounding repairs by itself (measured 0.990 with seed 0; 0.971 before).
ABSORBED = ("truncate", "split", "slip", "ellipsis", "hallucinate", "heading", "omission", "marker")
FLOOR_ABSORBED = 0.98

TEXT = ("三、存在问题\n一是村医老龄化现象突出。60岁以上村医占38.58%，45岁以下村医不足两成，部分村卫生室"
        "长期由一名村医独立承担基本医疗和公共卫生服务，服务能力明显不足。\n"
        "下一步，我局将加强村医培训。\n一、基本情况\n本局内设科室8个。\n四、主要成效\n全年完成培训12场。\n")
GOLD = [{"text": TEXT, "items": [
    {"category": "problem", "quote": TEXT[TEXT.index("一是"):TEXT.index("\n下一步")]},
    {"category": "measure", "quote": "下一步，我局将加强村医培训。"},
    {"category": "achievement", "quote": "全年完成培训12场。"}]}]
#: What the model is sent: two parts with the boilerplate between them left out.
EXCERPT = TEXT[:TEXT.index("一、基本")].strip() + PART_SEPARATOR + TEXT[TEXT.index("四、"):].strip()


def test_noise_is_reproducible_and_differs_by_request():
    model = NoisyModel(Oracle(GOLD), rate=0.5, seed=3)
    a = model.answer(EXCERPT, "pass 1")
    assert a == model.answer(EXCERPT, "pass 1")
    answers = {str(model.answer(EXCERPT, f"pass {k}")) for k in range(8)}
    assert len(answers) > 1


def test_rate_zero_is_the_oracle():
    assert NoisyModel(Oracle(GOLD), rate=0.0).answer(EXCERPT) == Oracle(GOLD).answer(EXCERPT)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_mistake_changes_some_answer(kind):
    oracle = Oracle(GOLD)
    model = NoisyModel(oracle, rate=1.0, kinds=[kind])
    assert any(model.answer(EXCERPT, str(k)) != oracle.answer(EXCERPT) for k in range(10)), kind


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError):
        NoisyModel(Oracle(GOLD), kinds=["typo"])


def _mean_f1(tmp_path, seeds=SEEDS, **kw) -> float:
    scores = []
    for gs in gold_sets():
        for seed in seeds:
            res, outcomes = run_oracle(gs, tmp_path / f"{gs.name}-{seed}-{kw.get('passes', 1)}", noise=RATE,
                                       seed=seed, **kw)
            assert all(o.status == "ok" for o in outcomes)
            scores.append(res.macro_span_f1)
    return statistics.mean(scores)


def test_noisy_model_floor_with_one_pass(tmp_path):
    assert _mean_f1(tmp_path) >= FLOOR_ONE_PASS


def test_noisy_model_floor_with_two_passes(tmp_path):
    assert _mean_f1(tmp_path, seeds=SEEDS[:1], passes=2) >= FLOOR_TWO_PASSES


def test_mistakes_grounding_absorbs_cost_almost_nothing(tmp_path):
    assert _mean_f1(tmp_path, seeds=SEEDS[:1], noise_kinds=ABSORBED) >= FLOOR_ABSORBED

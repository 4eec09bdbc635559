"""Outputs are written atomically and with ordinary permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from llm_extract.atomic import atomic_path, write_text
from llm_extract.batch import run_batch
from llm_extract.backends.rules import RulesBackend

REPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "reports"


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_outputs_get_the_usual_permissions(tmp_path, umask_022):
    # a results folder shared with colleagues must be readable by them, like any file the user saves
    out = tmp_path / "out"
    run_batch([REPORTS / "yiyang_2024.md"], out, RulesBackend())
    mode = stat.S_IMODE((out / "yiyang_2024.json").stat().st_mode)
    assert mode == 0o644
    write_text(tmp_path / "x" / "note.txt", "内容")
    assert stat.S_IMODE((tmp_path / "x" / "note.txt").stat().st_mode) == 0o644


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_debris(tmp_path):
    target = tmp_path / "digest.md"
    write_text(target, "old digest")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half a new dig", encoding="utf-8")
            raise RuntimeError("interrupted")
    assert target.read_text(encoding="utf-8") == "old digest"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digest.md"]


def test_a_completed_write_replaces_the_file(tmp_path):
    target = tmp_path / "r.json"
    write_text(target, "1")
    write_text(target, "2")
    assert target.read_text(encoding="utf-8") == "2"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_the_written_json_is_the_report_contract(tmp_path):
    # the batch writes serializer bytes directly; they must be exactly Report.to_json() in UTF-8
    from llm_extract.models import Report
    from llm_extract.pipeline import extract_path

    out = tmp_path / "out"
    run_batch([REPORTS / "yueyanglou_2024.txt"], out, RulesBackend())
    written = (out / "yueyanglou_2024.json").read_bytes()
    report = Report.model_validate_json(written)
    again = extract_path(REPORTS / "yueyanglou_2024.txt", RulesBackend())
    again.stats.seconds = report.stats.seconds
    assert written == report.to_json().encode("utf-8")
    assert report.to_json() == again.to_json()


def test_a_long_file_name_still_gets_its_result(tmp_path):
    # 80 Chinese characters = 240 bytes: the name fits the 255-byte limit, name + temp suffix did not
    stem = ("某某县卫生健康局二〇二四年度部门整体支出绩效自评报告" * 4)[:80]
    assert 235 < len(stem.encode()) <= 250
    src = tmp_path / f"{stem}.md"
    src.write_bytes((REPORTS / "yiyang_2024.md").read_bytes())
    out = tmp_path / "out"
    outcomes = run_batch([src], out, RulesBackend())
    assert [o.status for o in outcomes] == ["ok"], outcomes[0].error
    assert (out / f"{stem}.json").is_file()
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_temp_names_of_long_targets_stay_distinct(tmp_path):
    a, b = tmp_path / ("甲" * 80 + "一.json"), tmp_path / ("甲" * 80 + "二.json")
    with atomic_path(a) as ta, atomic_path(b) as tb:
        assert len(ta.name.encode()) <= 255 and ta.name != tb.name
        ta.write_text("a")
        tb.write_text("b")
    assert a.read_text() == "a" and b.read_text() == "b"

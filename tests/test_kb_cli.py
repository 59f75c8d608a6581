"""`qcbot kb`: check, list and show; invalid files give a precise error, never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from knowledge.errors import KnowledgeError
from knowledge.loader import DATA_DIR, load_knowledge


def broken_copy(tmp_path: Path, file: str, old: str, new: str, after: str = "", count: int = 1) -> Path:
    """A copy of the knowledge files with one edit (the first `old` after `after`)."""
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    path = data / file
    text = path.read_text(encoding="utf-8")
    start = text.index(after) if after else 0
    assert old in text[start:]
    path.write_text(text[:start] + text[start:].replace(old, new, count), encoding="utf-8")
    return data


def test_kb_check_reports_the_documents_totals(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "check", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    systems = {fw["id"]: fw for fw in summary["frameworks"]}
    assert (systems["shandong"]["levels1"], systems["shandong"]["levels2"], systems["shandong"]["indicators"]) == (4, 15, 43)
    assert systems["shandong"]["level_points"] == {"质量发展理念": 12, "质量发展保障": 15, "质量发展基础": 31, "质量发展成效": 42}
    assert (systems["hunan"]["indicator_points"], systems["hunan"]["pass_line"]) == (1060, 800)
    plans = {p["id"]: p for p in summary["plans"]}
    assert (plans["pingyin"]["rows"], plans["pingyin"]["row_points"]) == (27, 64)


def test_kb_show_shandong_17_in_linzi(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "show", "shandong", "17", "--plan", "linzi"]) == 0
    text = capsys.readouterr().out
    assert "分值：3 分" in text and "区市场监管局" in text and "功效系数法" in text
    assert main(["kb", "show", "shandong", "17", "--plan", "linzi", "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert [p["id"] for p in view["rule"]] == ["a", "b", "c"] and view["points"] == 3


@pytest.mark.parametrize("args", [["kb", "show", "nowhere", "1"], ["kb", "show", "shandong", "99"], ["kb", "list", "--plan", "x"]])
def test_unknown_names_are_one_line_and_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err


def test_a_wrong_type_names_file_and_path(tmp_path: Path) -> None:
    data = broken_copy(tmp_path, "frameworks/shandong.yaml", "points: 3", "points: 三分", after="- id: '17'")
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(data)
    assert str(error.value) == "shandong.yaml: indicators[17].points: 应为数字"


def test_points_that_do_not_add_up_are_refused(tmp_path: Path) -> None:
    data = broken_copy(tmp_path, "frameworks/hunan.yaml", "total_points: 1060", "total_points: 1000")
    with pytest.raises(KnowledgeError, match="hunan.yaml: total_points: .*1060.*1000"):
        load_knowledge(data)


def test_a_yaml_syntax_error_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = broken_copy(tmp_path, "glossary.yaml", "- term:", "- term: [unclosed")
    assert main(["--data", str(data), "kb", "check"]) == 1
    err = capsys.readouterr().err
    assert "glossary.yaml" in err and "行" in err and "Traceback" not in err


def test_an_unknown_responsible_unit_is_refused(tmp_path: Path) -> None:
    data = broken_copy(tmp_path, "plans/linzi.yaml", "区发改局", "区火星局", after="responsible:", count=-1)
    with pytest.raises(KnowledgeError, match="linzi.yaml: responsible.*区火星局"):
        load_knowledge(data)

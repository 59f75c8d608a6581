"""`qcbot score --format xlsx`: the questions as a workbook, read back, imported into the store."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from scoring.answer_workbook import ANSWER, FACT, HELP_SHEET, SHEET, WHEN

DEPT = ("--plan", "pingyin", "--department", "财政局")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["score", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def template(capsys: pytest.CaptureFixture[str], path: Path, *target: str) -> Path:
    code, out, _ = run(capsys, *target, "--template", "--format", "xlsx", "-o", str(path))
    assert code == 0 and str(path) in out
    return path


def fill(path: Path, out: Path, answers: dict[str, object], dates: dict[str, object] | None = None,
         percent_format: set[str] | None = None) -> Path:
    """The workbook with answers typed into the answer (and completion date) cells by fact id."""
    book = load_workbook(path)
    sheet = book[SHEET]
    for row in sheet.iter_rows(min_row=2):
        fact = row[FACT - 1].value
        if fact in answers:
            row[ANSWER - 1].value = answers[fact]
            if percent_format and fact in percent_format:
                row[ANSWER - 1].number_format = "0.00%"
        if dates and fact in dates:
            row[WHEN - 1].value = dates[fact]
    book.save(out)
    return out


def test_workbook_has_the_chat_questions_validation_and_hidden_ids(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    book = load_workbook(template(capsys, tmp_path / "t.xlsx", *DEPT))
    assert book.sheetnames[:2] == [HELP_SHEET, SHEET]
    assert "百分数" in "\n".join(str(c.value) for c in book[HELP_SHEET]["A"])
    sheet = book[SHEET]
    assert [c.value for c in sheet[1]][:8] == ["序号", "指标", "责任单位", "问题", "单位", "填写要求",
                                              "答案", "完成日期（已完成的任务）"]
    ids = [r[FACT - 1].value for r in sheet.iter_rows(min_row=2)]
    assert ids[0] == "i9_fund_development" and len(ids) == 15
    assert sheet.column_dimensions["I"].hidden and sheet.protection.sheet
    assert not sheet.cell(2, ANSWER).protection.locked and sheet.cell(2, FACT).protection.locked
    lists = [dv.formula1 for dv in sheet.data_validations.dataValidation if dv.type == "list"]
    assert '"是,否"' in lists
    units = {r[4].value for r in sheet.iter_rows(min_row=2)}
    assert "万元" in units


def test_a_choice_gets_its_options_as_a_list(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    book = load_workbook(template(capsys, tmp_path / "t.xlsx", "--plan", "pingyin"))
    lists = [dv.formula1 for dv in book[SHEET].data_validations.dataValidation if dv.type == "list"]
    assert any(f.startswith("'选项'!$") or f.startswith("选项!$") for f in lists)


def test_template_needs_an_output_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, *DEPT, "--template", "--format", "xlsx")
    assert code == 2 and "-o" in err


def test_read_back_lists_every_problem_like_the_yaml_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blank = template(capsys, tmp_path / "t.xlsx", *DEPT)
    filled = fill(blank, tmp_path / "f.xlsx", {"i9_fund_development": "是", "i9_fund_supervision": "不清楚",
                                                "i28_funds": "很多"})
    code, _, err = run(capsys, *DEPT, "--answers", str(filled))
    assert code == 2 and "2 处问题" in err
    assert '第3行 i9_fund_supervision: "不清楚" — 不确定的答案不计入' in err and "i28_funds" in err
    whole = template(capsys, tmp_path / "w.xlsx", "--plan", "pingyin")  # 财政局 asks no percentages now
    filled = fill(whole, tmp_path / "g.xlsx", {"i17_a_coverage": 0.35})
    code, _, err = run(capsys, "--plan", "pingyin", "--answers", str(filled))
    assert code == 2 and "您填的是0.35%还是35%？" in err


def test_read_back_scores_like_chat(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blank = template(capsys, tmp_path / "t.xlsx", "--plan", "pingyin")
    filled = fill(blank, tmp_path / "f.xlsx", {"i9_fund_development": "是", "i17_a_coverage": 0.95,
                                                "i10_funds_cur": 350, "i10_spend_cur": "100000"},
                  percent_format={"i17_a_coverage"})
    code, out, err = run(capsys, "--plan", "pingyin", "--answers", str(filled), "--json")
    assert code == 0, err
    missing = out.split('"missing"')[1].split("]")[0]
    assert '"i17_a_coverage"' not in missing and '"i10_funds_cur"' not in missing
    assert "0.35% = 350万元 ÷ 100000万元" in out  # the share is computed from the raw figures


def test_save_imports_with_history_naming_the_importer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blank = template(capsys, tmp_path / "t.xlsx", *DEPT)
    db = tmp_path / "q.db"
    first = fill(blank, tmp_path / "a.xlsx", {"i9_fund_development": "是", "i10_funds_cur": "350"})
    code, out, err = run(capsys, *DEPT, "--answers", str(first), "--save", "--db", str(db), "--user", "李四")
    assert code == 0, err
    assert "2 个答案（2 个有变化）" in out and "李四" in out
    second = fill(blank, tmp_path / "b.xlsx", {"i9_fund_development": "否", "i10_funds_cur": "350"})
    assert run(capsys, *DEPT, "--answers", str(second), "--save", "--db", str(db), "--user", "李四")[0] == 0
    with sqlite3.connect(db) as conn:
        history = conn.execute("select fact_id, old_value, new_value, changed_by, channel "
                               "from answer_history order by id").fetchall()
        stored = dict(conn.execute("select fact_id, value from answers").fetchall())
    assert history == [("i9_fund_development", None, "true", "李四", "file"),
                       ("i10_funds_cur", None, "350.0", "李四", "file"),
                       ("i9_fund_development", "true", "false", "李四", "file")]
    assert stored == {"i9_fund_development": "false", "i10_funds_cur": "350.0"}


def test_save_refuses_bad_answers_and_other_departments_facts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blank = template(capsys, tmp_path / "t.xlsx", "--plan", "pingyin")
    db = tmp_path / "q.db"
    filled = fill(blank, tmp_path / "a.xlsx", {"i9_fund_development": "是", "i3_activities": "是"})
    code, _, err = run(capsys, *DEPT, "--answers", str(filled), "--save", "--db", str(db))
    assert code == 2 and "i3_activities" in err and "不是该部门的题目" in err
    assert not db.exists() or sqlite3.connect(db).execute("select count(*) from answers").fetchone() == (0,)


def test_save_needs_db_plan_and_department(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blank = template(capsys, tmp_path / "t.xlsx", *DEPT)
    code, _, err = run(capsys, "--plan", "pingyin", "--answers", str(blank), "--save", "--db", str(tmp_path / "q.db"))
    assert code == 2 and "--department" in err


def test_jinan_future_completion_date_in_the_workbook_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = ("--plan", "jinan", "--department", "市场监管局")
    blank = template(capsys, tmp_path / "t.xlsx", *target)
    key = load_workbook(blank)[SHEET].cell(14, FACT).value
    assert isinstance(key, str)
    future = date(date.today().year + 3, 1, 1)
    bad = fill(blank, tmp_path / "a.xlsx", {key: "是"}, {key: future})
    code, _, err = run(capsys, *target, "--answers", str(bad), "--save", "--db", str(tmp_path / "q.db"))
    assert code == 2 and "任务不能在将来完成" in err
    good = fill(blank, tmp_path / "b.xlsx", {key: "是"}, {key: date(2025, 3, 1)})
    code, out, err = run(capsys, *target, "--answers", str(good), "--save", "--db", str(tmp_path / "q.db"))
    assert code == 0, err
    with sqlite3.connect(tmp_path / "q.db") as conn:
        assert dict(conn.execute("select fact_id, value from answers")) == {
            key: "true", f"{key}.date": '"2025-03-01"'}

"""`qcbot plan import`: the 临淄 table as a county keeps it, in three formats, becomes a working plan."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest

from bot.app import _librarian
from bot.cli import main
from bot.config import Config
from knowledge.errors import KnowledgeError
from knowledge.loader import load_knowledge
from knowledge.model import KnowledgeBase, Plan
from knowledge.plan_import import import_table, plan_yaml, report
from knowledge.qa import Librarian
from tests import plan_tables

LEAD = "区质量强区创建工作领导小组办公室"


@pytest.fixture
def plans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty plans directory named by QCBOT_PLANS_DIR (and no other configuration)."""
    folder = tmp_path / "plans"
    folder.mkdir()
    monkeypatch.delenv("QCBOT_CONFIG", raising=False)
    monkeypatch.setenv("QCBOT_PLANS_DIR", str(folder))
    return folder


def placed_correctly(result: object, expected: dict[str, str | None]) -> int:
    rows = report(result)["rows"]  # type: ignore[arg-type]
    return sum(row["indicator"] == expected[row["no"]] for row in rows)


@pytest.mark.parametrize("fmt", ["xlsx", "docx", "csv"])
def test_the_rewritten_linzi_table_is_placed_row_by_row(tmp_path: Path, librarian: Librarian, fmt: str) -> None:
    path = plan_tables.WRITERS[fmt](tmp_path / f"临淄任务表.{fmt}")
    rows = plan_tables.county_rows()
    result = import_table(path, librarian.library, "shandong", "临淄区", "linzi_import")
    assert len(result.rows) == len(rows)
    assert placed_correctly(result, plan_tables.expected(rows)) >= 0.95 * len(rows)
    extra = next(r for r in result.rows if r.row.title == plan_tables.EXTRA_TASK)
    assert not extra.written and extra.row.title in plan_yaml(result)  # left out, but named in the file
    assert result.uncovered == [] and result.duplicates == {} and result.unknown_units == {}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_any_of_the_encodings_counties_save(tmp_path: Path, librarian: Librarian, encoding: str) -> None:
    path = plan_tables.write_csv(tmp_path / "表.csv", encoding=encoding)
    result = import_table(path, librarian.library, "shandong", "临淄区", "linzi_import")
    assert placed_correctly(result, plan_tables.expected()) >= 0.95 * len(result.rows)


def test_merged_cells_and_lead_support_columns_reach_the_plan(tmp_path: Path, librarian: Librarian) -> None:
    path = plan_tables.write_xlsx(tmp_path / "表.xlsx")
    result = import_table(path, librarian.library, "shandong", "临淄区", "linzi_import")
    metering = next(r for r in result.rows if r.placement.indicator and r.placement.indicator.id == "16")
    assert metering.row.level2 == "计量（7分）" and metering.row.level1 == "质量发展基础（31分）"
    assert [(u.kept, u.lead) for u in metering.units] == [("区政府办", True), ("区市场监管局", False)]
    veto = next(r for r in result.rows if r.placement.indicator and r.placement.indicator.id == "0")
    assert [u.departments[0] for u in veto.units][:3] == ["生态环境局", "统计局", "应急管理局"]


def test_the_imported_plan_passes_kb_check_and_answers(
    tmp_path: Path, plans: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = plan_tables.write_docx(tmp_path / "临淄任务表.docx")
    out = plans / "linzi_import.yaml"
    argv = ["plan", "import", str(table), "--framework", "shandong", "--county", "临淄区", "--id", "linzi_import"]
    assert main([*argv, "--out", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["placed"] == 44 and data["total"] == 45 and data["out"] == str(out)
    assert [r["title"] for r in data["unplaced"]] == [plan_tables.EXTRA_TASK]
    assert {"rows", "review", "duplicates", "uncovered", "unknown_units"} <= set(data)

    assert main(["kb", "check", "--json"]) == 0
    summary = {p["id"]: p for p in json.loads(capsys.readouterr().out)["plans"]}
    assert summary["linzi_import"]["rows"] == 44 and summary["linzi_import"]["row_points"] == 100

    assert main(["ask", "--plan", "linzi_import", "--json", "强制检定谁负责"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["hits"][0]["id"] == "17" and "临淄区表第" in answer["answer"]
    sixth = next(r for r in data["rows"] if r["no"] == "6")
    assert main(["ask", "--plan", "linzi_import", "--json", "任务表第6行"]) == 0
    assert json.loads(capsys.readouterr().out)["hits"][0]["id"] == sixth["indicator"]


def test_serve_loads_the_plans_directory(tmp_path: Path, plans: Path, librarian: Librarian) -> None:
    result = import_table(plan_tables.write_csv(tmp_path / "t.csv"), librarian.library, "shandong", "临淄区", "linzi_import")
    (plans / "linzi_import.yaml").write_text(plan_yaml(result), encoding="utf-8")
    config = Config.load({"QCBOT_PLAN": "linzi_import", "QCBOT_PLANS_DIR": str(plans), "QCBOT_CACHE_DIR": str(tmp_path / "c")})
    served = _librarian(config, None)
    assert served.default_plan == "linzi_import" and served.kb.plans["linzi_import"].county == "临淄区"


def test_a_plan_id_that_clashes_is_a_precise_error(
    tmp_path: Path, plans: Path, librarian: Librarian, capsys: pytest.CaptureFixture[str]
) -> None:
    result = import_table(plan_tables.write_csv(tmp_path / "t.csv"), librarian.library, "shandong", "临淄区", "linzi")
    (plans / "mine.yaml").write_text(plan_yaml(result), encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"mine.yaml: id: 方案编号 linzi 与内置方案 .*linzi.yaml 重名"):
        load_knowledge(plans_dir=plans)
    assert main(["kb", "check"]) == 1
    assert "重名" in capsys.readouterr().err
    table = plan_tables.write_csv(tmp_path / "t2.csv")
    assert main(["plan", "import", str(table), "-f", "shandong", "-c", "临淄区", "-o", str(tmp_path / "x.yaml")]) == 1


def test_the_default_id_is_the_county_in_pinyin_and_may_not_take_a_built_in_one(
    tmp_path: Path, plans: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = plan_tables.write_csv(tmp_path / "t.csv")
    assert main(["plan", "import", str(table), "-f", "shandong", "-c", "临淄区", "-o", str(tmp_path / "x.yaml")]) == 2
    assert "方案编号 linzi 已被现有方案" in capsys.readouterr().err and not (tmp_path / "x.yaml").exists()


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def test_another_county_its_unknown_units_and_explicit_numbers(
    tmp_path: Path, plans: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = ["序号", "指标序号", "工作任务", "分值", "牵头单位", "配合单位"]
    rows = [
        ["1", "", "实现强制检定全覆盖，开展重点用能单位能源计量审查", "3", "高青县市场监管局", "高青县不存在局"],
        ["2", "43", "做好迎检工作", "", "高青县政府办", ""],
        ["3", "", "推动规上企业开展能源计量审查和强制检定", "3", "县市场监督管理局", ""],
    ]
    table = write_rows(tmp_path / "高青.csv", header, rows)
    out = plans / "gaoqing.yaml"
    assert main(["plan", "import", str(table), "-f", "shandong", "-c", "高青县", "-o", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["plan"] == "gaoqing"
    by_no = {r["no"]: r for r in data["rows"]}
    assert by_no["2"]["indicator"] == "43" and by_no["2"]["method"] == "编号"  # the number wins
    assert by_no["1"]["indicator"] == by_no["3"]["indicator"] == "17"
    assert data["duplicates"] == {"17": ["第2行（序号 1）", "第4行（序号 3）"]}
    assert data["unknown_units"] == {"高青县不存在局": ["第2行（序号 1）"]}
    assert len(data["uncovered"]) == 42
    text = out.read_text(encoding="utf-8")
    assert '"17": ["县市场监管局", "县市场监督管理局"]' in text and "高青县不存在局" not in text.split("# 未识别")[0]
    assert main(["kb", "check"]) == 0
    capsys.readouterr()


def broken_docx(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<not-xml")
    return path


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("表.xlsx", lambda p: p.write_text("不是表格", encoding="utf-8"), "表.xlsx：不是有效的 Excel（.xlsx） 文件"),
        ("表.docx", broken_docx, "表.docx：文件无法打开"),
        ("表.csv", lambda p: p.write_bytes(b""), "表.csv：文件是空的"),
        ("表.csv", lambda p: p.write_bytes(b"\xff\xfe\x00\x00\x00"), "表.csv：无法识别文件编码"),
        ("表.csv", lambda p: p.write_text("甲,乙\n1,2\n", encoding="utf-8"), "表.csv：没有找到任务分解表的表头"),
        ("表.csv", lambda p: p.write_text("序号,工作任务,牵头单位\n", encoding="utf-8"), "表.csv：表头下面没有任务行"),
        ("表.txt", lambda p: p.write_text("序号,任务", encoding="utf-8"), "表.txt：不支持的文件类型“.txt”"),
        ("没有.csv", lambda p: None, "没有.csv：文件不存在"),
    ],
)
def test_bad_files_give_one_chinese_line_and_exit_2(
    tmp_path: Path, plans: Path, capsys: pytest.CaptureFixture[str], name: str, make: object, message: str
) -> None:
    path = tmp_path / name
    make(path)  # type: ignore[operator]
    assert main(["plan", "import", str(path), "-f", "shandong", "-c", "高青县", "-o", str(tmp_path / "o.yaml")]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().startswith(message) and len(captured.err.strip().splitlines()) == 1
    assert captured.out == "" and not (tmp_path / "o.yaml").exists()


def test_the_plan_command_has_help_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan"]) == 2
    assert capsys.readouterr().out.startswith("用法：qcbot plan")


# --- 完成时限 → deadlines; a Henan (民权-style) table ---------------------------------------------


@pytest.mark.parametrize(
    ("cell", "day"),
    [
        ("2022年12月底前", "2022-12-31"), ("2022年7月26日前", "2022-07-26"), ("2022.6", "2022-06-30"),
        ("2022年上半年", "2022-06-30"), ("2022年底", "2022-12-31"), ("2022年6月至12月", "2022-12-31"),
        ("2022年2月30日", None), ("长期坚持", None), ("12月底前", None), ("每年9月", None), ("", None),
    ],
)
def test_a_deadline_cell_names_a_day_only_when_it_gives_one(cell: str, day: str | None) -> None:
    from knowledge.plan_import.timing import due_day

    found = due_day(cell)
    assert (found.isoformat() if found else None) == day


def test_the_deadline_column_becomes_the_plans_deadlines(tmp_path: Path, librarian: Librarian) -> None:
    from knowledge.deadlines import plan_deadlines, rolled
    from knowledge.responsibility import Responsibility

    result = import_table(plan_tables.write_xlsx(tmp_path / "t.xlsx"), librarian.library, "shandong", "临淄区", "linzi_import")
    kb = load_knowledge()
    plan = parse_plan_text(plan_yaml(result), kb)
    by_day = {d.date.isoformat(): d for d in plan.deadlines}
    assert set(by_day) == {"2022-12-31", "2023-06-30"}  # 长期坚持 names no day
    rows = plan_tables.county_rows()
    due = [r for r in rows if r.deadline == "2023年6月底前"]
    assert by_day["2023-06-30"].text.startswith(f"任务分解表中完成时限为2023年6月底前的{len(due)}行任务（指标第")
    statistics = next(r for r in due if r.lead == "区统计局" or "区统计局" in r.support)
    assert "统计局" in (by_day["2023-06-30"].departments or ())
    assert str(statistics.indicator) in by_day["2023-06-30"].text
    data = report(result)
    assert data["undated"] == {"长期坚持": data["undated"]["长期坚持"]} and len(data["undated"]["长期坚持"]) == len([r for r in rows if r.deadline == "长期坚持"])
    assert "# 完成时限没有具体日期的行" in plan_yaml(result)
    days = [d.date.isoformat() for d in rolled(plan_deadlines(plan, Responsibility(kb, plan)), 2026)]
    assert days == ["2025-12-31", "2026-06-30"]  # rolled to the campaign year like any plan's dates


def parse_plan_text(text: str, kb: KnowledgeBase) -> Plan:
    import yaml

    from knowledge.loader import parse_plan

    return parse_plan("imported.yaml", yaml.safe_load(text), kb.frameworks)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_henan_county_table_is_placed_line_by_line(tmp_path: Path, librarian: Librarian, fmt: str) -> None:
    rows = plan_tables.henan_rows()
    path = plan_tables.HENAN_WRITERS[fmt](tmp_path / f"宁陵任务表.{fmt}")
    result = import_table(path, librarian.library, "henan", plan_tables.HENAN_COUNTY)
    expected = plan_tables.henan_expected(rows)
    got = {r.row.line: (r.placement.indicator.id if r.placement.indicator else None) for r in result.rows}
    assert len(result.rows) == len(rows) and result.plan_id == "ningling"
    assert sum(got[line] == want for line, want in expected.items()) >= 0.95 * len(rows)
    assert result.uncovered == [] and result.unknown_units == {}
    assert result.duplicates == {}  # the lines of one merged 指标内容 are one task, not a duplicate
    assert not next(r for r in result.rows if r.row.title == plan_tables.HENAN_EXTRA).written


def test_the_imported_henan_plan_passes_kb_check_and_answers(
    tmp_path: Path, plans: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = plan_tables.write_henan_xlsx(tmp_path / "宁陵任务表.xlsx")
    out = plans / "ningling.yaml"
    assert main(["plan", "import", str(table), "-f", "henan", "-c", "宁陵县", "-o", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["framework"] == "henan" and data["placed"] == len(plan_tables.henan_rows()) - 1
    assert [d["date"] for d in data["deadlines"]] == ["2021-12-31", "2022-06-30"]
    assert main(["kb", "check"]) == 0
    capsys.readouterr()
    assert main(["ask", "--plan", "ningling", "--json", "质量月活动谁负责"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["hits"][0]["id"] == "6" and "宁陵" in answer["answer"]
    plan = load_knowledge(plans_dir=plans).plan("ningling")
    assert plan.framework == "henan" and not plan.responsible_from_framework
    assert plan.responsible["3"] == ("财政局", "市场监管局")

"""`qcbot score`: templates, round trips to full marks, vetoes, invalid files, departments, JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from knowledge.model import KnowledgeBase
from knowledge.responsibility import Responsibility
from knowledge.rules import Fact, Value
from scoring.engine import framework_facts
from scoring.samples import best_answers

ENTRY = re.compile(r'^("?)(?P<key>[^"#:\s][^"#:]*)\1: $')


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["score", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def write_template(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, *target: str, name: str = "t.yaml"
) -> Path:
    path = tmp_path / name
    code, out, _ = run(capsys, *target, "--template", "-o", str(path))
    assert code == 0 and str(path) in out
    return path


def keys_of(template: Path) -> list[str]:
    lines = template.read_text(encoding="utf-8").splitlines()
    return [m["key"] for line in lines if (m := ENTRY.match(line))]


def as_text(fact: Fact, value: Value) -> str:
    """A value as a liaison would type it into the file."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if fact.type == "percent":
        return f"{value:g}{fact.shown_unit}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def fill(template: Path, values: dict[str, Any], facts: dict[str, Fact], out: Path) -> Path:
    """The template with `key: value` written after each key that has a value."""
    lines = []
    for line in template.read_text(encoding="utf-8").splitlines():
        match = ENTRY.match(line)
        if match and values.get(match["key"]) is not None:
            line += as_text(facts[match["key"]], values[match["key"]])
        lines.append(line)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def best_file(
    kb: KnowledgeBase,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    target: tuple[str, str],
    **changes: Value,
) -> Path:
    flag, name = target
    plan = kb.plan(name) if flag == "--plan" else None
    fw = kb.framework(plan.framework if plan else name)
    template = write_template(capsys, tmp_path, *target)
    values = {**best_answers(fw, plan=plan), **changes}
    return fill(template, values, framework_facts(fw), tmp_path / "filled.yaml")


def score_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


# --- the template -----------------------------------------------------------------------------


def test_template_has_every_fact_with_its_comments(
    kb: KnowledgeBase, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    template = write_template(capsys, tmp_path, "--plan", "pingyin")
    fw = kb.framework("shandong")
    asked = [f.id for ind in fw.indicators.values() for f in ind.facts if not f.is_derived]
    assert keys_of(template) == asked  # derived values are computed, not filled in
    text = template.read_text(encoding="utf-8")
    assert "# ════ 指标 17 强检与能源计量审查（3分） · 质量发展基础 › 计量" in text
    block = text[text.index("指标 17 ") : text.index("i17_a_coverage: ")]
    assert "# 责任单位：县市场监管局" in block
    assert "# 问：A类强制检定项目覆盖率是否达到90%。" in block
    assert "# 类型：百分数 · 单位：% · 范围：0–100" in block
    event = text[text.index("指标 5 ") : text.index("i5_event: ")]
    assert "类型：单选" in event and "#   1. 国家级\n#   2. 省级\n#   3. 无" in event
    assert "类型：整数 · 单位：次 · 范围：≥0" in text


def test_template_without_output_prints_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--framework", "hunan", "--template")
    assert code == 0 and out.startswith("# 质量强县自评答案")
    assert "\ni0_major_quality_accident: \n" in out and "--framework hunan" in out


def test_checklist_template_has_one_entry_per_task(
    kb: KnowledgeBase, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    template = write_template(capsys, tmp_path, "--plan", "minquan")
    keys = keys_of(template)
    assert keys[:4] == ["1.1", "1.2", "1.3", "1.4"]
    text = template.read_text(encoding="utf-8")
    assert '\n"1.1": \n' in text
    first = kb.framework("henan").indicators["1"].lines[0].tasks[0]
    assert f"# 任务：{first}" in text
    assert {"i21_instruction", "i21_party_school"} <= set(keys)
    jinan = keys_of(write_template(capsys, tmp_path, "--plan", "jinan", name="j.yaml"))
    assert jinan[:3] == ["1", "2", "3"] and len(jinan) == len(kb.framework("jinan").indicators)


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "total"),
    [(("--plan", "pingyin"), 100), (("--plan", "linzi"), 100), (("--framework", "hunan"), 1060)],
)
def test_best_answers_round_trip_to_full_marks(
    kb: KnowledgeBase,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    target: tuple[str, str],
    total: float,
) -> None:
    filled = best_file(kb, capsys, tmp_path, target)
    data = score_json(capsys, *target, "--answers", str(filled))
    assert (data["total"], data["max"]) == (total, total)
    assert not data["disqualified"] and not data["gaps"] and not data["missing"]
    code, out, _ = run(capsys, *target, "--answers", str(filled))
    assert code == 0
    assert f"总分：{total} / {total}分" in out
    assert "未触发" in out and "失分清单" not in out


def test_hunan_pass_line_and_subtotals(
    kb: KnowledgeBase, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    filled = best_file(kb, capsys, tmp_path, ("--framework", "hunan"))
    code, out, _ = run(capsys, "--framework", "hunan", "--answers", str(filled))
    assert code == 0
    assert "合格线：800分，达到" in out and "不予受理条件：未触发" in out
    assert "  质量发展战略规划 80/80" in out
    empty = write_template(capsys, tmp_path, "--framework", "hunan", name="e.yaml")
    code, out, _ = run(capsys, "--framework", "hunan", "--answers", str(empty))
    assert code == 0 and "总分：0 / 1060分" in out and "合格线：800分，未达到" in out
    assert "不予受理条件：未填报" in out and "未填报：" in out


def test_pingyin_subtotals_estimates_and_gaps(
    kb: KnowledgeBase, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    filled = best_file(
        kb, capsys, tmp_path, ("--plan", "pingyin"), i17_a_coverage=95, i3_publicity=False
    )
    data = score_json(capsys, "--plan", "pingyin", "--answers", str(filled))
    assert data["total"] < 100
    assert [(s["level1"], s["level2"]) for s in data["subtotals"][:3]] == [
        ("质量发展理念", None),
        ("质量发展理念", "质量理念"),
        ("质量发展理念", "质量文化"),
    ]
    gaps = data["gaps"]
    assert [g["points"] for g in gaps] == sorted((g["points"] for g in gaps), reverse=True)
    assert {g["indicator"] for g in gaps} == {"3", "17"}
    by_id = {g["indicator"]: g for g in gaps}
    assert by_id["3"]["departments"] == ["市场监管局"] and by_id["17"]["estimated"]
    code, out, _ = run(capsys, "--plan", "pingyin", "--answers", str(filled))
    assert code == 0
    assert re.search(r"^  17 强检与能源计量审查 [\d.]+/3 估算：", out, re.M)
    assert "失分清单（按可挽回分值排序，共 2 项" in out
    assert re.search(r"^  1\. 3 质量文化活动·.*可再得1分〔市场监管局〕$", out, re.M)
    assert "（估算）〔市场监管局〕" in out


# --- vetoes -----------------------------------------------------------------------------------


def test_veto_disqualifies(
    kb: KnowledgeBase, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    filled = best_file(kb, capsys, tmp_path, ("--plan", "pingyin"), i0_safety_accident=True)
    data = score_json(capsys, "--plan", "pingyin", "--answers", str(filled))
    assert data["disqualified"] and data["total"] == 100 and data["passed"] is None
    assert "取消申报资格" in data["status"]
    code, out, _ = run(capsys, "--plan", "pingyin", "--answers", str(filled))
    assert code == 0 and "一票否决项：已触发——" in out and "取消申报资格" in out


def test_rejection_fails_hunan(
    kb: KnowledgeBase, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    filled = best_file(kb, capsys, tmp_path, ("--framework", "hunan"), i0_mass_incident=True)
    data = score_json(capsys, "--framework", "hunan", "--answers", str(filled))
    assert data["disqualified"] and data["passed"] is False
    code, out, _ = run(capsys, "--framework", "hunan", "--answers", str(filled))
    assert "不予受理条件：已触发——不予受理" in out and "合格线：800分，未达到" not in out
    assert "合格线：800分（不予受理，得分不参与评定）" in out


# --- invalid files ----------------------------------------------------------------------------


def test_every_problem_is_listed_and_nothing_is_scored(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "i17_a_coverage: abc\n"
        "i17_energy_review: 120\n"
        "i4_award_national: 2.5\n"
        "i5_event: 市级\n"
        "i1_slogann: 是\n"
        "i3_activities: 是\n"
        "i3_activities: 否\n"
        "i6_meeting: [1, 2]\n"
        "i2_model:\n"
        "i1_slogan: 是\n",
        encoding="utf-8",
    )
    code, out, err = run(capsys, "--plan", "pingyin", "--answers", str(path))
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0] == f"答案文件 {path} 有 7 处问题，未打分："
    assert lines[1:] == [
        '  i17_a_coverage: "abc" — 应为0–100之间的百分数',
        '  i17_energy_review: "120" — 应为0–100之间的百分数',
        '  i4_award_national: "2.5" — 应为不小于0的整数（单位：次）',
        '  i5_event: "市级" — 应为以下选项之一（可填序号）：1.国家级 2.省级 3.无',
        '  i1_slogann: "是" — 不是本体系的事实编号（是否为 i1_slogan？）',
        "  i3_activities — 第7行重复填写（第6行已填）",
        "  i6_meeting — 第8行：应为一个值，不能是列表或映射",
    ]
    code, out, _ = run(capsys, "--plan", "pingyin", "--answers", str(path), "--json")
    problems = json.loads(out)["problems"]
    assert code == 2 and problems[0] == {
        "fact": "i17_a_coverage",
        "value": "abc",
        "expected": "应为0–100之间的百分数",
    }


def test_empty_values_are_unanswered(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text('i1_slogan: 是\ni2_model: ""\ni3_activities: ~\n"i3_publicity":\n', "utf-8")
    data = score_json(capsys, "--plan", "pingyin", "--answers", str(path))
    assert data["total"] == 2
    assert {"i2_model", "i3_activities", "i3_publicity"} <= set(data["missing"])


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("i1_slogan: 是\n  i2_model: 是\n", "第2行第11列"),
        ("i1_slogan: 是\n\ti2_model: 是\n", "不能用 Tab 缩进"),
        ("- i1_slogan\n", "第1行：应为“事实编号: 答案”"),
        ('i1_slogan: "是\n', "引号或括号没有闭合"),
    ],
)
def test_invalid_yaml_is_one_line_naming_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(content, encoding="utf-8")
    code, out, err = run(capsys, "--plan", "pingyin", "--answers", str(path))
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and str(path) in err and expected in err


def test_unreadable_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "--plan", "pingyin", "--answers", str(tmp_path / "none.yaml"))
    assert code == 2 and err.strip() == f"无法读取答案文件 {tmp_path / 'none.yaml'}：文件不存在"
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    code, _, err = run(capsys, "--plan", "pingyin", "--answers", str(binary))
    assert code == 2 and "不是 UTF-8" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--plan", "nowhere", "--template"], "未知的方案：nowhere"),
        (["--framework", "mars", "--template"], "未知的评价体系：mars"),
        (["--template"], "请用 --plan 指定方案"),
        (["--plan", "pingyin"], "请指定 --template"),
        (["--plan", "pingyin", "--framework", "hunan", "--template"], "不是 hunan"),
        (["--plan", "pingyin", "--template", "-d", "外交部"], "未知的部门：外交部"),
        (["--plan", "pingyin", "--template", "-d", "体育局"], "没有负责的指标"),
        (["--plan", "jinan", "--answers", "x.yaml", "--today", "2020-13-01"], "--today 应为"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err


# --- departments ------------------------------------------------------------------------------


def test_department_template_and_score(
    kb: KnowledgeBase, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = kb.plan("pingyin")
    mine = [ind.id for ind in Responsibility(kb, plan).indicators_of("财政局")]
    path = tmp_path / "fin.yaml"
    code, out, _ = run(
        capsys, "--plan", "pingyin", "--template", "--department", "县财政局", "-o", str(path)
    )
    assert code == 0
    fw = kb.framework("shandong")
    expected = [f.id for i in mine for f in fw.indicators[i].facts if not f.is_derived]
    assert keys_of(path) == expected
    assert "--department 财政局 --answers" in path.read_text(encoding="utf-8")
    values = {**best_answers(fw, plan=plan), "i9_fund_ip": False}
    filled = fill(path, values, framework_facts(fw), tmp_path / "fin_filled.yaml")
    data = score_json(capsys, "--plan", "pingyin", "--answers", str(filled), "-d", "财政局")
    assert [s["indicator"] for s in data["indicators"]] == mine
    share = data["department"]
    assert share["department"] == "财政局" and share["indicators"] == mine
    assert share["max"] == sum(fw.indicators[i].points for i in mine)
    assert share["score"] < share["max"] and share["share"] == round(share["max"] / 100, 4)
    assert all("财政局" in g["departments"] for g in data["gaps"])
    code, out, _ = run(capsys, "--plan", "pingyin", "--answers", str(filled), "-d", "财政局")
    assert f"部门：财政局，负责 {len(mine)} 项指标" in out and "部门合计：" in out


def test_department_matches_exactly(
    kb: KnowledgeBase, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """统计局 is the county bureau, not 省统计局 named for the veto item."""
    plan = kb.plan("pingyin")
    mine = [ind.id for ind in Responsibility(kb, plan).indicators_of("统计局")]
    assert "0" not in mine
    filled = best_file(kb, capsys, tmp_path, ("--plan", "pingyin"))
    data = score_json(capsys, "--plan", "pingyin", "--answers", str(filled), "-d", "统计局")
    assert [s["indicator"] for s in data["indicators"]] == mine


# --- JSON -------------------------------------------------------------------------------------


def test_json_shape(kb: KnowledgeBase, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    filled = best_file(kb, capsys, tmp_path, ("--plan", "linzi"), i17_a_coverage=92)
    data = score_json(capsys, "--plan", "linzi", "--answers", str(filled))
    top = {
        "framework", "total", "max", "indicators", "subtotals", "bonus", "pass_line", "passed",
        "disqualified", "vetoes", "gaps", "missing", "estimated", "department", "checklist",
        "status", "bounds",
    }  # fmt: skip
    assert set(data) == top
    assert set(data["indicators"][1]) == {
        "framework", "indicator", "title", "kind", "level1", "level2", "score", "max", "parts",
        "cap_reason", "estimated", "missing", "vetoed", "na", "note", "reason",
    }  # fmt: skip
    assert set(data["subtotals"][0]) == {"level1", "level2", "score", "max"}
    assert set(data["gaps"][0]) == {
        "framework", "indicator", "title", "part", "label", "points", "action", "departments",
        "estimated",
    }  # fmt: skip
    assert data["framework"] == "shandong" and data["department"] is None
    jinan = best_file(kb, capsys, tmp_path, ("--plan", "jinan"), **{"1": False})
    checklist = score_json(capsys, "--plan", "jinan", "--answers", str(jinan), "-d", "市场监管局")
    with pytest.raises(SystemExit):
        main(["score", "--help"])
    epilog = capsys.readouterr().out
    for key in all_keys(data) | all_keys(checklist):
        assert re.search(rf"\b{key}\b", epilog), f"--help does not document {key}"


def all_keys(data: object) -> set[str]:
    """Every mapping key in a JSON document."""
    if isinstance(data, dict):
        return set(data) | {k for v in data.values() for k in all_keys(v)}
    if isinstance(data, list):
        return {k for v in data for k in all_keys(v)}
    return set()


# --- checklists -------------------------------------------------------------------------------


def test_jinan_overdue_tasks_with_today(
    kb: KnowledgeBase, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    changes: dict[str, Value] = {"1": False, "2": False}
    filled = best_file(kb, capsys, tmp_path, ("--plan", "jinan"), **changes)
    with filled.open("a", encoding="utf-8") as handle:
        handle.write('"6.date": 2020-03-01\n')
    argv = ("--plan", "jinan", "--answers", str(filled))
    data = score_json(capsys, *argv, "--today", "2020-01-15")
    report = data["checklist"]
    assert [e["key"] for e in report["overdue"]] == ["1", "2"]
    assert report["overdue"][0]["deadline"] == "2019-12-31"
    assert (report["done"], report["total"]) == (130, 132)
    code, out, _ = run(capsys, *argv, "--today", "2020-01-15")
    assert code == 0
    assert "任务完成：130/132（98.5%），未完成 2 项，逾期 2 项" in out
    assert "逾期任务（截至 2020-01-15，共 2 项）：" in out
    assert re.search(r"^  1 限2019-12-31：1\.结合本市实际情况.*〔市质量强市及品牌办", out, re.M)
    assert "逾期完成：6（2020-03-01）" in out
    early = score_json(capsys, *argv, "--today", "2019-06-01")
    assert early["checklist"]["overdue"] == []


def test_minquan_completion_bonus_and_department(
    kb: KnowledgeBase, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    changes: dict[str, Value] = {"1.2": False, "i21_media": "无"}
    filled = best_file(kb, capsys, tmp_path, ("--plan", "minquan"), **changes)
    argv = ("--plan", "minquan", "--answers", str(filled), "--today", "2021-01-01")
    data = score_json(capsys, *argv)
    report = data["checklist"]
    assert report["done"] == report["total"] - 1 and data["bonus"] == 6
    code, out, _ = run(capsys, *argv)
    assert "加分：6 / 8分" in out and "  1 质量发展战略规划 完成3/4" in out
    dept = score_json(capsys, *argv, "--department", "市场监管局")
    mine = Responsibility(kb, kb.plan("minquan")).indicators_of("市场监管局")
    checklist_ids = [i.id for i in mine if i.kind != "bonus"]
    assert [item["indicator"] for item in dept["checklist"]["items"]] == checklist_ids
    code, out, _ = run(capsys, *argv, "--department", "市场监管局")
    assert f"部门：市场监督管理局，负责 {len(checklist_ids)} 个条目" in out

"""The office's 功效系数法 bounds: /bounds in chat, the bounds table, --bounds FILE, official vs 估算."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.app import App
from bot.cli import main
from bot.storage import Storage
from handlers.county import county_view
from handlers.store import Actor
from knowledge.bounds import EfficacyMeasure, bounds_problem, efficacy_measures
from knowledge.errors import KnowledgeError
from knowledge.loader import parse_framework, parse_plan, read_yaml
from knowledge.model import KnowledgeBase
from knowledge.qa import Librarian
from knowledge.rules import Bounds
from scoring.bounds import BoundsFileError, read_bounds_file
from scoring.engine import score_framework
from scoring.report import bounds_lines, indicator_lines
from tests.messages import Person
from tests.reminder_helpers import ADMIN, Clock, at, open_app

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "knowledge" / "data" / "plans"


@pytest.fixture
async def app(tmp_path: Path, kb: KnowledgeBase, librarian: Librarian) -> AsyncIterator[App]:
    application, _ = await open_app(
        tmp_path / "db" / "qcbot.db", kb, librarian, Clock(at("2026-12-01 10:00"))
    )
    yield application
    await application.close()


def measures_of(kb: KnowledgeBase) -> dict[str, EfficacyMeasure]:
    return {m.key: m for m in efficacy_measures(kb.framework("shandong"))}


# --- which bounds a measure can take ------------------------------------------------------------


def test_change_and_growth_measures_may_be_negative(kb: KnowledgeBase) -> None:
    by_key = measures_of(kb)
    signed = {key for key, m in by_key.items() if m.signed}
    assert {"10.a.2", "19.a.2", "20.a.2", "37.a", "38.a"} <= signed
    assert not signed & {"10.a.1", "17.b", "19.a.1", "28.a", "42.a"}
    assert bounds_problem(by_key["10.a.2"], 0.2, -0.1) is None
    share = bounds_problem(by_key["10.a.1"], 1.5, -0.5)
    assert share is not None and "第10项经费占比不会小于0，不允许值不能为负数" in share
    assert (
        bounds_problem(by_key["17.b"], 120, 90)
        == "第17项A类强制检定项目覆盖率最高为100%，满意值不能更高"
    )
    assert "不能相同" in (bounds_problem(by_key["10.a.2"], 0.1, 0.1) or "")
    assert "越高越好" in (bounds_problem(by_key["28.a"], 1, 5) or "")


def test_lower_is_better_explains_the_direction(kb: KnowledgeBase) -> None:
    lower = replace(measures_of(kb)["37.a"], direction="lower", label="单位能耗")
    problem = bounds_problem(lower, 5, 1)
    assert problem is not None and "越低越好：满意值应低于不允许值" in problem
    assert "满意 1% 不允许 5%" in problem
    assert bounds_problem(lower, 1, 5) is None


def plan_data(**efficacy: Any) -> Any:
    data: Any = read_yaml(PLANS / "pingyin.yaml")
    data["editorial"]["efficacy"] = efficacy
    return data


def test_plan_files_take_negative_bounds_only_for_changes(kb: KnowledgeBase) -> None:
    plan = parse_plan(
        "pingyin.yaml", plan_data(**{"10.a.2": {"satisfied": 0.2, "allowed": -0.1}}), kb.frameworks
    )
    assert plan.efficacy == {"10.a.2": {"satisfied": 0.2, "allowed": -0.1}}
    with pytest.raises(KnowledgeError) as info:
        parse_plan(
            "pingyin.yaml", plan_data(**{"10.a.1": {"satisfied": 1, "allowed": -1}}), kb.frameworks
        )
    assert str(info.value).startswith(
        "pingyin.yaml: editorial.efficacy.10.a.1: 第10项经费占比不会小于0"
    )
    with pytest.raises(KnowledgeError) as info:
        parse_plan(
            "pingyin.yaml", plan_data(**{"10.a": {"satisfied": 1, "allowed": 0}}), kb.frameworks
        )
    assert "没有这个功效系数测度（可用：10.a.1、10.a.2" in str(info.value)


def test_rule_files_take_negative_bounds_only_for_changes() -> None:
    data: Any = read_yaml(ROOT / "knowledge" / "data" / "frameworks" / "shandong.yaml")
    index, ten = next((i, d) for i, d in enumerate(data["indicators"]) if d["id"] == "10")
    terms = ten["rule"]["parts"][0]["terms"]
    terms[1]["bounds"] = {"satisfied": 0.1, "allowed": -0.2}  # a change: fine
    assert parse_framework("shandong.yaml", data).indicators["10"].rule is not None
    terms[0]["bounds"] = {"satisfied": 1, "allowed": -0.5}  # a share: not below 0
    with pytest.raises(KnowledgeError) as info:
        parse_framework("shandong.yaml", data)
    assert str(info.value).startswith(
        f"shandong.yaml: indicators[{index}].rule: 10.a.1 的 bounds：第10项经费占比不会小于0"
    )


# --- results say which bounds are official ------------------------------------------------------


def test_results_say_which_bounds_are_official(kb: KnowledgeBase) -> None:
    fw = kb.framework("shandong")
    office = {
        "17.b": Bounds(100, 80, official=True, set_by="张三", set_at="2026-12-01T02:00:00+00:00")
    }
    result = score_framework(fw, {"i17_a_coverage": 90, "i17_energy_review": 95}, bounds=office)
    ind = next(s for s in result.indicators if s.indicator == "17")
    b, c = ind.parts[1], ind.parts[2]
    assert b.score == 0.8 and "（官方界值：x满意=100、x不允许=80）" in b.reason and not b.estimated
    assert c.estimated and "估算：" in c.reason
    rows = {row.key: row for row in result.bounds}
    assert rows["17.b"].official and rows["17.b"].set_by == "张三"
    assert not rows["17.c"].official and rows["17.c"].stated
    assert len(rows) == len(efficacy_measures(fw))
    text = "\n".join(bounds_lines(result))
    assert "17.b A类强制检定项目覆盖率 x满意=100%、x不允许=80% 官方（张三 2026-12-01设定）" in text
    assert "17.c 能源计量审查覆盖率 x满意=100%、x不允许=90% 估算（评价标准给出）" in text
    assert "注：17.b按质量强县办设定的官方界值计算。" in indicator_lines(result)
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert data["bounds"][2]["key"] == "17.b" and data["bounds"][2]["official"] is True
    assert {"framework", "total", "gaps", "estimated", "status"} <= set(data)


# --- the store ----------------------------------------------------------------------------------


async def test_the_bounds_table_keeps_who_and_when(tmp_path: Path) -> None:
    times = iter([at("2026-12-01 10:00"), at("2026-12-02 11:00")])
    storage = await Storage.open(tmp_path / "q.db", clock=lambda: next(times))
    try:
        who = Actor("console", "boss", "王五")
        await storage.set_bounds("pingyin", "10.a.2", 0.2, -0.1, who)
        await storage.set_bounds("pingyin", "10.a.2", 0.3, -0.2, who)  # replaces
        rows = await storage.bounds("pingyin")
        assert [(r.measure, r.satisfied, r.allowed, r.set_by) for r in rows] == [
            ("10.a.2", 0.3, -0.2, "王五")
        ]
        assert rows[0].set_at.startswith("2026-12-02T11:00")
        assert await storage.bounds("linzi") == []
        assert await storage.clear_bounds("pingyin", ["10.a.2", "17.b"]) == ["10.a.2"]
        assert await storage.bounds("pingyin") == []
    finally:
        await storage.close()


# --- /bounds in chat ----------------------------------------------------------------------------


async def test_bounds_lists_sets_asks_and_clears(app: App) -> None:
    boss = Person(app.handler, user=ADMIN, name="王五")
    listing = await boss.say("/bounds")
    assert (
        "· 10.a.2 第10项占比变动幅度：满意值0.1个百分点、不允许值0个百分点（估算，可为负）" in listing
    )
    assert (
        "· 17.b 第17项A类强制检定项目覆盖率：满意值100%、不允许值90%（估算，评价标准已给出）"
        in listing
    )
    assert "官方0项、估算20项" in listing

    asked = await boss.say("/bounds 第10项 满意 1.5 不允许 -0.5")
    assert "第10项有2个测度，要设定哪一个？" in asked
    assert "10.a.1 经费占比（不能用这组值：第10项经费占比不会小于0" in asked
    assert boss.labels == ["10.a.2 占比变动幅度"]
    assert await app.storage.bounds("pingyin") == []
    done = await boss.press("10.a.2 占比变动幅度")
    assert (
        "已设定第10项占比变动幅度（10.a.2）的官方界值：满意值1.5个百分点、不允许值-0.5个百分点" in done
    )
    assert "原为：满意值0.1个百分点、不允许值0个百分点（估算" in done

    assert "已设定第10项经费占比" in await boss.say(
        "/bounds 第十项 经费占比 满意值为1.2%，不允许值为0.1%"
    )
    listing = await boss.say("界值")
    assert re.search(
        r"10\.a\.1 第10项经费占比：满意值1\.2%、不允许值0\.1%（官方，王五 \d{4}-\d\d-\d\d \d\d:\d\d设定）",
        listing,
    )
    assert "官方2项、估算18项" in listing

    refused = await boss.say("/bounds 28 满意 5 不允许 5")
    assert "未保存：满意值和不允许值不能相同" in refused
    assert "请写明哪个是满意值、哪个是不允许值" in await boss.say("/bounds 第28项 5 1")
    assert "还缺不允许值" in await boss.say("/bounds 第28项 满意 5")
    assert "没有找到测度“99”" in await boss.say("/bounds 第99项 满意 5 不允许 1")

    cleared = await boss.say("/bounds 清除 第10项")
    assert (
        "已清除官方界值，恢复为估算：" in cleared
        and "第10项经费占比：满意值1%、不允许值0%" in cleared
    )
    assert await app.storage.bounds("pingyin") == []
    assert "没有设定官方界值" in await boss.say("/bounds 第10项 清除")


async def test_a_liaison_cannot_set_bounds(app: App) -> None:
    zhang = Person(app.handler, user="u1", name="张三")
    reply = await zhang.say("/bounds 第28项 满意 20 不允许 1")
    assert "质量强县办（管理员）专用" in reply
    assert await app.storage.bounds("pingyin") == []


async def test_scores_use_the_stored_bounds(app: App) -> None:
    boss = Person(app.handler, user=ADMIN, name="王五")
    liaison = Person(app.handler, user="u3", name="赵六")
    assert "已绑定" in await liaison.say("/bind 市场监管局")
    await app.storage.save_answers(
        "pingyin", "市场监管局", {"i17_a_coverage": 90.0}, Actor("console", "u3", "赵六")
    )
    before = await liaison.say("/myscore")
    assert "17.b" not in before
    assert "已设定" in await boss.say("/bounds 17.b 满意 100 不允许 80")
    card = await liaison.say("/myscore")
    assert "注：17.b按质量强县办设定的官方界值计算。" in card
    view = await county_view(app.handler.services)
    part = next(s for s in view.assessment.indicators if s.indicator == "17").parts[1]
    assert part.score == 0.8 and "官方界值" in part.reason
    assert any(b.key == "17.b" and b.official for b in view.assessment.bounds)
    official = len(view.assessment.bounds) - 1
    for command in ("/progress", "/gaps"):  # the office's views say what the estimate rests on
        assert f"功效系数法界值：官方1项、估算{official}项" in await boss.say(command)


# --- qcbot score --bounds FILE ------------------------------------------------------------------


def test_bounds_file_yaml_and_csv(kb: KnowledgeBase, tmp_path: Path) -> None:
    fw = kb.framework("shandong")
    listed = tmp_path / "b.yaml"
    listed.write_text(
        "- {measure: 10.a.2, satisfied: 0.2, disallowed: -0.1}\n- measure: 第28项\n"
        "  满意值: 12\n  不允许值: 2\n",
        encoding="utf-8",
    )
    assert {
        k: (b.satisfied, b.allowed, b.official) for k, b in read_bounds_file(listed, fw).items()
    } == {"10.a.2": (0.2, -0.1, True), "28.a": (12.0, 2.0, True)}
    mapped = tmp_path / "m.yml"
    mapped.write_text("17.b: {satisfied: 100%, allowed: 80}\n", encoding="utf-8")
    assert read_bounds_file(mapped, fw)["17.b"].allowed == 80
    gbk = tmp_path / "b.csv"
    gbk.write_bytes("测度,满意值,不允许值\n19.a.2,30,-10\n".encode("gbk"))
    assert read_bounds_file(gbk, fw)["19.a.2"].allowed == -10


def test_bounds_file_errors_name_file_and_line(kb: KnowledgeBase, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "measure,satisfied,disallowed\n10.a.2,0.2,-0.1\n10,1,0\n10.a.1,1,-1\n99,1,0\n28,x,0\n"
        "10.a.2,0.3,0\n17.b,90,90\n",
        encoding="utf-8",
    )
    with pytest.raises(BoundsFileError) as info:
        read_bounds_file(bad, kb.framework("shandong"))
    name = str(bad)
    assert info.value.problems == [
        f"{name}: 3: 第10项有2个测度：10.a.1 经费占比、10.a.2 占比变动幅度，请写到测度",
        f"{name}: 4: 第10项经费占比不会小于0，不允许值不能为负数（只有变动幅度、增长率这类可为负的量才能取负值）",
        f"{name}: 5: shandong 没有测度“99”（可用：" + "、".join(measures_of(kb)) + "）",
        f"{name}: 6: “x”不是数字（满意值、不允许值都应为数字，如 1.5、-0.5）",
        f"{name}: 7: 10.a.2 已在第2行设定",
        f"{name}: 8: 满意值和不允许值不能相同（两者之差是功效系数法的分母）",
    ]
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "- measure: 17.b\n  satisfied: 100\n- measure: 17.c\n  satisfied: [1\n", encoding="utf-8"
    )
    with pytest.raises(BoundsFileError) as info:
        read_bounds_file(broken, kb.framework("shandong"))
    assert info.value.problems[0].startswith(f"{broken}: ")
    missing = tmp_path / "missing.yaml"
    missing.write_text("- measure: 17.b\n  satisfied: 100\n", encoding="utf-8")
    with pytest.raises(BoundsFileError) as info:
        read_bounds_file(missing, kb.framework("shandong"))
    assert info.value.problems == [f"{missing}: 1: 缺少 disallowed（不允许值）"]


def test_cli_score_with_bounds(
    kb: KnowledgeBase, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    answers = tmp_path / "a.yaml"
    assert main(["score", "--plan", "pingyin", "--template", "-o", str(answers)]) == 0
    filled = yaml.safe_load(answers.read_text(encoding="utf-8"))
    filled["i17_a_coverage"] = 90
    answers.write_text(yaml.safe_dump(filled, allow_unicode=True), encoding="utf-8")
    bounds = tmp_path / "b.csv"
    bounds.write_text("17.b,100,80\n", encoding="utf-8")
    capsys.readouterr()
    assert (
        main(["score", "--plan", "pingyin", "--answers", str(answers), "--bounds", str(bounds)])
        == 0
    )
    out = capsys.readouterr().out
    assert "（官方界值：x满意=100、x不允许=80）" in out
    assert "17.b A类强制检定项目覆盖率 x满意=100%、x不允许=80% 官方（文件b.csv设定）" in out
    assert (
        main(
            [
                "score",
                "--plan",
                "pingyin",
                "--answers",
                str(answers),
                "--bounds",
                str(bounds),
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    official = [b for b in data["bounds"] if b["official"]]
    assert [(b["key"], b["satisfied"], b["allowed"]) for b in official] == [("17.b", 100, 80)]
    bounds.write_text("17.b,100,120\n", encoding="utf-8")
    assert (
        main(["score", "--plan", "pingyin", "--answers", str(answers), "--bounds", str(bounds)])
        == 2
    )
    _, err = capsys.readouterr()
    assert f"{bounds}: 1: 第17项A类强制检定项目覆盖率越高越好：满意值应高于不允许值" in err
    assert "Traceback" not in err

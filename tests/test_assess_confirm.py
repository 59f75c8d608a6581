"""What is stored is what the liaison meant: 不清楚 is not 否, 0.35 is asked, no future completion."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from bot.app import App, create_app
from bot.config import Config
from knowledge.model import KnowledgeBase
from knowledge.qa import Librarian
from tests.messages import Person
from tests.test_console import ROOT, _env

FUTURE = f"{date.today().year + 3}年1月"


def stored(app: App, department: str) -> dict[str, str]:
    db = app.handler.services.storage.path  # type: ignore[attr-defined]
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select fact_id, value from answers where department = ?", (department,))
        return dict(rows.fetchall())


def number_of(app: App, department: str, fact_type: str, unit: str | None = None) -> int:
    """The question number of the department's first fact of this type (and unit)."""
    for q in app.handler.services.questions(department):
        if q.fact.type == fact_type and (unit is None or q.fact.unit == unit):
            return q.number
    raise LookupError(fact_type)


def chat(tmp_path: Path, script: str, *extra: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--db", str(tmp_path / "c.db"), "--user", "王", *extra],
        cwd=ROOT, env=_env(tmp_path), input=script, capture_output=True, text=True,
        encoding="utf-8", timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture
async def jinan(tmp_path: Path, kb: KnowledgeBase, librarian: Librarian) -> AsyncIterator[App]:
    """The real app deployed for Jinan (a checklist of tasks)."""
    config = Config.from_mapping({"plan": "jinan", "db_path": str(tmp_path / "j" / "qcbot.db")})
    application = await create_app(config, kb=kb, librarian=librarian)
    yield application
    await application.close()


# --- 1. uncertain answers ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["不太清楚", "无法确定", "不好说", "不一定", "不记得了", "不晓得",
                                  "不是很清楚", "无从得知", "说不准", "待确认"])
async def test_uncertain_answers_are_asked_again_never_stored(app: App, text: str) -> None:
    person = Person(app.handler)
    await person.say("/bind 财政局")
    await person.say("自评")
    reply = await person.say(text)
    assert "已保存" not in reply and "不确定的答案不会保存" in reply and "第1/" in reply
    assert stored(app, "财政局") == {}
    assert "已跳过" in await person.press("跳过")
    assert stored(app, "财政局") == {}


def test_uncertain_through_qcbot_chat(tmp_path: Path) -> None:
    out = chat(tmp_path, "/bind 财政局\n自评\n不太清楚\n不是很清楚\n3\n是\n")
    assert out.count("不确定的答案不会保存") == 2 and "已保存：否" not in out
    assert "已跳过" in out and "已保存：是" in out
    with sqlite3.connect(tmp_path / "c.db") as conn:
        assert conn.execute("select count(*) from answers").fetchone() == (1,)


# --- 3. percent: ask 0.35% or 35% ---------------------------------------------------------------


async def test_a_bare_decimal_percent_is_confirmed_before_it_is_stored(app: App) -> None:
    person = Person(app.handler)
    await person.say("/bind 市场监管局")
    n = number_of(app, "市场监管局", "percent")
    await person.say(f"修改第{n}题")
    asked = await person.say("0.35")
    assert "您填的是0.35%还是35%？" in asked and stored(app, "市场监管局") == {}
    assert [c.label for r in person.last for c in r.choices] == ["0.35%", "35%"]
    assert "已保存：0.35%" in await person.press("0.35%")
    fact = app.handler.services.questions("市场监管局")[n - 1].fact.id
    assert stored(app, "市场监管局")[fact] == "0.35"
    await person.say(f"修改第{n}题")
    await person.say("0.35")
    assert "已保存：35%" in await person.say("2")  # a typed number picks the reading
    assert stored(app, "市场监管局")[fact] == "35.0"
    await person.say(f"修改第{n}题")
    await person.say("0.35")
    assert "已保存：0.4%" in await person.say("0.4%")  # or the liaison writes it again
    assert stored(app, "市场监管局")[fact] == "0.4"


async def test_percentage_points_where_the_question_is_a_change(app: App) -> None:
    """The change in percentage points is computed from the four raw figures (issue 13, item 2)."""
    person = Person(app.handler)
    await person.say("/bind 财政局")
    assert not any(q.fact.unit == "百分点" for q in app.handler.services.questions("财政局"))
    n = number_of(app, "财政局", "amount")  # i10_funds_cur, then spend, funds and spend of the year before
    for k, figure in enumerate(("350万元", "100000万元", "300", "10亿元")):
        await person.say(f"修改第{n + k}题")
        reply = await person.say(figure)
    assert "占比的变动幅度（评价当年度占比减去前一年度占比） 0.05个百分点 = 0.35% − 0.3%" in reply


def test_percent_through_qcbot_chat(tmp_path: Path, kb: KnowledgeBase) -> None:
    out = chat(tmp_path, "/bind 市场监管局\n修改第19题\n0.35\n1\n")
    assert "A类强制检定项目覆盖率" in out
    assert "您填的是0.35%还是35%？" in out and "[1] 0.35%  [2] 35%" in out
    assert "已保存：0.35%" in out
    with sqlite3.connect(tmp_path / "c.db") as conn:
        assert conn.execute("select value from answers").fetchall() == [("0.35",)]


# --- 5. Jinan: no future completion; 修改第N题 before starting --------------------------------


async def test_future_completion_date_is_refused_and_the_stored_date_shown(jinan: App) -> None:
    person = Person(jinan.handler)
    await person.say("/bind 市场监管局")
    total = len(jinan.handler.services.questions("市场监管局"))
    await person.say("修改第13题")
    refused = await person.say(FUTURE)
    assert "任务不能在将来完成" in refused and "已保存" not in refused
    assert stored(jinan, "市场监管局") == {}
    saved = await person.say("2025年3月")
    assert "已保存：是（完成日期：2025-03）" in saved
    assert "自评完成" not in saved and f"还有{total - 1}/{total}题未答" in saved
    assert "第1/" in await person.say("自评")


async def test_edit_in_the_middle_returns_to_where_the_liaison_was(jinan: App) -> None:
    person = Person(jinan.handler)
    await person.say("/bind 市场监管局")
    await person.say("自评")
    await person.say("是")
    await person.say("修改第13题")
    assert "第2/" in await person.say("否")


def test_jinan_through_qcbot_chat(tmp_path: Path) -> None:
    out = chat(tmp_path, f"/bind 市场监管局\n修改第13题\n{FUTURE}\n2025年3月\n", "--plan", "jinan")
    assert "任务不能在将来完成" in out and "已保存：是（完成日期：2025-03）" in out
    assert "自评完成" not in out and "题未答" in out

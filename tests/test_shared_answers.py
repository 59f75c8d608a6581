"""One county answer per shared indicator: 统计局 and 财政局 share indicator 28, through the chat.

张三 (统计局) answers; 李四 (财政局) is told who answered which of his questions, sees the answer
with its author, confirms it without retyping or changes it; the change is what 张三 sees, and
history, /progress and /export hold the one county answer.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from handlers.services import Services
from knowledge.model import KnowledgeBase
from knowledge.qa import Librarian
from scoring.answers import example
from scoring.questionnaire import Question
from tests.reminder_helpers import Clock, County, at, county, open_app

ZHANG_SAYS = {"i28_funds": "120万元", "i28_population": "五十万人"}
AUTHOR = re.compile(r"统计局 张三 已于\d{1,2}月\d{1,2}日填写：120万元")


@pytest.fixture
async def office(tmp_path: Path, kb: KnowledgeBase, librarian: Librarian) -> AsyncIterator[County]:
    clock = Clock(at("2026-12-01 10:00"))
    app, recorder = await open_app(tmp_path / "db" / "qcbot.db", kb, librarian, clock)
    yield await county(app, clock, recorder)
    await app.close()


def services(office: County) -> Services:
    return office.app.handler.services


def shared(office: County) -> list[Question]:
    """财政局's questions that 统计局 is asked too (indicator 28), in 财政局's numbering."""
    stats = {q.fact.id for q in services(office).questions("统计局")}
    return [q for q in services(office).questions("财政局") if q.fact.id in stats]


async def zhang_answers_all(office: County) -> None:
    reply = await office.zhang.say("自评")
    for question in services(office).questions("统计局"):
        reply = await office.zhang.say(ZHANG_SAYS.get(question.fact.id, example(question.fact)))
    assert "自评完成" in reply, reply


async def test_the_indicator_is_shared_by_both_departments(office: County) -> None:
    assert shared(office), "indicator 28 names 统计局 and 财政局"
    assert {q.indicator.id for q in shared(office)} == {"28"}


async def test_the_second_liaison_is_told_and_confirms_without_retyping(office: County) -> None:
    await zhang_answers_all(office)
    first, *_ = shared(office)
    numbers = [q.number for q in shared(office)]
    start = await office.li.say("自评")
    assert "开始自评（财政局）" in start and "统计局 张三 已填写第" in start, start
    assert all(str(n) in start.split("已填写第")[1] for n in numbers)
    shown = await office.li.say(f"修改第{first.number}题")
    assert AUTHOR.search(shown) and "回复“确认”沿用" in shown and "当前答案" not in shown, shown
    assert office.li.labels[:1] == ["确认"] and "修改" in office.li.labels
    assert "已确认：120万元（统计局 张三填写）" in await office.li.press("确认")
    [row] = [r for r in await office.app.storage.answer_rows("pingyin") if r.fact_id == first.fact.id]
    assert (row.department, row.user_name, row.value, row.confirmed) == ("统计局", "张三", 120.0, ("财政局",))
    assert [h.department for h in await office.app.storage.history("pingyin", fact_id=first.fact.id)] == ["统计局"]
    mine = await office.li.say("/myscore")
    theirs = await office.zhang.say("/myscore")
    line = next(x for x in theirs.splitlines() if x.startswith("· 28 "))
    assert line in mine  # the same indicator score for both departments
    assert re.search(rf"第{first.number}题 统计局 张三 已于\d+月\d+日填写：120万元（本部门已确认）", mine), mine
    again = await office.li.say(f"修改第{first.number}题")
    assert "（本部门已确认）" in again and "确认" not in office.li.labels


async def test_walking_the_questions_reaches_the_shared_ones_and_confirm_by_word(office: County) -> None:
    await zhang_answers_all(office)
    reply = await office.li.say("自评")
    for _ in range(len(services(office).questions("财政局"))):
        if AUTHOR.search(reply):
            break
        reply = await office.li.say("跳过")
    assert AUTHOR.search(reply), reply
    reply = await office.li.say("确认")
    assert reply.startswith("已确认：120万元"), reply
    rows = {r.fact_id: r for r in await office.app.storage.answer_rows("pingyin")}
    assert rows[shared(office)[0].fact.id].confirmed == ("财政局",)


async def test_typing_the_same_answer_agrees_and_keeps_the_author(office: County) -> None:
    await zhang_answers_all(office)
    first = shared(office)[0]
    await office.li.say(f"修改第{first.number}题")
    assert "与统计局 张三的答案一致，已确认" in await office.li.say("120万元")
    [row] = [r for r in await office.app.storage.answer_rows("pingyin") if r.fact_id == first.fact.id]
    assert (row.department, row.confirmed) == ("统计局", ("财政局",))


async def test_a_change_by_one_is_what_the_other_sees(office: County, tmp_path: Path) -> None:
    await zhang_answers_all(office)
    first = shared(office)[0]
    await office.li.say(f"修改第{first.number}题")
    changed = await office.li.say("100万元")
    assert "已保存：100万元（原为统计局 张三填写的120万元；各相关部门看到的都是新答案）" in changed, changed
    history = await office.app.storage.history("pingyin", fact_id=first.fact.id)
    assert [(h.department, h.user_name, h.old, h.new) for h in history] == [
        ("统计局", "张三", None, 120.0), ("财政局", "李四", 120.0, 100.0)]
    zhang_card = await office.zhang.say("/myscore")
    assert re.search(r"第1题 财政局 李四 已于\d+月\d+日填写：100万元", zhang_card), zhang_card
    shown = await office.zhang.say("修改第1题")
    assert "财政局 李四 已于" in shown and "填写：100万元" in shown and "确认" in office.zhang.labels
    # the county: one answer per fact, the same for both departments' progress and the export
    progress = await office.boss.say("/progress")
    assert "· 统计局：指标1项，已答1项；完成100%" in progress, progress
    finance = next(x for x in progress.splitlines() if x.startswith("· 财政局："))
    assert f"（{len(shared(office))}/{len(services(office).questions('财政局'))}题）" in finance
    await office.boss.say("/export")
    path = Path(office.boss.last[0].files[0].path)
    sheet = load_workbook(path, read_only=True)["申请表答案"]
    rows = [r for r in sheet.iter_rows(min_row=2, values_only=True) if r[3] == first.fact.question]
    assert [(r[0], r[4], r[5]) for r in rows] == [("财政局", "100万元", "李四")]


async def test_the_first_liaison_is_told_of_the_second_ones_answers(office: County) -> None:
    first = shared(office)[0]
    await office.li.say(f"修改第{first.number}题")
    await office.li.say("80万元")
    start = await office.zhang.say("自评")
    assert "财政局 李四 已填写第1题" in start and "财政局 李四 已于" in start, start
    assert (await office.zhang.say("确认")).startswith("已确认：80万元（财政局 李四填写）")

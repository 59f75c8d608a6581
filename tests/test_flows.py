"""Whole conversations through the real Dispatcher: real knowledge base, SQLite in tmp_path."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App, create_app
from bot.config import Config
from handlers.commands import COMMANDS
from handlers.dispatch import ERROR_TEXT
from handlers.help import FLOW_WORDS
from knowledge.model import KnowledgeBase
from knowledge.qa import Librarian
from scoring.answers import parse_answer
from tests.messages import Person, message, text_of

PLAN = "pingyin"
ROOT = Path(__file__).resolve().parent.parent


def rows(app: App, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(app.storage.path) as conn:
        return conn.execute(sql, args).fetchall()


def answers(app: App, department: str) -> dict[str, str]:
    found = rows(app, "select fact_id, value from answers where plan = ? and department = ?",
                 PLAN, department)
    return {str(k): str(v) for k, v in found}


def number_of(text: str) -> tuple[int, int]:
    match = re.findall(r"第(\d+)/(\d+)题", text)
    assert match, text
    return int(match[-1][0]), int(match[-1][1])


# --- help -----------------------------------------------------------------------------------


async def test_help_lists_every_command_and_flow_word(app: App) -> None:
    reply = await Person(app.handler).say("/help")
    for command in COMMANDS:
        assert command.name in reply and command.example in reply
        assert command.summary, command.name
    for word in FLOW_WORDS:
        assert word.word in reply
    assert await Person(app.handler).say("帮助") == reply


def test_readme_lists_every_command_and_flow_word() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in COMMANDS:
        assert command.name in readme, command.name
    for word in FLOW_WORDS:
        assert word.word in readme, word.word
    assert "make run" in readme and "make test" in readme


def test_make_run_starts_the_console_chat() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "$(VENV)/bin/qcbot chat $(RUN_ARGS)" in makefile


async def test_unknown_command(app: App) -> None:
    assert "不认识命令 /frobnicate" in await Person(app.handler).say("/frobnicate")


# --- binding --------------------------------------------------------------------------------


async def test_bind_by_command_then_change_by_introduction(app: App) -> None:
    person = Person(app.handler)
    reply = await person.say("/bind 市场监管局")
    assert "已绑定：平阴县市场监管局" in reply and "共47题" in reply
    reply = await person.say("我是统计局的")
    assert "已从市场监管局改为统计局" in reply and "28 质量监管人均经费" in reply
    assert rows(app, "select department, user_name from liaisons") == [("统计局", "张三")]
    assert "当前绑定：统计局" in await person.say("/bind")


async def test_ambiguous_name_offers_choices(app: App) -> None:
    person = Person(app.handler)
    reply = await person.say("/bind 商务")
    assert "请选择" in reply and person.labels == ["商务局", "商务事业发展中心"]
    assert "已绑定：平阴县商务事业发展中心" in await person.say("2")
    await person.say("/bind 商务")
    assert "已从商务事业发展中心改为商务局" in await person.press("商务局")


async def test_groups_and_provincial_departments_cannot_bind_but_the_office_can(app: App) -> None:
    person = Person(app.handler)
    assert "统称" in await person.say("/bind 领导小组成员单位")
    assert "省直部门" in await person.say("/bind 省统计局")
    assert rows(app, "select count(*) from liaisons") == [(0,)]
    reply = await person.say("/bind 质量强县办")
    assert "已绑定：平阴县质量强县办" in reply and "涉及8项指标" in reply
    ids = [ind.id for ind in app.handler.services.indicators("质量强县办")]
    assert ids == ["1", "2", "4", "5", "6", "7", "14", "19"]  # group-only indicators included


async def test_unknown_department(app: App) -> None:
    assert "没找到“宇宙局”" in await Person(app.handler).say("/bind 宇宙局")


# --- one assessment -------------------------------------------------------------------------


async def test_short_assessment_end_to_end(app: App) -> None:
    person = Person(app.handler)
    await person.say("/bind 统计局")
    reply = await person.say("自评")
    assert "开始自评（统计局），共2题" in reply and "第1/2题｜28 质量监管人均经费（1分）" in reply
    assert "例如：120万元" in reply
    assert "已保存：120万元" in (reply := await person.say("120万元"))
    assert number_of(reply) == (2, 2)
    assert "已保存：50万人" in (reply := await person.say("五十万人"))
    assert "2.4元/人 = 120万元 ÷ 50万人" in reply  # the ratio is computed, not asked
    assert "自评完成" in reply and "【统计局】自评结果（平阴县）" in reply
    assert "占总分1%" in reply and "· 28 质量监管人均经费" in reply
    assert answers(app, "统计局") == {"i28_funds": "120.0", "i28_population": "50.0",
                                      "i28_per_capita": "2.4"}
    history = rows(app, "select fact_id, old_value, new_value, changed_by, channel "
                        "from answer_history order by id")
    assert history == [("i28_funds", None, "120.0", "u1", "console"),
                       ("i28_population", None, "50.0", "u1", "console"),
                       ("i28_per_capita", None, "2.4", "u1", "console")]
    assert rows(app, "select count(*) from conversations") == [(0,)]
    assert rows(app, "select position, status from assessments") == [(2, "done")]


async def test_buttons_for_yes_no_and_choices(app: App) -> None:
    person = Person(app.handler)
    await person.say("/bind 市场监管局")
    await person.say("自评")
    assert person.labels == ["是", "否"]
    reply = await person.press("是")
    assert "已保存：是" in reply and number_of(reply) == (2, 47)
    await person.say("修改第37题")
    assert person.labels == ["已推行开展", "正研究探索", "未研究"]
    assert "已保存：正研究探索" in await person.press("正研究探索")
    assert answers(app, "市场监管局") == {"i3_activities": "true", "i25_injury": "\"正研究探索\""}


async def test_natural_answers(app: App) -> None:
    person = Person(app.handler)
    await person.say("/bind 市场监管局")
    await person.say("自评")
    for text, shown in [("有", "是"), ("没有", "否"), ("√", "是"), ("对", "是"), ("yes", "是")]:
        assert f"已保存：{shown}" in await person.say(text)
    await person.say("修改第13题")
    assert "已保存：3个" in await person.say("三个")
    await person.say("修改第19题")
    assert "已保存：95%" in await person.say("百分之九十五")
    await person.say("修改第20题")
    assert "您填的是0.95%还是95%？" in await person.say("0.95")
    assert "已保存：95%" in await person.say("2")
    stored = answers(app, "市场监管局")
    assert stored["i15_intl_member"] == "3" and stored["i17_a_coverage"] == "95.0"
    assert stored["i3_publicity"] == "false" and stored["i9_fund_standard"] == "true"


async def test_skip_back_and_edit_with_history(app: App) -> None:
    person = Person(app.handler)
    await person.say("/bind 市场监管局")
    await person.say("自评")
    await person.say("是")
    assert number_of(await person.say("跳过")) == (3, 47)
    reply = await person.say("上一题")
    assert number_of(reply) == (2, 47) and "当前答案" not in reply
    await person.say("否")
    await person.say("是")
    assert number_of(person.last[0].text) == (4, 47)
    reply = await person.say("修改第1题")
    assert number_of(reply) == (1, 47) and "当前答案：是" in reply
    reply = await person.say("否")
    assert "已保存：否（原为是）" in reply and number_of(reply) == (4, 47)
    history = rows(app, "select old_value, new_value from answer_history where fact_id = ?",
                   "i3_activities")
    assert history == [(None, "true"), ("true", "false")]
    assert "没有第99题" in await person.say("修改第99题")
    assert number_of(await person.say("上一题")) == (3, 47)


async def test_edit_after_finishing_shows_the_score_again(app: App) -> None:
    person = Person(app.handler)
    await person.say("/bind 统计局")
    await person.say("自评")
    for value in ("100", "50"):
        await person.say(value)
    reply = await person.say("修改第2题")
    assert number_of(reply) == (2, 2) and "当前答案：50万人" in reply
    reply = await person.say("40")
    assert "已保存：40万人（原为50万人）" in reply and "自评完成" in reply


async def test_pause_and_resume_after_restart(
    tmp_path: Path, kb: KnowledgeBase, librarian: Librarian
) -> None:
    config = Config.from_mapping({"plan": PLAN, "db_path": str(tmp_path / "q.db")})
    first = await create_app(config, kb=kb, librarian=librarian)
    person = Person(first.handler)
    await person.say("/bind 市场监管局")
    await person.say("自评")
    for answer in ("是", "否", "是"):
        await person.say(answer)
    assert "已暂停，进度已保存（第4/47题）" in await person.say("暂停")
    assert rows(first, "select count(*) from conversations") == [(0,)]
    assert rows(first, "select position, status from assessments") == [(3, "paused")]
    await first.close()

    second = await create_app(config, kb=kb, librarian=librarian)
    person = Person(second.handler)
    reply = await person.say("自评")
    assert "继续自评（市场监管局），已答3/47题" in reply and number_of(reply) == (4, 47)
    assert len(answers(second, "市场监管局")) == 3
    await second.close()


async def test_cancel_keeps_answers_and_starts_at_first_unanswered(app: App) -> None:
    person = Person(app.handler)
    await person.say("/bind 市场监管局")
    await person.say("自评")
    await person.say("是")
    await person.say("跳过")
    assert "已退出自评" in await person.say("取消")
    assert rows(app, "select count(*) from assessments") == [(0,)]
    reply = await person.say("自评")
    assert "开始自评" in reply and number_of(reply) == (2, 47)
    assert answers(app, "市场监管局") == {"i3_activities": "true"}


async def test_explanation_and_questions_in_the_middle(app: App) -> None:
    person = Person(app.handler)
    await person.say("/bind 市场监管局")
    await person.say("自评")
    reply = await person.say("这题什么意思？")
    assert "【3 质量文化活动】" in reply and "评分标准" in reply and "说明：" in reply
    assert number_of(reply) == (1, 47)
    reply = await person.say("计量怎么得分？")
    assert "计量" in person.last[0].text and number_of(reply) == (1, 47)
    await app.storage.flush()  # the question log is written behind, in batches
    logged = rows(app, "select question, abstained from question_log")
    assert logged == [("计量怎么得分？", 0)]
    assert answers(app, "市场监管局") == {}
    reply = await person.say("/myscore")
    assert "【市场监管局】自评结果" in reply and number_of(reply) == (1, 47)


BAD_ANSWERS = [
    "", "   ", "嗯嗯", "asdfgh", "🙂🙂", "是否", "不知道", "-5", "1e400", "一百二十亿亿亿",
    "x" * 10_000, "是" * 10_000, "\u0000", "\ud800", "修改第0题",
]


@pytest.mark.parametrize("text", BAD_ANSWERS)
async def test_bad_answers_never_crash_or_store(app: App, text: str) -> None:
    person = Person(app.handler)
    await person.say("/bind 市场监管局")
    await person.say("修改第13题")  # a count question
    reply = await person.say(text)
    assert ERROR_TEXT not in reply
    assert answers(app, "市场监管局") == {}
    if text.strip():
        assert reply == "没有第0题，市场监管局共47题。" or number_of(reply)[0] == 13


async def test_out_of_range_answers_are_asked_again(app: App) -> None:
    person = Person(app.handler)
    await person.say("/bind 市场监管局")
    await person.say("修改第19题")  # a percentage
    reply = await person.say("150%")
    assert "应在0%到100%之间" in reply and "例如：95%" in reply and number_of(reply) == (19, 47)
    await person.say("修改第13题")  # a count
    assert "数量应为整数" in await person.say("2.5")
    assert answers(app, "市场监管局") == {}


async def test_error_handler_apologises_and_keeps_state(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = Person(app.handler)
    await person.say("/bind 统计局")
    await person.say("自评")

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(app.storage, "save_answers", broken)
    assert await person.say("120") == ERROR_TEXT
    monkeypatch.undo()
    reply = await person.say("120")
    assert "已保存：120万元" in reply and number_of(reply) == (2, 2)


async def test_stale_button(app: App) -> None:
    person = Person(app.handler)
    await person.say("/bind 市场监管局")
    await person.say("自评")
    old = person.last
    await person.press("是")
    person.last = old
    assert "按钮已过期" in await person.press("否")
    assert answers(app, "市场监管局") == {"i3_activities": "true"}


# --- several people -------------------------------------------------------------------------


async def test_two_users_interleaved_in_one_group(app: App) -> None:
    wang = Person(app.handler, "u1", "王", "group")
    li = Person(app.handler, "u2", "李", "group")
    await wang.say("/bind 市场监管局")
    await li.say("/bind 统计局")
    assert "王·第1/47题" in await wang.say("自评")
    assert "李·第1/2题" in await li.say("自评")
    assert "王·第2/47题" in await wang.say("是")
    assert "李·第2/2题" in await li.say("120")
    assert "王·第3/47题" in await wang.press("否")
    assert "李·第3/3题" not in (done := await li.say("50")) and "自评完成" in done
    assert "王·第4/47题" in await wang.say("是")
    assert answers(app, "市场监管局") == {"i3_activities": "true", "i3_publicity": "false",
                                          "i9_fund_development": "true"}
    assert answers(app, "统计局") == {"i28_funds": "120.0", "i28_population": "50.0",
                                      "i28_per_capita": "2.4"}  # computed with the last raw figure
    # 李 has finished (统计局 asks two raw figures), 王's conversation goes on
    assert rows(app, "select count(*) from conversations where chat_id = 'group-1'") == [(1,)]


async def test_group_answers_only_when_addressed(app: App) -> None:
    wang = Person(app.handler, "u1", "王", "group")
    assert await wang.say("计量怎么得分？", mentioned=False) == ""
    assert "计量" in await wang.say("计量怎么得分？", mentioned=True)
    assert await wang.say("我是统计局的", mentioned=False) == ""
    await wang.say("/bind 统计局")
    await wang.say("/assess")
    assert await wang.say("中午吃什么", mentioned=False) == ""  # chatter is not an answer
    assert "已保存：120万元" in await wang.say("120", mentioned=False)  # an answer is
    assert "没看懂" in await wang.say("中午吃啥", mentioned=True)
    await app.storage.flush()
    assert rows(app, "select count(*) from question_log") == [(1,)]


async def test_start_in_group_continue_in_private(app: App) -> None:
    wang = Person(app.handler, "u1", "王", "group")
    await wang.say("/bind 市场监管局")
    await wang.say("自评")
    await wang.say("是")
    await wang.say("否")
    private = wang.in_private()
    reply = await private.say("自评")
    assert "继续自评（市场监管局），已答2/47题" in reply and number_of(reply) == (3, 47)
    assert "王·" not in reply
    await private.say("是")
    assert len(answers(app, "市场监管局")) == 3


async def test_two_liaisons_of_one_department_share_answers(app: App) -> None:
    wang = Person(app.handler, "u1", "王")
    li = Person(app.handler, "u2", "李")
    await wang.say("/bind 市场监管局")
    await li.say("我是市场监管局的")
    await wang.say("自评")
    await wang.say("是")
    reply = await li.say("自评")
    assert number_of(reply) == (2, 47)  # li starts at the first question nobody answered
    reply = await li.say("修改第1题")
    assert "当前答案：是" in reply
    await li.say("否")
    history = rows(app, "select changed_by, old_value, new_value from answer_history")
    assert history == [("u1", None, "true"), ("u2", "true", "false")]
    assert "上一题" not in await wang.say("/myscore")


async def test_results_rank_gaps_by_recoverable_points(app: App) -> None:
    person = Person(app.handler)
    await person.say("/bind 市场监管局")
    await person.say("自评")
    for _ in range(11):
        await person.say("否")  # indicator 3 and 9: every yes/no answered 否
    reply = await person.say("/gaps")
    points = [float(p) for p in re.findall(r"可再得([0-9.]+)分", reply)]
    assert points and points == sorted(points, reverse=True)
    assert "未作答36题" in reply
    card = await person.say("/myscore")
    assert "得分0分（满分34分，占总分34%）" in card and "· 9 质量工作财政经费 0/3分" in card


async def test_results_need_a_binding(app: App) -> None:
    person = Person(app.handler)
    assert "还没有绑定部门" in await person.say("/myscore")
    assert "还没有绑定部门" in await person.say("/gaps")
    assert "还没有绑定部门" in await person.say("自评")


# --- a checklist plan -----------------------------------------------------------------------


async def test_checklist_plan_accepts_a_completion_date(
    tmp_path: Path, kb: KnowledgeBase, librarian: Librarian
) -> None:
    config = Config.from_mapping({"plan": "minquan", "db_path": str(tmp_path / "m.db")})
    app = await create_app(config, kb=kb, librarian=librarian)
    person = Person(app.handler)
    await person.say("/bind 工信局")
    reply = await person.say("自评")
    assert "已完成可直接回复完成日期" in reply and number_of(reply)[0] == 1
    assert "已保存：是" in await person.say("2026年5月")
    reply = await person.say("没有")
    assert "已保存：否" in reply and number_of(reply)[0] == 3
    await person.say("修改第1题")
    assert "当前答案：是（2026-05）" in person.last[0].text
    stored = {str(k): str(v) for k, v in rows(app, "select fact_id, value from answers where plan = 'minquan'")}
    assert stored == {"7.1": "true", "7.1.date": "\"2026-05\"", "7.2": "false"}
    card = await person.say("/myscore")
    assert "已完成1/" in card
    await app.close()


# --- the property ---------------------------------------------------------------------------


def test_any_text_during_an_assessment_is_safe(kb: KnowledgeBase, librarian: Librarian) -> None:
    """Any text never raises and never stores a value parse_answer would reject."""
    answers_like = st.sampled_from(["是", "否", "3", "95%", "百分之九十五", "2026年5月", "跳过",
                                    "上一题", "修改第13题", "修改第19题", "这题什么意思？", "暂停",
                                    "自评", "取消", "三项", "0.95", "-1", "150%"])
    texts = st.one_of(answers_like, st.text(max_size=40), st.text(max_size=3000))

    with tempfile.TemporaryDirectory() as tmp, asyncio.Runner() as runner:
        config = Config.from_mapping({"plan": PLAN, "db_path": f"{tmp}/p.db"})
        app = runner.run(create_app(config, kb=kb, librarian=librarian))
        facts = {q.fact.id: q.fact for q in app.handler.services.questions("市场监管局")}
        person = Person(app.handler)
        runner.run(person.say("/bind 市场监管局"))
        runner.run(person.say("自评"))

        @settings(max_examples=150, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(st.lists(texts, min_size=1, max_size=4))
        def check(batch: list[str]) -> None:
            for text in batch:
                reply = runner.run(person.handler.handle(message(text, user="u1")))
                assert ERROR_TEXT not in text_of(reply)
            stored = runner.run(app.storage.answers(PLAN, "市场监管局"))
            for fact_id, value in stored.items():
                assert parse_answer(facts[fact_id], value) == value

        try:
            check()
        finally:
            runner.run(app.close())


async def test_quick_answers_from_one_user_do_not_race(app: App) -> None:
    person = Person(app.handler)
    await person.say("/bind 市场监管局")
    await person.say("自评")
    replies = await asyncio.gather(*(app.handler.handle(message(a)) for a in ("是", "否", "是")))
    assert [number_of(text_of(r)) for r in replies] == [(2, 47), (3, 47), (4, 47)]
    assert answers(app, "市场监管局") == {"i3_activities": "true", "i3_publicity": "false",
                                          "i9_fund_development": "true"}


def test_the_core_imports_no_channel_library() -> None:
    for package in ("handlers", "scoring", "knowledge"):
        for path in (ROOT / package).glob("*.py"):
            source = path.read_text(encoding="utf-8")
            for library in ("telegram", "aiohttp", "bot.channels"):
                assert f"import {library}" not in source and f"from {library}" not in source, path

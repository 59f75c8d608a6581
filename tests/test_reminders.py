"""Reminders with a fake clock: local times, working days, quiet hours, exactly once, catch-up, mute."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.app import App
from handlers.reminders.calendar import WorkingTime
from handlers.reminders.schedule import (
    DEADLINE,
    Audience,
    Member,
    Rules,
    decide,
    occurrences,
)
from knowledge.model import Deadline, KnowledgeBase
from knowledge.qa import Librarian
from tests.reminder_helpers import (
    SHANGHAI,
    Clock,
    County,
    at,
    county,
    open_app,
    sent_of,
)

CAL = WorkingTime(SHANGHAI)


@pytest.fixture
async def office(tmp_path: Path, kb: KnowledgeBase, librarian: Librarian) -> AsyncIterator[County]:
    """Tuesday 2026-12-01 10:00: two liaisons bound, a deadline on 2026-12-15 (Tuesday)."""
    clock = Clock(at("2026-12-01 10:00"))
    app, recorder = await open_app(tmp_path / "db" / "qcbot.db", kb, librarian, clock)
    yield await county(app, clock, recorder)
    await app.close()


def claims(app: App) -> dict[str, str]:
    with sqlite3.connect(app.storage.path) as conn:
        return dict(conn.execute("select key, status from reminders").fetchall())


# --- working time (pure) ------------------------------------------------------------------------


def test_working_time_skips_holidays_weekends_and_closed_hours() -> None:
    assert CAL.next_open(at("2026-10-01 09:00")) == at("2026-10-08 09:00")  # National Day
    assert CAL.next_open(at("2026-12-12 10:00")) == at("2026-12-14 09:00")  # Saturday
    assert CAL.next_open(at("2026-10-10 10:00")) == at("2026-10-10 10:00")  # 调休: a working Saturday
    assert CAL.next_open(at("2026-12-08 07:30")) == at("2026-12-08 09:00")
    assert CAL.next_open(at("2026-12-08 18:00")) == at("2026-12-09 09:00")
    assert CAL.is_open(at("2026-12-08 17:59")) and not CAL.is_open(at("2026-12-08 18:00"))
    assert CAL.is_workday(date(2031, 3, 3)) and not CAL.is_workday(date(2031, 3, 8))  # beyond the calendar


def test_a_reminder_due_on_national_day_moves_to_the_last_working_day_before() -> None:
    rules = Rules(CAL, remind_days=(7,))
    deadline = Deadline("office:1", date(2026, 10, 8), "报送材料", None, source="office")
    audience = Audience((Member("console", "u1", "张三", "统计局", private_chat="p-u1"),))
    found = occurrences([deadline], audience, rules, at("2026-09-20 00:00"), at("2026-10-31 00:00"))
    assert [(o.day, o.due_at) for o in found] == [(date(2026, 10, 1), at("2026-09-30 09:00"))]
    assert found[0].key == "deadline|user:console:u1|office:1|7|2026-10-01"


def test_reminders_moved_to_one_moment_keep_the_nearest() -> None:
    rules = Rules(CAL)  # 7, 3, 1 days before Tuesday 2026-12-15: 12-08, (Sat 12-12 →) Fri 12-11, 12-14
    deadline = Deadline("office:1", date(2026, 12, 15), "提交", None, source="office")
    audience = Audience((Member("console", "u1", "张三", "统计局", private_chat="p-u1"),))
    found = occurrences([deadline], audience, rules, at("2026-12-01 00:00"), at("2026-12-31 00:00"))
    assert [(o.offset, o.due_at) for o in found] == [
        (7, at("2026-12-08 09:00")), (3, at("2026-12-11 09:00")), (1, at("2026-12-14 09:00"))]
    national = Deadline("office:2", date(2026, 10, 9), "报送", None, source="office")  # 10-02, 10-06 → 09-30
    found = occurrences([national], audience, rules, at("2026-09-01 00:00"), at("2026-10-31 00:00"))
    assert [(o.offset, o.due_at) for o in found] == [(3, at("2026-09-30 09:00")), (1, at("2026-10-08 09:00"))]


def test_decide_drops_stale_and_superseded_and_waits_for_office_hours() -> None:
    rules = Rules(CAL)
    deadline = Deadline("office:1", date(2026, 12, 15), "提交", None, source="office")
    audience = Audience((Member("console", "u1", "张三", "统计局", private_chat="p-u1"),))
    found = occurrences([deadline], audience, rules, at("2026-12-01 00:00"), at("2026-12-31 00:00"))
    on_day = decide(found, {}, at("2026-12-15 10:00"), rules)
    assert [o.offset for o in on_day.send] == [1]
    assert [(o.offset, why) for o, why in on_day.drop] == [(7, "superseded"), (3, "superseded")]
    assert decide(found, {}, at("2026-12-14 20:00"), rules).send == ()  # closed: wait
    after = decide(found, {}, at("2026-12-16 09:00"), rules)
    assert after.send == () and {why for _, why in after.drop} == {"stale"}


# --- the runner ---------------------------------------------------------------------------------


async def test_deadline_reminders_fire_once_at_the_right_local_times(office: County) -> None:
    tick = office.app.scheduler.tick
    assert sent_of(await tick(at("2026-12-08 08:59")), DEADLINE) == []
    first = sent_of(await tick(at("2026-12-08 09:00")), DEADLINE)
    assert len(first) == 2
    private, group = sorted(office.recorder.of(DEADLINE), key=lambda r: not r.private)
    assert private.to_chat == "private-u1" and private.private
    assert "还有7天：提交自评材料" in private.text and "截止：2026-12-15（周二）" in private.text
    assert "本部门自评已答0/2题" in private.text and "/mute" in private.text
    assert group.to_chat == "group-1" and not group.private and "涉及：财政局" in group.text
    assert sent_of(await tick(at("2026-12-08 09:01")), DEADLINE) == []
    friday = sent_of(await tick(at("2026-12-11 09:00")), DEADLINE)  # 3 days before: Saturday → Friday
    assert sorted(d.key.split("|")[3:] for d in friday) == [["3", "2026-12-12"]] * 2
    assert all("还有4天" in r.text for r in office.recorder.of(DEADLINE)[2:])
    assert await tick(at("2026-12-12 10:00")) == []  # Saturday: nothing at all
    second = sent_of(await tick(at("2026-12-14 09:00")), DEADLINE)
    assert sorted(d.key.split("|")[3:] for d in second) == [["1", "2026-12-14"]] * 2
    assert all("明天截止" in r.text for r in office.recorder.of(DEADLINE)[4:])
    assert sent_of(await tick(at("2026-12-15 10:00")), DEADLINE) == []
    assert len(office.recorder.of(DEADLINE)) == 6
    assert [s for k, s in claims(office.app).items() if k.startswith("deadline|")] == ["sent"] * 6


async def test_holiday_reminder_goes_out_on_the_last_working_day_before(
    tmp_path: Path, kb: KnowledgeBase, librarian: Librarian
) -> None:
    clock = Clock(at("2026-09-21 10:00"))
    app, recorder = await open_app(tmp_path / "h.db", kb, librarian, clock, remind_days="7")
    try:
        office = await county(app, clock, recorder)
        assert "#2" in await office.boss.say("/deadline 2026-10-08 国庆后报送材料 统计局")
        assert sent_of(await app.scheduler.tick(at("2026-09-29 17:00")), DEADLINE) == []
        sent = sent_of(await app.scheduler.tick(at("2026-09-30 09:00")), DEADLINE)
        assert [d.key for d in sent] == ["deadline|user:console:u1|office:2|7|2026-10-01"]
        assert "还有8天：国庆后报送材料" in recorder.of(DEADLINE)[0].text
        for day in range(1, 9):  # 10-01 … 10-07: National Day; nothing more on 10-08
            assert sent_of(await app.scheduler.tick(at(f"2026-10-0{day} 09:00")), DEADLINE) == []
    finally:
        await app.close()


async def test_quiet_hours_hold_a_reminder_until_the_office_opens(office: County) -> None:
    tick = office.app.scheduler.tick
    assert sent_of(await tick(at("2026-12-08 20:00")), DEADLINE) == []
    assert sent_of(await tick(at("2026-12-09 07:00")), DEADLINE) == []
    assert len(sent_of(await tick(at("2026-12-09 09:00")), DEADLINE)) == 2
    assert "还有6天" in office.recorder.of(DEADLINE)[0].text


async def test_a_restart_never_sends_again(
    office: County, kb: KnowledgeBase, librarian: Librarian
) -> None:
    assert len(sent_of(await office.app.scheduler.tick(at("2026-12-08 09:00")), DEADLINE)) == 2
    path = office.app.storage.path
    await office.app.close()
    app, recorder = await open_app(path, kb, librarian, office.clock)
    try:
        assert sent_of(await app.scheduler.tick(at("2026-12-08 09:30")), DEADLINE) == []
        assert len(sent_of(await app.scheduler.tick(at("2026-12-14 09:00")), DEADLINE)) == 2
        assert recorder.of(DEADLINE) and len(recorder.of(DEADLINE)) == 2
    finally:
        await app.close()


async def test_two_runners_on_one_database_send_once(
    office: County, kb: KnowledgeBase, librarian: Librarian
) -> None:
    other, other_recorder = await open_app(office.app.storage.path, kb, librarian, office.clock)
    try:
        moment = at("2026-12-08 10:00")
        await asyncio.gather(office.app.scheduler.tick(moment), other.scheduler.tick(moment))
        both = office.recorder.sent + other_recorder.sent
        keys = [r.meta["reminder"] for r in both]
        assert len(keys) == len(set(keys)) > 0
        assert len([k for k in keys if k.startswith("deadline|")]) == 2
        await asyncio.gather(office.app.scheduler.tick(moment), other.scheduler.tick(moment))
        assert len(office.recorder.sent + other_recorder.sent) == len(both)
    finally:
        await other.close()


async def test_catch_up_after_downtime_sends_the_useful_and_drops_the_stale(office: County) -> None:
    done = await office.app.scheduler.tick(at("2026-12-15 10:00"))  # down since 12-01
    status = claims(office.app)
    deadline = {k: s for k, s in status.items() if k.startswith("deadline|")}
    assert sorted(deadline.values()) == ["dropped"] * 4 + ["sent"] * 2  # 7 and 3 days: superseded
    assert all(s == "sent" for k, s in deadline.items() if "|1|" in k)
    assert all("今天截止" in r.text for r in office.recorder.of(DEADLINE))
    assert {k.split("|")[-1]: s for k, s in status.items() if k.startswith("digest|")} == {
        "2026-12-04": "dropped", "2026-12-11": "dropped"}  # the digests are older than 24 hours
    nudges = {k.split("|")[-1]: s for k, s in status.items() if k.startswith("nudge|")}
    assert nudges == {"2026-12-14": "sent", "2026-12-07": "dropped", "2026-11-30": "dropped"}  # 3 days
    assert len(sent_of(done, "nudge")) == 2
    assert await office.app.scheduler.tick(at("2026-12-15 10:05")) == []


async def test_after_the_deadline_its_reminders_are_dropped(office: County) -> None:
    done = await office.app.scheduler.tick(at("2026-12-16 09:00"))
    assert sent_of(done, DEADLINE) == []
    assert {s for k, s in claims(office.app).items() if k.startswith("deadline|")} == {"dropped"}


async def test_weekly_digest_to_the_group(office: County) -> None:
    for answer in ("自评", "120万元", "五十万人"):
        await office.zhang.say(answer)
    sent = await office.app.scheduler.tick(at("2026-12-11 16:00"))
    assert len(sent_of(sent, "digest")) == 1
    digest = office.recorder.of("digest")[0]
    assert digest.to_chat == "group-1" and not digest.private
    assert "【本周进度】平阴县" in digest.text and "估计全县得分：0.7/100分" in digest.text
    assert "统计局：指标1项，已答1项；完成100%（2/2题）；估分0.7/1分" in digest.text
    assert "最该补的1项" in digest.text and "28 质量监管人均经费" in digest.text
    assert "下一个截止：2026-12-15（周二） 提交自评材料" in digest.text
    await office.app.scheduler.tick(at("2026-12-14 10:00"))
    nudged = office.recorder.of("nudge")
    assert [r.to_chat for r in nudged] == ["group-1"]  # 统计局 has finished; 财政局 has not
    # indicator 28 is shared: 统计局's two answers are the county's, so they count for 财政局 too
    assert "李四（财政局）：自评已答2/15题" in nudged[0].text


async def test_mute_stops_nudges_for_that_user_only(office: County) -> None:
    assert "已暂停" in await office.zhang.say("/mute")
    await office.app.scheduler.tick(at("2026-12-07 10:00"))
    nudged = office.recorder.of("nudge")
    assert [r.to_chat for r in nudged] == ["group-1"] and "李四" in nudged[0].text
    assert "已恢复" in await office.zhang.say("/unmute")
    await office.app.scheduler.tick(at("2026-12-14 10:00"))
    assert sorted(r.to_chat or "" for r in office.recorder.of("nudge")[1:]) == ["group-1", "private-u1"]
    assert "统计局自评已答0/2题，还差2题" in next(
        r.text for r in office.recorder.of("nudge") if r.private)


async def test_remind_lists_what_is_coming(office: County) -> None:
    mine = await office.zhang.say("/remind")
    assert "近30天你会收到的提醒" in mine
    assert "12-08 09:00（周二） 截止提醒（还有7天）：提交自评材料 → 张三（私聊）" in mine
    assert "12-14 09:00（周一） 截止提醒（明天截止）" in mine and "自评催办" in mine
    assert "李四" not in mine and "每周进度简报" not in mine
    theirs = await office.li.say("/remind")
    assert "李四（群 group-1）" in theirs and "张三" not in theirs
    everything = await office.boss.say("/remind")
    assert "全部" in everything and "张三" in everything and "李四" in everything
    assert "每周进度简报 → 群 group-1" in everything
    await office.app.scheduler.tick(at("2026-12-08 09:00"))
    office.clock.moment = at("2026-12-08 09:30")
    assert "还有7天" not in await office.zhang.say("/remind")


async def test_nothing_is_claimed_for_a_channel_that_cannot_send(
    tmp_path: Path, kb: KnowledgeBase, librarian: Librarian
) -> None:
    clock = Clock(at("2026-12-01 10:00"))
    app, recorder = await open_app(tmp_path / "q.db", kb, librarian, clock, register=False)
    try:
        await county(app, clock, recorder)
        assert await app.scheduler.tick(at("2026-12-08 09:00")) == []
        assert claims(app) == {}
        app.outbox.register("console", recorder)
        assert len(sent_of(await app.scheduler.tick(at("2026-12-08 09:10")), DEADLINE)) == 2
    finally:
        await app.close()


async def test_the_loop_ticks_on_start_and_stops_cleanly(office: County) -> None:
    office.clock.moment = at("2026-12-08 09:00")
    office.app.scheduler.interval = 3600
    office.app.start_scheduler()
    await asyncio.wait_for(office.recorder.arrived.wait(), 10)  # the first tick runs at once
    await office.app.scheduler.stop()
    assert len(office.recorder.of(DEADLINE)) == 2


def test_lookback_covers_every_catch_up_window() -> None:
    rules = Rules(CAL, remind_days=(14, 7))
    assert rules.lookback >= timedelta(days=14)

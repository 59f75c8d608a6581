"""Reminders truly once (keyed by person; claimed → sent; retried once; every loss logged), timing
around holidays (moved earlier; uncovered years said; the office's /holiday and file), and a kill
test: the real scheduler in a subprocess, SIGKILLed at random points, restarted each time."""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.app import reminder_rules
from bot.config import Config, ConfigError
from bot.storage import ReminderClaim
from bot.storage.migrations import MIGRATIONS
from handlers.core import Reply
from handlers.reminders import calendar as calendar_module
from handlers.reminders.calendar import UNCOVERED_NOTE, WorkingTime, library_covers, library_range
from handlers.reminders.schedule import DEADLINE, DIGEST, NUDGE, weekly_moment
from knowledge.model import KnowledgeBase
from knowledge.qa import Librarian
from tests.messages import Person
from tests.reminder_helpers import ADMIN, SHANGHAI, Clock, County, at, county, open_app, sent_of

ROOT = Path(__file__).resolve().parents[1]
CAL = WorkingTime(SHANGHAI)
ZHANG_7 = "deadline|user:console:u1|office:1|7|2026-12-08"
LI_7 = "deadline|user:console:u2|office:1|7|2026-12-08"


@pytest.fixture
async def office(tmp_path: Path, kb: KnowledgeBase, librarian: Librarian) -> AsyncIterator[County]:
    """Tuesday 2026-12-01 10:00: 张三 (统计局, private), 李四 (财政局, group-1), a deadline 2026-12-15."""
    clock = Clock(at("2026-12-01 10:00"))
    app, recorder = await open_app(tmp_path / "db" / "qcbot.db", kb, librarian, clock)
    yield await county(app, clock, recorder)
    await app.close()


def rows(path: Path) -> dict[str, tuple[str, int, str | None]]:
    """key → (status, attempts, sent_at) of every reminder row."""
    with sqlite3.connect(path) as conn:
        found = conn.execute("select key, status, attempts, sent_at from reminders").fetchall()
    return {k: (s, a, t) for k, s, a, t in found}


def claim(key: str, channel: str = "console") -> ReminderClaim:
    """A bare claim row for a key, as a runner killed right after claiming leaves it."""
    kind, target, deadline, offset, day = key.split("|")
    return ReminderClaim(key, kind, channel, "", target, deadline, int(offset), day, "", "claimed")


# --- 6(a) keyed by person, not by chat -----------------------------------------------------------


async def test_a_liaison_who_moves_from_the_group_to_private_is_not_reminded_twice(office: County) -> None:
    tick = office.app.scheduler.tick
    await tick(at("2026-12-08 09:00"))
    group = [r for r in office.recorder.of(DEADLINE) if not r.private]
    assert [r.meta["reminders"].split("\n") for r in group] == [[LI_7]] and group[0].to_chat == "group-1"
    li_private = Person(office.app.handler, user="u2", name="李四")  # now also writes privately
    assert "近30天" in await li_private.say("/remind")
    assert sent_of(await tick(at("2026-12-08 10:00")), DEADLINE) == []  # same person, same key
    assert sent_of(await tick(at("2026-12-09 09:00")), DEADLINE) == []
    await tick(at("2026-12-11 09:00"))  # the next offset (3 days, Saturday → Friday) goes privately
    li = [r for r in office.recorder.of(DEADLINE) if "u2" in r.meta["reminder"]]
    assert [(r.to_chat, r.private) for r in li] == [("group-1", False), ("private-u2", True)]
    assert Counter(k for r in office.recorder.sent for k in r.meta["reminders"].split("\n")).most_common(1)[0][1] == 1


async def test_liaisons_in_one_group_get_one_message_with_a_key_each(office: County) -> None:
    wang = Person(office.app.handler, user="u3", name="王五", chat_type="group")
    assert "已绑定" in await wang.say("/bind 统计局")
    done = sent_of(await office.app.scheduler.tick(at("2026-12-08 09:00")), DEADLINE)
    assert len(done) == 3  # 张三 privately; 李四 and 王五 in one group message
    group = [r for r in office.recorder.of(DEADLINE) if not r.private]
    assert len(group) == 1 and "涉及：财政局、统计局" in group[0].text
    assert sorted(group[0].meta["reminders"].split("\n")) == [LI_7, "deadline|user:console:u3|office:1|7|2026-12-08"]
    assert {k: v[0] for k, v in rows(office.app.storage.path).items() if k.startswith("deadline")} == {
        ZHANG_7: "sent", LI_7: "sent", "deadline|user:console:u3|office:1|7|2026-12-08": "sent"}


# --- 6(b) claimed → sent, retried once, every loss logged ---------------------------------------


async def test_a_claim_left_unsent_is_retried_once_and_recorded_sent(office: County) -> None:
    storage = office.app.storage
    assert await storage.claim([claim(ZHANG_7)]) == {ZHANG_7}  # killed right after claiming
    await office.app.scheduler.tick(at("2026-12-08 09:30"))
    assert [r.meta["reminder"] for r in office.recorder.of(DEADLINE)].count(ZHANG_7) == 1
    status, attempts, sent_at = rows(storage.path)[ZHANG_7]
    assert (status, attempts) == ("sent", 2) and sent_at
    await office.app.scheduler.tick(at("2026-12-08 09:40"))
    assert [r.meta["reminder"] for r in office.recorder.of(DEADLINE)].count(ZHANG_7) == 1


async def test_a_claim_whose_retry_was_also_interrupted_is_lost_and_logged(
    office: County, caplog: pytest.LogCaptureFixture
) -> None:
    storage = office.app.storage
    await storage.claim([claim(ZHANG_7)])
    assert await storage.retry_claims([ZHANG_7], 2) == {ZHANG_7}  # the retry, killed too
    assert await storage.retry_claims([ZHANG_7], 2) == set()  # no third attempt
    with caplog.at_level(logging.WARNING, logger="qcbot.scheduler"):
        await office.app.scheduler.tick(at("2026-12-08 09:30"))
        await office.app.scheduler.tick(at("2026-12-08 09:31"))
    assert ZHANG_7 not in [r.meta["reminder"] for r in office.recorder.sent]
    assert rows(storage.path)[ZHANG_7][0] == "lost"
    assert [r.getMessage() for r in caplog.records if ZHANG_7 in r.getMessage()] == [
        f"reminder lost (retry failed): {ZHANG_7}"]


async def test_an_unsent_claim_out_of_its_window_is_lost_and_logged(
    office: County, caplog: pytest.LogCaptureFixture
) -> None:
    await office.app.storage.claim([claim(ZHANG_7)])
    with caplog.at_level(logging.WARNING, logger="qcbot.scheduler"):
        await office.app.scheduler.tick(at("2026-12-16 09:00"))  # the deadline day has ended
    assert rows(office.app.storage.path)[ZHANG_7][0] == "lost"
    assert f"reminder lost (out of window): {ZHANG_7}" in caplog.messages
    assert office.recorder.of(DEADLINE) == []


async def test_a_claim_no_longer_due_is_lost_and_logged(
    office: County, caplog: pytest.LogCaptureFixture
) -> None:
    await office.app.storage.claim([claim(ZHANG_7)])
    assert "已暂停" in await office.zhang.say("/mute")
    with caplog.at_level(logging.WARNING, logger="qcbot.scheduler"):
        await office.app.scheduler.tick(at("2026-12-08 09:30"))
    assert f"reminder lost (not due any more): {ZHANG_7}" in caplog.messages


async def test_a_failed_send_is_retried_once_then_lost(
    tmp_path: Path, kb: KnowledgeBase, librarian: Librarian, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(at("2026-12-01 10:00"))
    app, recorder = await open_app(tmp_path / "f.db", kb, librarian, clock, register=False)
    failures = {ZHANG_7: 1, LI_7: 5}

    async def push(reply: Reply) -> None:
        key = reply.meta["reminder"]
        if failures.get(key, 0) > 0:
            failures[key] -= 1
            raise ConnectionError("unreachable")
        await recorder(reply)

    app.outbox.register("console", push)
    try:
        await county(app, clock, recorder)
        with caplog.at_level(logging.WARNING, logger="qcbot.scheduler"):
            first = await app.scheduler.tick(at("2026-12-08 09:00"))
            second = await app.scheduler.tick(at("2026-12-08 09:01"))
            third = await app.scheduler.tick(at("2026-12-08 09:02"))
        assert sorted(d.status for d in first if d.key.startswith(DEADLINE)) == ["failed", "failed"]
        assert {d.key: d.status for d in second if d.key.startswith(DEADLINE)} == {ZHANG_7: "sent", LI_7: "failed"}
        assert [d for d in third if d.key.startswith(DEADLINE)] == []
        state = rows(app.storage.path)
        assert state[ZHANG_7][:2] == ("sent", 2) and state[LI_7][:2] == ("lost", 2)
        assert sum(LI_7 in m and "lost (retry failed" in m for m in caplog.messages) == 1
    finally:
        await app.close()


async def test_rows_from_before_the_migration_keep_working(
    tmp_path: Path, kb: KnowledgeBase, librarian: Librarian
) -> None:
    path = tmp_path / "old.db"
    db = Database(path)
    MIGRATIONS.apply(db, stop_before="m005_reminder_sends_and_holidays")
    legacy_group = "deadline|group:console:group-1|office:1|7|2026-12-08"  # the old key of 李四's
    for key, status in ((ZHANG_7, "sent"), (legacy_group, "sent")):
        db.table("reminders").insert({
            "key": key, "kind": "deadline", "channel": "console", "chat_id": "", "target": "",
            "deadline_id": "office:1", "offset_days": 7, "day": "2026-12-08", "due_at": "",
            "claimed_at": "2026-12-08T01:00:00+00:00", "status": status, "detail": ""})
    db.close()
    clock = Clock(at("2026-12-01 10:00"))
    app, recorder = await open_app(path, kb, librarian, clock)
    try:
        await county(app, clock, recorder)
        assert sent_of(await app.scheduler.tick(at("2026-12-08 09:30")), DEADLINE) == []
        assert rows(path)[ZHANG_7] == ("sent", 1, "2026-12-08T01:00:00+00:00")
        assert len(sent_of(await app.scheduler.tick(at("2026-12-11 09:00")), DEADLINE)) == 2
    finally:
        await app.close()


# --- 7 timing around holidays ---------------------------------------------------------------------


async def test_a_deadline_after_national_day_is_reminded_before_the_holiday_and_the_day_before(
    tmp_path: Path, kb: KnowledgeBase, librarian: Librarian
) -> None:
    clock = Clock(at("2026-09-21 10:00"))
    app, recorder = await open_app(tmp_path / "n.db", kb, librarian, clock)
    try:
        office = await county(app, clock, recorder)
        assert "#2" in await office.boss.say("/deadline 2026-10-09 国庆后报送材料 统计局")
        assert sent_of(await app.scheduler.tick(at("2026-09-29 09:00")), DEADLINE) == []
        before = sent_of(await app.scheduler.tick(at("2026-09-30 09:00")), DEADLINE)
        assert [d.key for d in before] == ["deadline|user:console:u1|office:2|3|2026-10-06"]
        assert "还有9天：国庆后报送材料" in recorder.of(DEADLINE)[0].text
        for day in range(1, 8):
            assert sent_of(await app.scheduler.tick(at(f"2026-10-0{day} 10:00")), DEADLINE) == []
        last = sent_of(await app.scheduler.tick(at("2026-10-08 09:00")), DEADLINE)
        assert [d.key for d in last] == ["deadline|user:console:u1|office:2|1|2026-10-08"]
        assert "明天截止：国庆后报送材料" in recorder.of(DEADLINE)[1].text
        assert len(recorder.of(DEADLINE)) == 2
    finally:
        await app.close()


async def test_a_sunday_deadline_is_reminded_on_the_friday_before(
    tmp_path: Path, kb: KnowledgeBase, librarian: Librarian
) -> None:
    clock = Clock(at("2026-12-01 10:00"))
    app, recorder = await open_app(tmp_path / "s.db", kb, librarian, clock, remind_days="1")
    try:
        office = await county(app, clock, recorder)
        assert "#2" in await office.boss.say("/deadline 2026-12-13 周日截止的材料 统计局")
        assert sent_of(await app.scheduler.tick(at("2026-12-10 09:00")), DEADLINE) == []
        friday = sent_of(await app.scheduler.tick(at("2026-12-11 09:00")), DEADLINE)
        assert [d.key for d in friday if "office:2" in d.key] == ["deadline|user:console:u1|office:2|1|2026-12-12"]
        assert "还有2天：周日截止的材料" in recorder.of(DEADLINE)[0].text
        assert sent_of(await app.scheduler.tick(at("2026-12-12 10:00")), DEADLINE) == []
    finally:
        await app.close()


def test_weekly_reminders_on_a_closed_day_stay_in_their_week() -> None:
    assert weekly_moment(CAL, date(2026, 10, 2), 16) == at("2026-09-30 16:00")  # Friday digest, 国庆
    assert weekly_moment(CAL, date(2026, 10, 5), 10) == at("2026-10-08 10:00")  # Monday nudge, 国庆
    assert weekly_moment(CAL, date(2026, 12, 7), 10) == at("2026-12-07 10:00")
    assert {DEADLINE, NUDGE, DIGEST} == {"deadline", "nudge", "digest"}


def test_the_installed_calendar_range_is_checked_at_run_time() -> None:
    first, last = library_range()
    assert first <= 2004 and last >= 2026 and library_covers(last) and not library_covers(last + 1)
    assert CAL.covered(date(last, 5, 1)) and not CAL.covered(date(last + 1, 5, 1))
    assert CAL.note(date(last + 1, 5, 1)) == UNCOVERED_NOTE and CAL.note(date(last, 5, 1)) == ""


async def test_an_uncovered_year_is_said_in_replies_and_reminders_and_warned_once(
    tmp_path: Path, kb: KnowledgeBase, librarian: Librarian, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    year = library_range()[1] + 1
    monkeypatch.setattr(calendar_module, "_warned_years", set())
    clock = Clock(at("2026-12-01 10:00"))
    app, recorder = await open_app(tmp_path / "u.db", kb, librarian, clock, remind_days="7")
    try:
        office = await county(app, clock, recorder)
        clock.moment = at(f"{year}-03-01 10:00")
        with caplog.at_level(logging.WARNING, logger="qcbot.reminders"):
            reply = await office.boss.say(f"/deadline {year}-03-16 报送材料 统计局")
            assert UNCOVERED_NOTE in reply
            assert UNCOVERED_NOTE in await office.boss.say("/deadline")
            assert UNCOVERED_NOTE in await office.zhang.say("/remind")
            await app.scheduler.tick(at(f"{year}-03-09 09:00"))
        texts = [r.text for r in recorder.of(DEADLINE) if "报送材料" in r.text]
        assert len(texts) == 1 and UNCOVERED_NOTE in texts[0] and "还有7天" in texts[0]
        warnings = [m for m in caplog.messages if f"no holidays for {year}" in m]
        assert len(warnings) == 1
    finally:
        await app.close()


async def test_the_office_declares_holidays_and_adjusted_working_days(
    tmp_path: Path, kb: KnowledgeBase, librarian: Librarian
) -> None:
    year = library_range()[1] + 1
    clock = Clock(at("2026-12-01 10:00"))
    app, recorder = await open_app(tmp_path / "o.db", kb, librarian, clock, remind_days="7")
    try:
        office = await county(app, clock, recorder)
        clock.moment = at(f"{year}-09-01 10:00")
        assert "/holiday" in await office.zhang.say("/holiday 2027-10-01 2027-10-07 国庆")  # admin only
        assert "已设置 #1" in await office.boss.say(f"/holiday {year}-10-01 {year}-10-07 国庆")
        assert "已设置 #2" in await office.boss.say(f"/holiday 补班 {year}-10-09")
        assert "结束日期" in await office.boss.say(f"/holiday {year}-10-07 {year}-10-01")
        assert "格式" in await office.boss.say("/holiday 国庆")
        listing = await office.boss.say("/holiday")
        assert "#1" in listing and "国庆" in listing and "#2" in listing and "调休上班" in listing
        calendar = app.scheduler.services.rules.calendar
        assert not calendar.is_workday(date(year, 10, 4)) and calendar.is_workday(date(year, 10, 9))
        reply = await office.boss.say(f"/deadline {year}-10-08 国庆后报送 统计局")
        assert UNCOVERED_NOTE not in reply  # the office keeps that year's calendar
        nominal = date(year, 10, 1)  # 7 days before: a holiday → the last working day before it
        working = calendar.last_workday(nominal)
        assert working is not None and working < nominal
        await app.scheduler.tick(at(f"{working.isoformat()} 09:00"))
        sent = [r for r in recorder.of(DEADLINE) if "国庆后报送" in r.text]
        assert len(sent) == 1 and f"还有{(date(year, 10, 8) - working).days}天" in sent[0].text
        assert "已删除" in await office.boss.say("/holiday 删除 1")
        assert calendar.is_workday(date(year, 10, 4)) == (date(year, 10, 4).weekday() < 5)
    finally:
        await app.close()


@pytest.mark.parametrize("name,text", [
    ("h.yaml", "- {date: 2031-10-01, kind: 休, name: 国庆}\n- {date: 2031-10-11, kind: 班, name: 补班}\n"),
    ("h.csv", "date,kind,name\n2031-10-01,休,国庆\n2031-10-11,班,补班\n"),
])
def test_the_holidays_file(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    calendar = reminder_rules(Config.from_mapping({"holidays_file": str(path)})).calendar
    assert not calendar.is_workday(date(2031, 10, 1))  # a Wednesday, declared closed
    assert calendar.is_workday(date(2031, 10, 11))  # a Saturday, declared working
    assert calendar.covered(date(2031, 3, 3)) and calendar.note(date(2031, 3, 3)) == ""


def test_a_bad_holidays_file_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("2031-10-01,休,国庆\n2031-13-01,休,坏\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.csv 第2条"):
        reminder_rules(Config.from_mapping({"holidays_file": str(path)}))
    with pytest.raises(ConfigError, match="无法读取"):
        reminder_rules(Config.from_mapping({"holidays_file": str(tmp_path / "missing.yaml")}))


def test_holiday_is_in_the_help_and_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "/holiday 补班 2027-10-09" in readme and "QCBOT_HOLIDAYS_FILE" in readme


# --- the kill test ----------------------------------------------------------------------------------

KILLS = 32
NOW = "2026-12-14 10:00"  # Monday: 1 day before 12-15, 3 before 12-17, (Sun 12-13 →) Fri 12-11 for 12-16
PEOPLE = [(("统计局", "财政局", "市场监管局")[n % 3], "private" if n % 2 == 0 else f"group-{n % 4}")
          for n in range(16)]  # 8 privately, 8 in two groups


async def _county_db(path: Path, kb: KnowledgeBase, librarian: Librarian) -> None:
    clock = Clock(at("2026-12-01 10:00"))
    app, _ = await open_app(path, kb, librarian, clock, register=False)
    try:
        for n, (department, chat) in enumerate(PEOPLE):
            if chat == "private":
                person = Person(app.handler, user=f"k{n}", name=f"联络员{n}")
            else:
                person = Person(app.handler, user=f"k{n}", name=f"联络员{n}", chat_type="group", chat=chat)
            assert "已绑定" in await person.say(f"/bind {department}")
        boss = Person(app.handler, user=ADMIN, name="办公室")
        for day in ("2026-12-15", "2026-12-16", "2026-12-17"):
            assert "已设置" in await boss.say(f"/deadline {day} 报送材料{day[-2:]}")
    finally:
        await app.close()


def _runner(db: Path, outbox: Path, seconds: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reminder_kill_runner", str(db), str(outbox), NOW, str(seconds)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _run_to_the_end(db: Path, outbox: Path, seconds: float) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.reminder_kill_runner", str(db), str(outbox), NOW, str(seconds)],
        cwd=ROOT, env=env, capture_output=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def _delivered(outbox: Path) -> list[str]:
    if not outbox.exists():
        return []
    return [k for line in outbox.read_text(encoding="utf-8").splitlines() for k in json.loads(line)["keys"]]


async def test_killed_at_random_points_nothing_is_lost_or_sent_twice(
    tmp_path: Path, kb: KnowledgeBase, librarian: Librarian
) -> None:
    db = tmp_path / "kill.db"
    await _county_db(db, kb, librarian)
    shutil.copy(db, tmp_path / "calm.db")
    _run_to_the_end(tmp_path / "calm.db", tmp_path / "calm.jsonl", 0.0)  # the same work, never killed
    expected = _delivered(tmp_path / "calm.jsonl")
    assert len(expected) == 16 * 4 and len(set(expected)) == len(expected)  # 3 deadlines + a nudge each

    outbox, rng, kills, ambiguous = tmp_path / "kill.jsonl", random.Random(13), 0, set()
    while kills < KILLS:
        seen = len(_delivered(outbox))
        runner = _runner(db, outbox, 0.3)
        while len(_delivered(outbox)) == seen and runner.poll() is None:  # one send since restart
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.4))  # then a random point: mostly between claim and send
        if runner.poll() is not None:
            runner.wait()
            break  # all done before the kill
        runner.send_signal(signal.SIGKILL)
        runner.wait(10)
        kills += 1
        state = rows(db)
        # killed after the channel accepted a message, before "sent" was written: no channel
        # can tell us it went out, so its retry may send it again (README: a few milliseconds)
        ambiguous |= {k for k in _delivered(outbox) if state.get(k, ("",))[0] == "claimed"}
        if kills == 10:  # three group members write to the bot privately
            with sqlite3.connect(db) as conn:
                conn.execute("update contacts set private_chat = 'private-' || user_id"
                             " where user_id in ('k1', 'k3', 'k5')")
    _run_to_the_end(db, outbox, 0.3)
    delivered = _delivered(outbox)
    twice = {k for k, n in Counter(delivered).items() if n > 1}
    assert kills >= 30
    assert set(delivered) == set(expected)  # 0 lost: every reminder of the calm run arrived
    assert twice - ambiguous == set(), (twice, ambiguous)  # 0 duplicates but the unknowable ones
    left = {k: s for k, (s, _, _) in rows(db).items() if s not in ("sent", "dropped")}
    assert set(left) <= ambiguous, left  # nothing left claimed, failed or lost
    people = Counter(k.split("|")[:4] and "|".join(k.split("|")[:4]) for k in delivered if k not in ambiguous)
    assert max(people.values()) == 1, people  # once per person, kind, deadline and offset
    print(f"kill test: {kills} kills, {len(delivered)} deliveries of {len(expected)}, "
          f"{len(ambiguous)} killed between delivery and its record, {len(twice)} sent twice")

"""SQLite storage: migrations, WAL, one writer, answers with history, state and progress."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.storage import (
    Actor,
    Progress,
    QuestionLogEntry,
    Storage,
    StorageClosed,
    StorageError,
    StorageUnavailable,
)
from bot.storage.migrations import MIGRATIONS

WANG = Actor("telegram", "42", "王")
LI = Actor("wecom_app", "li", "李")


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    store = await Storage.open(tmp_path / "nested" / "dir" / "qcbot.db",
                               clock=lambda: datetime(2026, 5, 1, 8, 0, tzinfo=UTC))
    yield store
    await store.close()


async def test_open_creates_directories_wal_and_every_table(storage: Storage) -> None:
    assert storage.path.exists()
    with sqlite3.connect(storage.path) as conn:
        assert conn.execute("pragma journal_mode").fetchone() == ("wal",)
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert {"liaisons", "answers", "answer_history", "conversations", "assessments",
            "question_log", "_sqlite_migrations"} <= tables


async def test_migrations_are_recorded_in_order_and_applied_once(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    await (await Storage.open(path)).close()
    await (await Storage.open(path)).close()
    db = Database(path)
    names = [m.name for m in MIGRATIONS.applied(db)]
    db.close()
    assert names[:7] == [
        "m001_liaisons_and_answers", "m002_conversations", "m003_question_log", "m004_reminders",
        "m005_reminder_sends_and_holidays", "m006_evidence", "m007_one_county_answer",
    ]
    assert len(names) == len(set(names))


async def test_a_partial_schema_is_completed(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(path)
    MIGRATIONS.apply(db, stop_before="m002_conversations")
    db.close()
    store = await Storage.open(path)
    await store.set_state("console", "c", "u", {"flow": "assess"})
    assert await store.state("console", "c", "u") == {"flow": "assess"}
    await store.close()


async def test_unopenable_path_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageUnavailable):
        await Storage.open(blocker / "qcbot.db")


async def test_bind_and_rebind(storage: Storage) -> None:
    await storage.bind(WANG, "pingyin", "财政局")
    await storage.bind(WANG, "pingyin", "统计局")
    await storage.bind(LI, "pingyin", "统计局")
    liaison = await storage.liaison("telegram", "42", "pingyin")
    assert liaison is not None and liaison.department == "统计局" and liaison.user_name == "王"
    assert liaison.bound_at == "2026-05-01T08:00:00+00:00"
    assert await storage.liaison("telegram", "42", "linzi") is None
    assert [x.user_id for x in await storage.liaisons("pingyin", "统计局")] == ["42", "li"]


async def test_answers_keep_every_change_in_history(storage: Storage) -> None:
    changed = await storage.save_answers("pingyin", "统计局", {"a": True, "b": 3}, WANG)
    assert changed == ["a", "b"]
    assert await storage.save_answers("pingyin", "统计局", {"a": True}, LI) == []
    assert await storage.save_answers("pingyin", "统计局", {"a": False}, LI) == ["a"]
    assert await storage.answers("pingyin", "统计局") == {"a": False, "b": 3}
    assert await storage.answers("pingyin", "财政局") == {"a": False, "b": 3}  # the county's
    history = await storage.history("pingyin", "统计局", "a")
    assert [(h.old, h.new, h.changed_by, h.channel) for h in history] == [
        (None, True, "42", "telegram"), (True, False, "li", "wecom_app")]
    rows = await storage.answer_rows("pingyin", "统计局")
    assert [(r.fact_id, r.updated_by) for r in rows] == [("a", "li"), ("b", "42")]


async def test_answer_and_progress_are_one_transaction(storage: Storage) -> None:
    progress = Progress("telegram", "42", "pingyin", "统计局", position=1, fact_id="b")
    await storage.save_answers("pingyin", "统计局", {"a": 120.0}, WANG, progress=progress)
    assert await storage.progress("telegram", "42", "pingyin", "统计局") == progress
    bad = Progress("telegram", "42", "pingyin", "统计局", position=None, fact_id="c")  # type: ignore[arg-type]
    with pytest.raises(StorageError):
        await storage.save_answers("pingyin", "统计局", {"a": 1.0, "c": 2.0}, WANG, progress=bad)
    assert await storage.answers("pingyin", "统计局") == {"a": 120.0}  # rolled back
    assert len(await storage.history("pingyin", "统计局")) == 1


async def test_conversation_state_per_user_per_chat(storage: Storage) -> None:
    await storage.set_state("telegram", "g1", "42", {"flow": "assess", "department": "统计局"})
    await storage.set_state("telegram", "g1", "li", {"flow": "bind", "options": ["商务局"]})
    assert (await storage.state("telegram", "g1", "42") or {})["department"] == "统计局"
    assert await storage.state("telegram", "private", "42") is None
    await storage.set_state("telegram", "g1", "42", None)
    assert await storage.state("telegram", "g1", "42") is None
    assert await storage.state("telegram", "g1", "li") == {"flow": "bind", "options": ["商务局"]}


async def test_progress_can_be_cleared(storage: Storage) -> None:
    progress = Progress("console", "u", "pingyin", "统计局", 2, "x", return_to=5, status="paused")
    await storage.save_progress(progress)
    assert await storage.progress("console", "u", "pingyin", "统计局") == progress
    await storage.clear_progress("console", "u", "pingyin", "统计局")
    assert await storage.progress("console", "u", "pingyin", "统计局") is None


async def test_question_log(storage: Storage) -> None:
    entry = QuestionLogEntry("wecom_bot", "g", "u", "计量怎么得分？" + "啊" * 3000, "indicator",
                             "points", ("shandong:16", "shandong:17"), False, "答" * 1000)
    await storage.log_question(entry)
    [row] = await storage.questions()
    assert row["hits"] == '["shandong:16", "shandong:17"]' and row["abstained"] == 0
    assert len(row["answer"]) == 300 and len(row["question"]) == 2000


async def test_concurrent_writes_are_serialised(storage: Storage) -> None:
    users = [Actor("console", str(n)) for n in range(40)]
    await asyncio.gather(*(
        storage.save_answers("pingyin", "统计局", {"count": n}, who) for n, who in enumerate(users)
    ))
    assert len(await storage.history("pingyin", "统计局", "count")) == 40


async def test_closed_storage_refuses_calls(tmp_path: Path) -> None:
    store = await Storage.open(tmp_path / "c.db")
    await store.close()
    await store.close()  # twice is fine
    with pytest.raises(StorageClosed):
        await store.answers("pingyin", "统计局")


async def test_log_rows_are_written_behind_and_flushed_on_close(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "q.db")
    entry = QuestionLogEntry("console", "c1", "u1", "计量怎么得分", "indicator", "criteria", ("shandong:17",), False, "…")
    await storage.log_question(entry)
    await storage.log_question(entry)
    assert len(await storage.questions()) == 2  # readers flush first
    await storage.log_question(entry)
    await storage.close()  # close flushes what is still pending
    reopened = await Storage.open(tmp_path / "q.db")
    assert len(await reopened.questions()) == 3
    await reopened.close()


# --- one county answer per fact (shared indicators) ----------------------------------------------


async def test_one_answer_per_fact_whoever_gives_it(storage: Storage) -> None:
    await storage.save_answers("pingyin", "统计局", {"funds": 120.0, "people": 50.0}, WANG)
    assert await storage.save_answers("pingyin", "财政局", {"funds": 100.0}, LI) == ["funds"]
    rows = {r.fact_id: r for r in await storage.answer_rows("pingyin")}
    assert (rows["funds"].value, rows["funds"].department, rows["funds"].user_name) == (100.0, "财政局", "李")
    assert (rows["people"].department, rows["people"].updated_by) == ("统计局", "42")
    assert await storage.answers("pingyin") == {"funds": 100.0, "people": 50.0}
    assert [r.fact_id for r in await storage.answer_rows("pingyin", "统计局")] == ["people"]
    assert [(h.department, h.user_name, h.old, h.new) for h in await storage.history("pingyin", fact_id="funds")] == [
        ("统计局", "王", None, 120.0), ("财政局", "李", 120.0, 100.0)]
    assert len(await storage.plan_answer_rows("pingyin")) == 2
    assert await storage.answers("linzi") == {}


async def test_confirming_keeps_the_author_and_lapses_when_the_answer_changes(storage: Storage) -> None:
    await storage.save_answers("pingyin", "统计局", {"funds": 120.0, "people": 50.0}, WANG)
    progress = Progress("wecom_app", "li", "pingyin", "财政局", position=1, fact_id="people")
    assert await storage.confirm_answers("pingyin", "财政局", {"funds": 120.0, "people": 49.0}, LI,
                                         progress=progress) == ["funds"]  # 49 is not the answer
    assert await storage.progress("wecom_app", "li", "pingyin", "财政局") == progress
    rows = {r.fact_id: r for r in await storage.answer_rows("pingyin")}
    assert (rows["funds"].department, rows["funds"].confirmed) == ("统计局", ("财政局",))
    assert rows["people"].confirmed == ()
    # typing the same value another department gave is a confirmation too, not a change
    assert await storage.save_answers("pingyin", "财政局", {"people": 50.0}, LI) == []
    rows = {r.fact_id: r for r in await storage.answer_rows("pingyin")}
    assert (rows["people"].department, rows["people"].confirmed) == ("统计局", ("财政局",))
    assert len(await storage.history("pingyin")) == 2
    await storage.save_answers("pingyin", "统计局", {"funds": 130.0}, WANG)
    rows = {r.fact_id: r for r in await storage.answer_rows("pingyin")}
    assert rows["funds"].confirmed == ()  # 财政局 agreed to 120, not to 130
    assert await storage.confirm_answers("pingyin", "财政局", {"nothing": 1.0}, LI) == []


async def test_m007_merges_per_department_answers_keeping_the_latest(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(path)
    MIGRATIONS.apply(db, stop_before="m007_one_county_answer")
    db.table("liaisons").insert_all([
        {"channel": "console", "user_id": "u1", "plan": "pingyin", "user_name": "张三",
         "department": "统计局", "bound_at": "2026-12-01T01:00:00+00:00"},
        {"channel": "console", "user_id": "u2", "plan": "pingyin", "user_name": "李四",
         "department": "财政局", "bound_at": "2026-12-01T01:00:00+00:00"}])
    old = [("统计局", "u1", "funds", "120.0", "2026-12-01T02:00:00+00:00"),
           ("财政局", "u2", "funds", "100.0", "2026-12-02T02:00:00+00:00"),
           ("市场监管局", "u3", "funds", "100.0", "2026-12-03T02:00:00+00:00"),
           ("统计局", "u1", "people", "50.0", "2026-12-01T02:00:00+00:00"),
           ("财政局", "u2", "people", "50.0", "2026-12-01T01:00:00+00:00"),
           ("财政局", "u2", "other", "true", "2026-12-01T01:00:00+00:00")]
    db.table("answers").insert_all([
        {"plan": "pingyin", "department": d, "updated_by": u, "fact_id": f, "value": v,
         "updated_at": t, "channel": "console"} for d, u, f, v, t in old])
    db.close()
    store = await Storage.open(path)
    rows = {r.fact_id: r for r in await store.answer_rows("pingyin")}
    assert {f: (r.department, r.updated_by, r.value) for f, r in rows.items()} == {
        "funds": ("市场监管局", "u3", 100.0), "people": ("统计局", "u1", 50.0),
        "other": ("财政局", "u2", True)}
    assert (rows["people"].user_name, rows["funds"].user_name) == ("张三", "")
    # 120 (统计局) was replaced by 财政局's 100; the same 100 again and the same 50 are no change
    assert [(h.department, h.changed_by, h.old, h.new, h.changed_at[:10])
            for h in await store.history("pingyin")] == [("财政局", "u2", 120.0, 100.0, "2026-12-02")]
    await store.save_answers("pingyin", "财政局", {"funds": 90.0}, Actor("console", "u2", "李四"))
    assert len(await store.answer_rows("pingyin")) == 3  # one row per fact from now on
    await store.close()
    with sqlite3.connect(path) as conn:
        pk = [r[1] for r in conn.execute("pragma table_info(answers)") if r[5]]
    assert pk == ["plan", "fact_id"]

"""Two counties in one database, on SQLite and on PostgreSQL: no Store method of one shows the other's rows.

Both counties have the same departments, the same channel user ids and chat ids, the same reminder
keys and shared-state keys; every value written carries its county's name, so a row of the other
county shows up as that name in what a view returns.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from bot.storage import Actor, Progress, QuestionLogEntry, ReminderClaim, Storage, StorageError
from bot.storage.migrations import MIGRATIONS
from bot.storage.pg import PgDatabase, connect, migrate_locked
from handlers.store import SharedState, Store

COUNTIES = ("linzi", "minquan")
DEFAULT = "pingyin"
CHANNEL, CHAT, USER = "wecom", "chat-1", "zhang"
WHO = Actor(CHANNEL, USER, "张")
OTHER = Actor(CHANNEL, "li", "李")
DEPT, DEPT2 = "市场监管局", "统计局"
KEY = "deadline:1:7"
NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
# Methods that return no rows of either county (paths, maintenance, the webhook's send limit).
NO_ROWS = {"evidence_path", "evidence_spool", "clear_spool", "flush", "close", "sweep_shared", "take_slot"}
# Replica leases (m011, built alongside) are claimed per channel message before a county is known;
# they have no county yet, so this test does not vouch for them.
LEASES = {"lease", "renew_lease", "settle_lease", "lapsed_leases", "detach_lease"}


@pytest.fixture(params=["sqlite", "postgresql"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """The deployment's storage (default county pingyin) on either backend."""
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else ""
    store = await Storage.open(tmp_path / "db" / "qcbot.db", database_url=url, default_county=DEFAULT,
                               clock=lambda: NOW)
    yield store
    await store.close()


class Recording:
    """A store that remembers which methods were used (so the test proves it tried every one)."""

    def __init__(self, store: Store, used: set[str]) -> None:
        self._store, self._used = store, used

    def __getattr__(self, name: str) -> Any:
        self._used.add(name)
        return getattr(self._store, name)


def _sha(county: str) -> str:
    return hashlib.sha256(county.encode()).hexdigest()


async def _fill(view: Any, county: str) -> dict[str, int]:
    """Write one of everything through a county's view; the numbers it was given."""
    progress = Progress(CHANNEL, USER, county, DEPT, 1, "f.two")
    assert (await view.bind(WHO, county, DEPT)).plan == county
    await view.bind(OTHER, county, DEPT2)
    assert await view.save_answers(county, DEPT, {"f.one": f"{county}-1", "f.two": county}, WHO, progress)
    assert await view.confirm_answers(county, DEPT2, {"f.one": f"{county}-1"}, OTHER) == ["f.one"]
    await view.save_progress(Progress(CHANNEL, "li", county, DEPT2, 0, "f.one"))
    await view.set_state(CHANNEL, CHAT, USER, {"county": county})
    await view.log_question(QuestionLogEntry(CHANNEL, CHAT, USER, f"{county}的问题", "qa", "", (), True, ""))
    deadline = await view.add_deadline(county, "2026-06-01", f"{county}截止", (DEPT,), WHO)
    await view.saw(WHO, CHAT, private=True)
    assert await view.set_muted(CHANNEL, USER, True) is True
    holiday = await view.add_holiday("2026-10-01", "2026-10-07", "休", f"{county}国庆", WHO)
    claim = ReminderClaim(KEY, "deadline", CHANNEL, CHAT, USER, str(deadline.id), 7, "2026-05-25", "", detail=county)
    assert await view.claim([claim]) == {KEY}  # the same key in each county: each claims its own
    path = view.evidence_path(_sha(county))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(county)
    evidence = await view.add_evidence(county, "shandong", "14", DEPT, WHO, f"{county}.pdf", 6,
                                       "application/pdf", _sha(county))
    await view.add_evidence(county, "shandong", "", "", WHO, f"{county}-未认领.pdf", 6, "application/pdf",
                            _sha(county))
    await view.set_bounds(county, "17.b", 1.0, 0.0, WHO)
    await view.set_bounds(county, "10.a.2", 2.0, 0.0, WHO)
    assert await view.first_time("wecom-msg", "m1", 60) is True  # the same message id in each county
    await view.share_values("buttons", {"b1": county}, 60)
    view.share_later("context", CHAT, county, 60)
    await view.flush()
    return {"deadline": deadline.id, "holiday": holiday.id, "evidence": evidence.id}


def _clean(result: Any, county: str) -> None:
    leaked = [c for c in (*COUNTIES, DEFAULT) if c != county and c in repr(result)]
    assert not leaked, f"{county} sees {leaked}: {result!r}"


async def _reads(view: Any, county: str, ids: dict[str, int]) -> list[Any]:
    """Every read a view offers, through that view (each result must be the county's own)."""
    claimed = await view.claimed([KEY])
    assert set(claimed) == {KEY}
    return [
        await view.liaison(CHANNEL, USER, county), await view.liaisons(county),
        await view.liaisons(county, DEPT), await view.answers(county, DEPT),
        await view.answer_rows(county), await view.answer_rows(county, DEPT),
        await view.plan_answer_rows(county), await view.history(county),
        await view.history(county, DEPT, "f.one"), await view.state(CHANNEL, CHAT, USER),
        await view.progress(CHANNEL, USER, county, DEPT), await view.unanswered_questions(),
        await view.office_deadlines(county), await view.contacts(), await view.muted(),
        await view.holidays(), claimed, await view.pending_claims(), await view.evidence(county),
        await view.evidence(county, DEPT, "14", include_withdrawn=True), await view.evidence_file(ids["evidence"]),
        await view.bounds(county), await view.shared_value("buttons", "b1"),
        await view.shared_value("context", CHAT), await view.unregistered_evidence(),
    ]


async def test_no_store_method_of_one_county_returns_the_others_rows(storage: Storage) -> None:
    used: set[str] = set()
    views = {c: Recording(storage.scoped(c), used) for c in COUNTIES}
    ids = {c: await _fill(views[c], c) for c in COUNTIES}
    first, second = COUNTIES
    assert await views[first].first_time("wecom-msg", "m1", 60) is False  # its own id, seen once

    for county, view in views.items():
        for result in await _reads(view, county, ids[county]):
            _clean(result, county)
        assert (await view.state(CHANNEL, CHAT, USER)) == {"county": county}
        assert (await view.answers(county))["f.two"] == county
        assert [c.user_id for c in (await view.contacts()).values()] == [USER]
        assert await view.muted() == frozenset({(CHANNEL, USER)})
        assert [h.name for h in await view.holidays()] == [f"{county}国庆"]
        assert [q["question"] for q in await view.unanswered_questions()] == [f"{county}的问题"]
        assert len(await view.evidence(county)) == 2 and len(await view.bounds(county)) == 2
        assert await view.unregistered_evidence() == []  # the other county's file is registered too

    # by number: the other county's deadline, holiday and evidence are not there for this view
    a, b = views[first], views[second]
    theirs = ids[second]
    assert theirs["deadline"] != ids[first]["deadline"] and theirs["holiday"] != ids[first]["holiday"]
    assert await a.remove_deadline(first, theirs["deadline"]) is False
    assert await a.remove_holiday(theirs["holiday"]) is False
    assert await a.evidence_file(theirs["evidence"]) is None
    assert await a.rename_evidence(theirs["evidence"], "改名.pdf") is None
    assert await a.assign_evidence(theirs["evidence"], "15") is None
    assert await a.withdraw_evidence(theirs["evidence"]) is None
    assert [(e.name, e.indicator, e.status) for e in await b.evidence(second, DEPT)] == [
        (f"{second}.pdf", "14", "active")]
    assert [h.name for h in await b.holidays()] == [f"{second}国庆"]
    assert [d.text for d in await b.office_deadlines(second)] == [f"{second}截止"]

    # the same user, chat and keys, changed in one county only
    assert (await a.rename_evidence(ids[first]["evidence"], f"{first}新.pdf")) is not None
    assert (await a.assign_evidence(ids[first]["evidence"], "15")) is not None
    assert (await a.withdraw_evidence(ids[first]["evidence"])) is not None
    assert await a.claim_evidence(first, CHANNEL, USER, DEPT) == 1
    assert await a.remove_deadline(first, ids[first]["deadline"]) is True
    assert await a.remove_holiday(ids[first]["holiday"]) is True
    await a.set_state(CHANNEL, CHAT, USER, None)
    assert await a.set_muted(CHANNEL, USER, False) is True
    await a.clear_progress(CHANNEL, USER, first, DEPT)
    assert await a.clear_bounds(first, ["17.b"]) == ["17.b"]
    await a.settle_claims([KEY], "failed", "网络")
    assert await a.retry_claims([KEY], 3) == {KEY}
    await a.settle_claims([KEY], "sent")
    a.share_later("context", CHAT, None, 60)
    await a.flush()
    assert await a.pending_claims() == {} and (await a.claimed([KEY]))[KEY].status == "sent"
    assert set(await b.pending_claims()) == {KEY} and (await b.claimed([KEY]))[KEY].status == "claimed"
    assert await b.retry_claims([KEY], 1) == set()  # its own claim, at its own attempts
    assert await b.state(CHANNEL, CHAT, USER) == {"county": second}
    assert await b.muted() == frozenset({(CHANNEL, USER)})
    assert await b.progress(CHANNEL, USER, second, DEPT) is not None
    assert len(await b.bounds(second)) == 2 and len(await b.holidays()) == 1
    assert await b.shared_value("context", CHAT) == second
    assert await b.claim_evidence(second, CHANNEL, USER, DEPT) == 1
    for county, view in views.items():
        for result in await _reads(view, county, ids[county]):
            _clean(result, county)

    # the deployment's default county sees neither
    assert await storage.state(CHANNEL, CHAT, USER) is None
    assert await storage.contacts() == {} and await storage.muted() == frozenset()
    assert await storage.holidays() == [] and await storage.pending_claims() == {}
    assert await storage.unanswered_questions() == [] and await storage.claimed([KEY]) == {}
    assert await storage.shared_value("buttons", "b1") is None
    assert await storage.first_time("wecom-msg", "m1", 60) is True

    # the maintenance methods run through a view all the same
    assert views[first].clear_spool() == 0 and views[first].evidence_spool().name == "tmp"
    assert await views[first].take_slot("webhook:k", 20, 60.0) == 0.0
    assert await views[first].sweep_shared() >= 0
    await views[first].close()  # a view's close flushes; the storage stays open
    assert await storage.liaison(CHANNEL, USER, second) is not None
    members = {n for cls in (Store, SharedState) for n in vars(cls) if not n.startswith("_")}
    assert members - used - LEASES == set(), "Store methods this test never called"
    assert members >= NO_ROWS


async def test_a_view_refuses_another_countys_plan(storage: Storage) -> None:
    view, other = storage.scoped("linzi"), "minquan"
    calls = [
        view.bind(WHO, other, DEPT), view.liaison(CHANNEL, USER, other), view.liaisons(other),
        view.answers(other), view.answer_rows(other), view.plan_answer_rows(other),
        view.save_answers(other, DEPT, {"f": 1}, WHO),
        view.save_answers("linzi", DEPT, {"f": 1}, WHO, Progress(CHANNEL, USER, other, DEPT, 0)),
        view.confirm_answers(other, DEPT, {"f": 1}, WHO), view.history(other),
        view.progress(CHANNEL, USER, other, DEPT), view.save_progress(Progress(CHANNEL, USER, other, DEPT, 0)),
        view.clear_progress(CHANNEL, USER, other, DEPT), view.add_deadline(other, "2026-06-01", "t", None, WHO),
        view.office_deadlines(other), view.remove_deadline(other, 1),
        view.add_evidence(other, "shandong", "14", DEPT, WHO, "a.pdf", 1, "application/pdf", _sha("x")),
        view.evidence(other), view.claim_evidence(other, CHANNEL, USER, DEPT),
        view.set_bounds(other, "17.b", 1.0, 0.0, WHO), view.bounds(other), view.clear_bounds(other, ["17.b"]),
    ]
    for call in calls:
        with pytest.raises(StorageError, match="linzi"):
            await call
    assert await storage.liaisons(other) == []  # nothing was written
    with pytest.raises(StorageError):
        storage.scoped("")


async def test_views_share_one_core(storage: Storage) -> None:
    first, second = storage.scoped("linzi"), storage.scoped("minquan")
    assert isinstance(first, Storage) and isinstance(second, Storage)
    assert first._core is second._core is storage._core
    await first.log_question(QuestionLogEntry(CHANNEL, CHAT, USER, "问一", "qa", "", (), True, ""))
    await second.log_question(QuestionLogEntry(CHANNEL, CHAT, USER, "问二", "qa", "", (), True, ""))
    assert len(storage._core.deferred) == 2  # one write-behind queue for every county
    await storage.flush()
    assert [q["question"] for q in await first.unanswered_questions()] == ["问一"]
    assert [q["question"] for q in await second.unanswered_questions()] == ["问二"]


def _old_rows(db: Any) -> list[str]:
    """A database as m009 left it, with a row in each table that has no county yet."""
    MIGRATIONS.apply(db, stop_before="m010_county")
    for sql, args in [
        ("insert into conversations (channel, chat_id, user_id, state) values (?, ?, ?, ?)",
         [CHANNEL, CHAT, USER, '{"old": 1}']),
        ("insert into contacts (channel, user_id, last_chat, seen_at) values (?, ?, ?, ?)",
         [CHANNEL, USER, CHAT, "2026-04-01"]),
        ("insert into mutes (channel, user_id, muted_at) values (?, ?, ?)", [CHANNEL, USER, "t"]),
        ("insert into reminders (key, kind, claimed_at, status) values (?, ?, ?, ?)",
         [KEY, "deadline", "t", "claimed"]),
        ("insert into holidays (first, last, kind, created_at) values (?, ?, ?, ?)",
         ["2026-10-01", "2026-10-07", "休", "t"]),
        ("insert into question_log (asked_at, question, abstained) values (?, ?, ?)", ["t", "旧问题", 1]),
        ("insert into kv (scope, key, value, expires_at) values (?, ?, ?, ?)", ["buttons", "b1", "旧", 9e12]),
        ("insert into seen (scope, key, expires_at) values (?, ?, ?)", ["wecom-msg", "m1", 9e12]),
    ]:
        db.execute(sql, args)
    return []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_existing_rows_go_to_the_default_county(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = ""
    if backend == "postgresql":
        url = request.getfixturevalue("pg_server").fresh_database()
        migrate_locked(url, _old_rows)
    else:
        old = Database(tmp_path / "q.db")
        _old_rows(old)
        old.close()
    store = await Storage.open(tmp_path / "q.db", database_url=url, default_county=DEFAULT, clock=lambda: NOW)
    try:
        for view, mine in ((store, True), (store.scoped(DEFAULT), True), (store.scoped("linzi"), False)):
            assert (await view.state(CHANNEL, CHAT, USER) == {"old": 1}) is mine
            assert (set(await view.contacts()) == {(CHANNEL, USER)}) is mine
            assert (await view.muted() == frozenset({(CHANNEL, USER)})) is mine
            assert (set(await view.pending_claims()) == {KEY}) is mine
            assert (len(await view.holidays()) == 1) is mine
            assert (len(await view.unanswered_questions()) == 1) is mine
            assert (await view.shared_value("buttons", "b1") == "旧") is mine
            assert (await view.first_time("wecom-msg", "m1", 60)) is not mine
    finally:
        await store.close()
    if backend == "postgresql":
        with connect(url) as conn:
            keys = PgDatabase(conn).primary_key("reminders")
        assert keys == ["county", "key"]

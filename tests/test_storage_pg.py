"""The storage on a real PostgreSQL (started by the session fixture), and SQL that must mean the same on both.

The backend-neutral tests of test_storage, test_reminders_once, test_office and test_evidence run
here a second time: imported into this module, they resolve `storage`, `office` and `app` to the
fixtures below, which open the same Storage on a fresh PostgreSQL database (test_reminders_once's
`rows(path)` reads that database instead of the file). A test that opens the SQLite file itself
(sqlite3, sqlite-utils' Database, Storage.open) stays SQLite-only.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot.app import App, create_app
from bot.config import Config
from bot.storage import Actor, ReminderClaim, Storage, StorageError, StorageUnavailable
from bot.storage.migrations import MIGRATIONS
from bot.storage.pg import connect, redacted, translate
from knowledge.model import KnowledgeBase
from knowledge.qa import Librarian
from tests import test_evidence, test_office, test_reminders_once, test_storage
from tests.pg import PgServer
from tests.reminder_helpers import Clock, County, at, county, open_app

_SQLITE_ONLY = re.compile(r"sqlite|Database\(|pragma|MIGRATIONS|Storage\.open", re.I)


def _portable(module: ModuleType, fixtures: set[str]) -> dict[str, Callable[..., Any]]:
    """The module's tests that use only these fixtures and never touch the SQLite file."""
    found = {}
    for name, fn in vars(module).items():
        if (name.startswith("test_") and inspect.iscoroutinefunction(fn)
                and set(inspect.signature(fn).parameters) <= fixtures | _parametrized(fn)
                and not _SQLITE_ONLY.search(inspect.getsource(fn))):
            found[name] = fn
    return found


def _parametrized(fn: Callable[..., Any]) -> set[str]:
    marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
    return {name.strip() for m in marks for name in str(m.args[0]).split(",")}


SHARED = {
    **_portable(test_storage, {"storage"}),
    **_portable(test_reminders_once, {"office", "caplog", "kb"}),
    **_portable(test_office, {"office", "kb", "caplog"}),
    **_portable(test_evidence, {"app", "tmp_path", "caplog"}),
}
globals().update(SHARED)  # collected here, with this module's fixtures: the same tests on PostgreSQL


@pytest.fixture
async def storage(tmp_path: Path, pg_url: str) -> AsyncIterator[Storage]:
    store = await Storage.open(tmp_path / "nested" / "dir" / "qcbot.db", database_url=pg_url,
                               clock=lambda: datetime(2026, 5, 1, 8, 0, tzinfo=UTC))
    yield store
    await store.close()


@pytest.fixture
async def office(
    tmp_path: Path, kb: KnowledgeBase, librarian: Librarian, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[County]:
    clock = Clock(at("2026-12-01 10:00"))
    app, recorder = await open_app(tmp_path / "db" / "qcbot.db", kb, librarian, clock, database_url=pg_url)
    monkeypatch.setattr(test_reminders_once, "rows", partial(_reminder_rows, pg_url))
    yield await county(app, clock, recorder)
    await app.close()


@pytest.fixture
async def app(tmp_path: Path, kb: KnowledgeBase, librarian: Librarian, pg_url: str) -> AsyncIterator[App]:
    config = Config.from_mapping({"plan": "pingyin", "db_path": str(tmp_path / "db" / "qcbot.db"),
                                  "database_url": pg_url})
    application = await create_app(config, kb=kb, librarian=librarian)
    yield application
    await application.close()


def _reminder_rows(url: str, path: Path) -> dict[str, tuple[str, int, str | None]]:
    """test_reminders_once.rows on PostgreSQL: key → (status, attempts, sent_at)."""
    with connect(url) as conn:
        found = conn.execute("select key, status, attempts, sent_at from reminders").fetchall()
    return {k: (s, a, t) for k, s, a, t in found}


def test_the_shared_tests_were_found() -> None:
    assert len(_portable(test_storage, {"storage"})) >= 8
    assert len(_portable(test_reminders_once, {"office", "caplog", "kb"})) >= 5
    assert len(_portable(test_office, {"office", "kb", "caplog"})) >= 6
    assert len(_portable(test_evidence, {"app", "tmp_path", "caplog"})) >= 10


# --- migrations, replicas --------------------------------------------------------------------------


async def test_migrations_run_once_even_when_replicas_start_together(tmp_path: Path, pg_server: PgServer) -> None:
    pg_url = pg_server.fresh_database()  # empty
    first, second = await asyncio.gather(*(
        Storage.open(tmp_path / f"r{n}" / "q.db", database_url=pg_url) for n in range(2)))
    await first.close()
    await second.close()
    with connect(pg_url) as conn:
        names = [r[0] for r in conn.execute("select name from _sqlite_migrations order by id")]
        tables = {r[0] for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'public'")}
    assert names == [m.name for m in MIGRATIONS._migrations]
    assert {"liaisons", "answers", "reminders", "evidence", "holidays"} <= tables
    reopened = await Storage.open(tmp_path / "q.db", database_url=pg_url)
    await reopened.close()


async def test_two_replicas_claim_each_reminder_once(tmp_path: Path, pg_url: str) -> None:
    replicas = [await Storage.open(tmp_path / f"r{n}" / "q.db", database_url=pg_url) for n in range(2)]
    claims = [ReminderClaim(f"k{n}", "deadline", "console", "", "t", "office:1", 7, "2026-12-08", "", "claimed")
              for n in range(50)]
    won = await asyncio.gather(*(replicas[n % 2].claim(claims) for n in range(6)))
    assert sorted(k for keys in won for k in keys) == sorted(c.key for c in claims)
    await replicas[0].bind(Actor("telegram", "42", "王"), "pingyin", "统计局")
    assert (await replicas[1].liaison("telegram", "42", "pingyin")) is not None
    for store in replicas:
        await store.close()


async def test_explicit_ids_do_not_break_generated_ones(storage: Storage) -> None:
    def write(db: Any) -> list[int]:
        with db.atomic():
            first = db.table("holidays").insert({"id": 7, "first": "2026-10-01", "last": "2026-10-07",
                                                 "kind": "休", "created_at": "x"}).last_pk
            then = db.table("holidays").insert({"first": "2026-10-10", "last": "2026-10-10",
                                                "kind": "班", "created_at": "x"}).last_pk
            return [first, then]

    assert await storage._write(write) == [7, 8]


# --- one SQL, two backends ---------------------------------------------------------------------------

PORTABLE: list[tuple[str, list[Any]]] = [
    ("select count(*) from mutes where channel = ? and user_id = 'who?'", ["a"]),
    ("select 'x%' || ? || '%'", ["y"]),
    ("select json_extract(?, '$.a.b'), json_extract(?, '$.n')", ['{"a": {"b": "中"}}', '{"n": 3}']),
    ("select group_concat(user_id, '|') from (select user_id from mutes order by user_id) m", []),
    ("select group_concat(user_id) from (select user_id from mutes order by user_id) m", []),
    ("select ifnull(null, ?)", ["d"]),
    ("select datetime('2026-05-01T08:00:00+00:00'), datetime('2026-05-01T08:00:00+00:00', '-7 days')", []),
    ("select count(*) from question_log where abstained = ?", [True]),
    ("select count(*) from mutes where user_id = ?", [5]),
]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_sql_means_the_same_on_both_backends(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else ""
    store = await Storage.open(tmp_path / "q.db", database_url=url)
    for user in ("b", "a", "5"):
        await store.set_muted("console", user, True)

    def run(db: Any) -> list[list[Any]]:
        db.execute("insert or ignore into mutes (channel, user_id, muted_at) values (?, ?, ?)", ["console", "a", "t"])
        db.table("question_log").insert({"asked_at": "t", "question": "q", "abstained": True})
        return [list(db.execute(sql, args).fetchone()) for sql, args in PORTABLE]

    results = await store._write(run)
    await store.close()
    assert results == [
        [0], ["x%y%"], ["中", 3 if backend == "sqlite" else "3"], ["5|a|b"], ["5,a,b"], ["d"],
        ["2026-05-01 08:00:00", "2026-04-24 08:00:00"], [1], [1]]


def test_placeholders_are_translated_outside_quotes_only() -> None:
    assert translate("select '?', \"a?\" from t where x = ? and y like '%z'", True) == (
        "select '?', \"a?\" from t where x = %s and y like '%%z'")
    assert translate("select '%'", False) == "select '%'"
    assert translate("insert or ignore into t (a) values (?)", True) == (
        "insert into t (a) values (%s) on conflict do nothing")
    assert translate("select rowid, 'rowid' from t order by rowid", False) == (
        "select ctid, 'rowid' from t order by ctid")


@pytest.mark.parametrize("sql", ["insert or replace into mutes values (?, ?, ?)", "pragma journal_mode"])
async def test_sqlite_only_statements_are_a_storage_error(storage: Storage, sql: str) -> None:
    with pytest.raises(StorageError, match="SQLite-only"):
        await storage._write(lambda db: db.execute(sql, ["a", "b", "c"] if "?" in sql else None))


async def test_bad_values_are_storage_errors_and_nul_is_kept_out(storage: Storage) -> None:
    with pytest.raises(StorageError):  # a lone surrogate cannot be encoded: the same as on SQLite
        await storage.bind(Actor("console", "\ud800", "x"), "pingyin", "统计局")
    with pytest.raises(StorageError):  # past bigint, as past SQLite's int64
        await storage.remove_deadline("pingyin", 2**70)
    await storage.bind(Actor("console", "nul\x00id", "x"), "pingyin", "统计局")
    [liaison] = await storage.liaisons("pingyin")
    assert liaison.user_id == "nul\ufffdid"
    assert await storage.set_muted("console", "u", True) is True
    assert await storage.set_muted("console", "u", True) is False


async def test_an_unreachable_server_is_storage_unavailable_without_the_password(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket closes
    url = f"postgresql://qc:s3cret@127.0.0.1:{port}/qcbot"
    with pytest.raises(StorageUnavailable) as caught:
        await Storage.open(tmp_path / "q.db", database_url=url)
    assert "s3cret" not in str(caught.value) and "127.0.0.1" in str(caught.value)
    assert redacted(url) == f"postgresql://qc:***@127.0.0.1:{port}/qcbot"


def test_the_database_url_is_configured_and_hidden(pg_url: str) -> None:
    config = Config.load(env={"QCBOT_DATABASE_URL": "postgresql://qc:s3cret@db/qcbot"})
    assert config.database_url == "postgresql://qc:s3cret@db/qcbot"
    assert "s3cret" not in repr(config)


async def test_the_app_stores_in_postgresql(app: App) -> None:
    await app.storage.bind(Actor("console", "u", "张"), "pingyin", "统计局")
    with connect(app.config.database_url) as conn:
        assert conn.execute("select count(*) from liaisons").fetchone() == (1,)
    assert not app.storage.path.exists()  # no SQLite file was made

"""Storage on SQLite (one writer behind a lock, one reader) or PostgreSQL (a pool); every call off the event loop."""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import psycopg
from psycopg_pool import PoolTimeout
from sqlite_utils import Database

from bot.storage import pg
from bot.storage.answers import confirm_one, read_answers, save_one
from bot.storage.bounds import BoundsRows
from bot.storage.errors import StorageClosed, StorageError, StorageUnavailable
from bot.storage.evidence import EvidenceRows
from bot.storage.migrations import migrate
from bot.storage.office import OfficeRows
from bot.storage.shared import SharedRows, _GroupCommit
from handlers.store import (
    Actor,
    AnswerChange,
    Liaison,
    Progress,
    QuestionLogEntry,
    State,
    Store,
    StoredAnswer,
    Value,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
Clock = Callable[[], datetime]
EXCERPT = 300


def _utc_now() -> datetime:
    return datetime.now(UTC)


DEFER_SECONDS = 0.2  # how long log-like rows wait to be written together
STATE_SECONDS = 5.0  # how long a conversation state read stays fresh in this process
STATE_ENTRIES = 10_000


@dataclass(frozen=True)
class _Deferred:
    """One row written behind: the table it goes to (named in the log when it fails) and the write."""

    table: str
    write: Callable[[Database], object]


class _Connection:
    """A sqlite-utils Database used by one thread at a time, or a PostgreSQL pool lending one per call."""

    def __init__(self, path: Path | None = None, pool: pg.PgPool | None = None) -> None:
        self.pool = pool
        self.db = Database(sqlite3.connect(str(path), check_same_thread=False, timeout=10)) if path else None
        self.lock = threading.Lock()

    def run(self, fn: Callable[[Database], T]) -> T:
        if self.pool is not None:  # the one place the facade stands in for a sqlite-utils Database
            return cast(T, self.pool.run(fn))
        with self.lock:
            return fn(cast(Database, self.db))

    def close(self) -> None:
        with self.lock:
            if self.pool is not None:
                self.pool.close()
            elif self.db is not None:
                self.db.close()


# The tables whose rows name their county in a `county` column (m010), with the columns that,
# with the county, identify a row: a row without a county is given the default one unless the
# default county already has a row with that identity (then it stays without, unread).
COUNTY_KEYS: dict[str, tuple[str, ...]] = {
    "conversations": ("channel", "chat_id", "user_id"),
    "question_log": (),
    "contacts": ("channel", "user_id"),
    "mutes": ("channel", "user_id"),
    "reminders": ("key",),
    "holidays": (),
    "seen": ("scope", "key"),
    "kv": ("scope", "key"),
}


def _migrate_and_fill(db: Database, default_county: str) -> list[str]:
    """Apply pending migrations, then give rows without a county the deployment's default county."""
    applied = migrate(db)
    if default_county:
        _fill_county(db, default_county)
    return applied


def _fill_county(db: Database, county: str) -> None:
    with db.atomic():
        for table, keys in COUNTY_KEYS.items():
            clash = " and ".join(f"o.{k} = {table}.{k}" for k in keys)
            taken = f" and not exists (select 1 from {table} o where o.county = ? and {clash})" if keys else ""
            db.execute(f"update {table} set county = ? where county = ''{taken}",
                       [county, county] if keys else [county])


@contextmanager
def _migration_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on <db>.lock beside the database, held while migrating (other processes wait)."""
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _open_sync(path: Path, clock: Clock, default_county: str) -> _Core:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = _Connection(path)
        db = cast(Database, writer.db)
        with _migration_lock(path):  # replicas starting together on a fresh file: one migrates
            db.enable_wal()
            db.execute("PRAGMA synchronous=NORMAL;")
            applied = _migrate_and_fill(db, default_county)
        reader = _Connection(path)
    except (OSError, sqlite3.Error) as exc:
        raise StorageUnavailable(f"无法打开数据库 {path}：{exc}") from exc
    if applied:
        log.info("database %s: applied %s", path, ", ".join(applied))
    return _Core(path, writer, reader, clock)


def _open_pg(path: Path, url: str, clock: Clock, default_county: str) -> _Core:
    where = pg.redacted(url)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        applied = pg.migrate_locked(url, partial(_migrate_and_fill, default_county=default_county))
        pool = pg.PgPool(url)
    except (OSError, psycopg.Error, PoolTimeout) as exc:
        raise StorageUnavailable(f"无法打开数据库 {where}：{_reason(exc)}") from exc
    if applied:
        log.info("database %s: applied %s", where, ", ".join(applied))
    shared = _Connection(pool=pool)  # one pool: the writer lock still keeps one writer per process
    return _Core(path, shared, _Connection(pool=pool), clock)


class _Core:
    """What every view of one database shares: connections, the writer lock, the write-behind
    queue, the group commit and the per-process caches (one object, never copied)."""

    def __init__(self, path: Path, writer: _Connection, reader: _Connection, clock: Clock) -> None:
        self.path = path
        self.writer = writer
        self.reader = reader
        self.clock = clock
        self.write_lock = asyncio.Lock()
        self.closed = False
        self.deferred: list[_Deferred] = []
        self.flush_task: asyncio.Task[None] | None = None
        # (county, channel, chat, user) → (when read, state JSON)
        self.states: dict[tuple[str, str, str, str], tuple[float, str | None]] = {}
        self.seen: dict[tuple[str, ...], str] = {}  # contacts already recorded today
        self.shared_batch = _GroupCommit()
        self.state_seconds = STATE_SECONDS  # 0 with several replicas: another one may change a state


class Storage(OfficeRows, EvidenceRows, SharedRows, BoundsRows):
    """Liaisons, answers (with history), conversation state, progress, the question log, reminders.

    Every row belongs to one county (its plan id): rows with a `plan` column by that column, the
    others (conversations, question log, contacts, mutes, reminder claims, holidays, shared
    state) by their `county` column. `Storage.open` returns the deployment's storage, which is
    the default county for the rows without a plan; `scoped(county)` is a view confined to one.
    """

    def __init__(self, core: _Core, county: str, confined: bool = False) -> None:
        self._core = core
        self.path = core.path
        self._clock = core.clock
        self._shared_batch = core.shared_batch
        self._seen = core.seen
        self.county = county
        self._confined = confined

    @classmethod
    async def open(
        cls, path: str | Path, clock: Clock | None = None, database_url: str = "", default_county: str = "",
        replicas: int = 1,
    ) -> Storage:
        """Open and apply pending migrations: SQLite at `path` (WAL), or PostgreSQL at `database_url`.

        With PostgreSQL, `path` still names the data directory (evidence files live beside it).
        Rows without a county (written before m010, or by a deployment that named none) are given
        `default_county`, which is also the county of this unscoped storage. With `replicas` > 1
        conversation states are read from the database every time (no per-process cache).
        """
        if database_url:
            core = await asyncio.to_thread(_open_pg, Path(path), database_url, clock or _utc_now, default_county)
        else:
            core = await asyncio.to_thread(_open_sync, Path(path), clock or _utc_now, default_county)
        if replicas > 1:
            core.state_seconds = 0.0
        return cls(core, default_county)

    def scoped(self, county: str) -> Store:
        """A view confined to one county, sharing this storage's connections, locks and queues.

        Methods taking a plan refuse any other plan (StorageError); the others read and write
        the county's rows only. Closing a view only flushes: the storage that opened closes.
        """
        if not county or not isinstance(county, str):
            raise StorageError("县（计划）未指定")
        return Storage(self._core, county, confined=True)

    def _plan(self, plan: str) -> str:
        """The plan, when this storage may touch it (a county's view: its own plan only)."""
        if self._confined and plan != self.county:
            raise StorageError(f"本县（{self.county}）的数据库视图不能访问 {plan!r} 的数据")
        return plan

    def _own(self, column: str = "plan") -> tuple[str, list[Any]]:
        """The extra condition confining a by-number lookup to this view's county (none unscoped)."""
        return (f" and {column} = ?", [self.county]) if self._confined else ("", [])

    async def close(self) -> None:
        """Wait for the last write, then close both connections (a county's view only flushes)."""
        core = self._core
        if core.closed:
            return
        await self.flush()
        if self._confined:
            return
        async with core.write_lock:
            core.closed = True
            await asyncio.to_thread(self._close_sync)

    async def ping(self) -> None:
        """Check that the database answers (`select 1` on the reader); StorageError when not."""
        await self._read(lambda db: db.execute("select 1").fetchone())

    def _close_sync(self) -> None:
        for conn in (self._core.writer, self._core.reader):
            conn.close()

    # --- the one wrapper for blocking calls ---------------------------------------------------

    async def _call(self, conn: _Connection, fn: Callable[[Database], T]) -> T:
        if self._core.closed:
            raise StorageClosed("数据库已关闭")
        try:
            return await asyncio.to_thread(conn.run, fn)
        except (sqlite3.Error, psycopg.Error, PoolTimeout, UnicodeError, OverflowError) as exc:  # what cannot bind, too
            raise StorageError(f"数据库操作失败：{exc}") from exc

    async def _read(self, fn: Callable[[Database], T]) -> T:
        return await self._call(self._core.reader, fn)

    async def _write(self, fn: Callable[[Database], T]) -> T:
        if self._core.writer.pool is not None:
            # PostgreSQL orders concurrent writers itself, as it must for several replicas anyway:
            # one lock per process would only queue this replica's writes behind each other.
            return await self._call(self._core.writer, fn)
        async with self._core.write_lock:  # SQLite: one writer
            return await self._call(self._core.writer, fn)

    def _now(self) -> str:
        return self._clock().isoformat(timespec="seconds")

    # --- write-behind for log-like rows --------------------------------------------------------
    # The question log and "where was this user last seen" are records, not answers: they are
    # written in one batch a moment later instead of costing a thread hop per message. Answers,
    # progress and state are never deferred. close() and the readers of these rows flush first.

    def _defer(self, table: str, fn: Callable[[Database], object]) -> None:
        core = self._core
        core.deferred.append(_Deferred(table, fn))
        if core.flush_task is None or core.flush_task.done():
            core.flush_task = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(DEFER_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        """Write every deferred row now (one transaction, one savepoint per row); never raises.

        A row that cannot be written is left out with one error line per table and reason;
        the other rows of the batch are written all the same.
        """
        core = self._core
        if not core.deferred or core.closed:
            return
        batch, core.deferred = core.deferred, []
        try:
            failures = await self._write(partial(_write_rows, batch=batch))
        except Exception as exc:  # the transaction itself failed: nothing of the batch is written
            log.error("could not write %d deferred rows: %s", len(batch), _reason(exc))
            return
        written = len(batch) - sum(count for count, _ in failures.values())
        for (table, kind), (count, reason) in failures.items():
            log.error(
                "deferred write: %d %s row(s) left out (%s: %s); %d other row(s) written",
                count, table, kind, reason, written,
            )

    # --- liaisons -----------------------------------------------------------------------------

    async def bind(self, who: Actor, plan: str, department: str) -> Liaison:
        """Bind (or re-bind) a user to a department for a plan."""
        plan = self._plan(plan)
        row = {
            "channel": who.channel, "user_id": who.user_id, "plan": plan,
            "user_name": who.user_name, "department": department, "bound_at": self._now(),
        }

        def write(db: Database) -> None:
            with db.atomic():
                db.table("liaisons").upsert(row, pk=("channel", "user_id", "plan"))

        await self._write(write)
        return Liaison(**row)

    async def liaison(self, channel: str, user_id: str, plan: str) -> Liaison | None:
        """The user's binding for the plan, if any."""
        plan = self._plan(plan)
        rows = await self._read(lambda db: list(db.table("liaisons").rows_where(
            "channel = ? and user_id = ? and plan = ?", [channel, user_id, plan])))
        return Liaison(**rows[0]) if rows else None

    async def liaisons(self, plan: str, department: str | None = None) -> list[Liaison]:
        """Every liaison of the plan (of one department when given)."""
        where, args = "plan = ?", [self._plan(plan)]
        if department is not None:
            where, args = where + " and department = ?", [*args, department]
        rows = await self._read(lambda db: list(db.table("liaisons").rows_where(
            where, args, order_by="bound_at")))
        return [Liaison(**row) for row in rows]

    # --- answers: one county answer per (plan, fact), with its author -------------------------

    async def answers(self, plan: str, department: str | None = None) -> dict[str, Value]:
        """The county's current answers keyed by fact id (`department` does not narrow them)."""
        return {row.fact_id: row.value for row in await self.answer_rows(plan)}

    async def answer_rows(self, plan: str, department: str | None = None) -> list[StoredAnswer]:
        """The county's current answers with author and time (only those `department` gave, if named)."""
        return await self._read(partial(read_answers, plan=self._plan(plan), department=department))

    async def save_answers(
        self,
        plan: str,
        department: str,
        values: Mapping[str, Value],
        who: Actor,
        progress: Progress | None = None,
    ) -> list[str]:
        """Store the county's answers as given by `department` (history for each change) and the
        progress in one transaction; return the changed ids.

        Giving the value another department already gave confirms it and keeps its author.
        """
        plan = self._plan(plan)
        if progress is not None:
            self._plan(progress.plan)
        now = self._now()

        def write(db: Database) -> list[str]:
            with db.atomic():
                changed = [
                    fact_id for fact_id, value in values.items()
                    if save_one(db, plan, department, fact_id, value, who, now)
                ]
                if progress is not None:
                    _save_progress(db, progress, now)
                return changed

        return await self._write(write)

    async def confirm_answers(
        self,
        plan: str,
        department: str,
        values: Mapping[str, Value],
        who: Actor,
        progress: Progress | None = None,
    ) -> list[str]:
        """Confirm other departments' answers still equal to `values` (and store the progress);
        return the ids confirmed (an answer changed meanwhile is not)."""
        plan = self._plan(plan)
        if progress is not None:
            self._plan(progress.plan)
        now = self._now()

        def write(db: Database) -> list[str]:
            with db.atomic():
                done = [
                    fact_id for fact_id, value in values.items()
                    if confirm_one(db, plan, department, fact_id,
                                    json.dumps(value, ensure_ascii=False), who, now)
                ]
                if progress is not None:
                    _save_progress(db, progress, now)
                return done

        return await self._write(write)

    async def history(
        self, plan: str, department: str | None = None, fact_id: str | None = None
    ) -> list[AnswerChange]:
        """Every change of the county's answers (made by `department`, of one fact, when given), oldest first."""
        where, args = "plan = ?", [self._plan(plan)]
        if department is not None:
            where, args = where + " and department = ?", [*args, department]
        if fact_id is not None:
            where, args = where + " and fact_id = ?", [*args, fact_id]
        rows = await self._read(lambda db: list(db.table("answer_history").rows_where(
            where, args, order_by="id")))
        return [_change(row) for row in rows]

    # --- conversations and progress -----------------------------------------------------------

    async def state(self, channel: str, chat_id: str, user_id: str) -> State | None:
        """The conversation state of a user in a chat, if any.

        Every message reads it, so this process keeps what it last read or wrote for a few
        seconds (another process's change is seen once that short window has passed).
        """
        key = (self.county, channel, chat_id, user_id)
        cached = self._core.states.get(key)
        if cached is not None and time.monotonic() - cached[0] < self._core.state_seconds:
            return json.loads(cached[1]) if cached[1] is not None else None
        rows = await self._read(lambda db: list(db.table("conversations").rows_where(
            "county = ? and channel = ? and chat_id = ? and user_id = ?", list(key))))
        self._remember_state(key, rows[0]["state"] if rows else None)
        return json.loads(rows[0]["state"]) if rows else None

    def _remember_state(self, key: tuple[str, str, str, str], text: str | None) -> None:
        states = self._core.states
        if len(states) >= STATE_ENTRIES:
            states.pop(next(iter(states)))
        states[key] = (time.monotonic(), text)

    async def set_state(self, channel: str, chat_id: str, user_id: str, state: State | None) -> None:
        """Replace the conversation state of a user in a chat (None deletes it)."""
        key = {"county": self.county, "channel": channel, "chat_id": chat_id, "user_id": user_id}
        row = {**key, "state": json.dumps(state, ensure_ascii=False), "updated_at": self._now()}

        def write(db: Database) -> None:
            with db.atomic():
                table = db.table("conversations")
                if state is None:
                    table.delete_where("county = ? and channel = ? and chat_id = ? and user_id = ?",
                                       list(key.values()))
                else:
                    table.upsert(row, pk=tuple(key))

        await self._write(write)
        self._remember_state((self.county, channel, chat_id, user_id),
                             None if state is None else str(row["state"]))

    async def progress(
        self, channel: str, user_id: str, plan: str, department: str
    ) -> Progress | None:
        """A liaison's self-assessment progress for a department, if any."""
        plan = self._plan(plan)
        rows = await self._read(lambda db: list(db.table("assessments").rows_where(
            "channel = ? and user_id = ? and plan = ? and department = ?",
            [channel, user_id, plan, department])))
        if not rows:
            return None
        row = {k: v for k, v in rows[0].items() if k != "updated_at"}
        return Progress(**row)

    async def save_progress(self, progress: Progress) -> None:
        """Store a liaison's progress."""
        self._plan(progress.plan)
        now = self._now()

        def write(db: Database) -> None:
            with db.atomic():
                _save_progress(db, progress, now)

        await self._write(write)

    async def clear_progress(self, channel: str, user_id: str, plan: str, department: str) -> None:
        """Forget a liaison's progress (answers stay)."""
        plan = self._plan(plan)

        def write(db: Database) -> None:
            with db.atomic():
                db.table("assessments").delete_where(
                    "channel = ? and user_id = ? and plan = ? and department = ?",
                    [channel, user_id, plan, department])

        await self._write(write)

    # --- question log -------------------------------------------------------------------------

    async def log_question(self, entry: QuestionLogEntry) -> None:
        """Record one question and what was answered."""
        row = {
            "county": self.county, "asked_at": self._now(), "channel": entry.channel, "chat_id": entry.chat_id,
            "user_id": entry.user_id, "question": entry.question[:2000], "kind": entry.kind,
            "intent": entry.intent, "hits": json.dumps(list(entry.hits), ensure_ascii=False),
            "abstained": int(entry.abstained), "answer": entry.answer[:EXCERPT],
        }

        self._defer("question_log", lambda db: db.table("question_log").insert(row))

    async def questions(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest logged questions of the county, newest first."""
        await self.flush()
        return await self._read(lambda db: list(db.query(
            "select * from question_log where county = ? order by id desc limit ?", [self.county, limit])))


# --- blocking helpers (run inside a transaction on the writer) -----------------------------------


def _write_rows(db: Database, batch: list[_Deferred]) -> dict[tuple[str, str], tuple[int, str]]:
    """Write the rows in one transaction; (table, error) → (count, first reason).

    Without savepoints first (two round trips each on PostgreSQL); only when a row fails is the
    batch written again with one savepoint per row, so that the others are written all the same.
    """
    failures: dict[tuple[str, str], tuple[int, str]] = {}
    try:
        with db.atomic():
            for row in batch:
                row.write(db)
        return failures
    except Exception:  # noqa: S110 (written again row by row below, where each failure is counted)
        pass
    with db.atomic():
        for row in batch:
            try:
                with db.atomic():  # nested: a savepoint, rolled back alone when this row fails
                    row.write(db)
            except Exception as exc:  # an unbindable value, a constraint: this row only
                key = (row.table, type(exc).__name__)
                count, reason = failures.get(key, (0, _reason(exc)))
                failures[key] = (count + 1, reason)
    return failures


def _reason(exc: BaseException) -> str:
    """The error in one short line (messages name positions and types, not the user's text)."""
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _save_progress(db: Database, progress: Progress, now: str) -> None:
    db.table("assessments").upsert(
        {"channel": progress.channel, "user_id": progress.user_id, "plan": progress.plan,
         "department": progress.department, "position": progress.position,
         "fact_id": progress.fact_id, "return_to": progress.return_to,
         "status": progress.status, "updated_at": now},
        pk=("channel", "user_id", "plan", "department"),
    )


def _change(row: Mapping[str, Any]) -> AnswerChange:
    old = row["old_value"]
    return AnswerChange(
        plan=row["plan"], department=row["department"], fact_id=row["fact_id"],
        old=None if old is None else json.loads(old), new=json.loads(row["new_value"]),
        changed_by=row["changed_by"], changed_at=row["changed_at"], channel=row["channel"],
        user_name=row.get("user_name") or "",
    )

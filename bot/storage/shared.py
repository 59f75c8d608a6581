"""State every `qcbot serve` replica shares: ids handled once, short-lived values, send rates.

A mixin of `Storage` (tables from migration m009). Portable SQL only — `execute` with `?`
parameters and `on conflict … do nothing / do update` — so that the PostgreSQL backend runs
the same statements:

- `seen`: an id (a Telegram update_id, a WeCom msgid) is claimed by one insert; the replica
  whose insert wrote the row handles the message, every other one drops it.
- `kv`: a value under (scope, key) until it expires: long button payloads, the answer given to
  a WeCom callback (so a retry on another replica gets the same answer), numbered choices,
  dialogue context (JSON).
- `rate`: sends per bucket per second, summed over a window: a limit all replicas hold together.
  A slot is taken under the bucket's lock (an advisory transaction lock on PostgreSQL, the one
  writer on SQLite), so concurrent replicas never overshoot it.
- `leases` (m011): a message claimed by one replica until an expiry, with the message itself;
  final once its answer is recorded (by the owner only). A lease that lapsed unanswered (its
  replica died) is taken over by the next claim or by another replica's scan of lapsed leases.
  `final` is 0 while the answer is worked out, 1 once recorded, and -1 when a retry was
  acknowledged without it (`detach_lease`): the owner must then push it, a passive answer would
  go to a connection WeCom gave up on, so only an empty answer settles such a lease.

Claims and urgent values go through one group commit (what arrives while a transaction runs is
written together in the next, one statement per claim, savepoints only when one op failed);
values that may wait are written behind with the question log; value reads that arrive together
are one query.
Expired rows are swept every `SWEEP_SECONDS` by whichever replica notices first.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from sqlite_utils import Database

from bot.storage.errors import StorageError
from handlers.store import Lease

log = logging.getLogger(__name__)
T = TypeVar("T")

SWEEP_SECONDS = 600.0  # how often expired rows are deleted
RATE_KEEP = 3600  # rate rows older than this (seconds) are swept: windows are at most an hour
_CLAIM = (
    "insert into seen (county, scope, key, expires_at) values (?, ?, ?, ?)"
    " on conflict (county, scope, key) do update set expires_at = excluded.expires_at"
    " where seen.expires_at < ?"
)
_PUT = (
    "insert into kv (county, scope, key, value, expires_at) values (?, ?, ?, ?, ?)"
    " on conflict (county, scope, key) do update set value = excluded.value,"
    " expires_at = excluded.expires_at"
)
_SLOT = (
    "insert into rate (bucket, second, hits) select ?, ?, 1"
    " where (select coalesce(sum(hits), 0) from rate where bucket = ? and second >= ?) < ?"
    " on conflict (bucket, second) do update set hits = rate.hits + 1"
)

_LEASE = (  # a row back when claimed (new, or a lapsed unanswered one taken over); none when held
    "insert into leases (scope, key, owner, expires_at, final, attempts, work, answer)"
    " values (?, ?, ?, ?, 0, 1, ?, '')"
    " on conflict (scope, key) do update set owner = excluded.owner, expires_at = excluded.expires_at,"
    " final = 0, attempts = leases.attempts + 1 where leases.final <= 0 and leases.expires_at < ?"
    " returning attempts"
)
_LEASE_ROW = "select owner, expires_at, final, answer, attempts from leases where scope = ? and key = ?"
_RENEW = (
    "update leases set expires_at = ? where scope = ? and key = ? and owner = ? and final <= 0"
)
_SETTLE = (  # a passive answer: only while no retry was acknowledged without it
    "update leases set final = 1, expires_at = ?, answer = ?, work = ''"
    " where scope = ? and key = ? and owner = ? and final = 0"
)
_SETTLE_PUSHED = (  # nothing more to send (pushed, or nothing to say)
    "update leases set final = 1, expires_at = ?, answer = ?, work = ''"
    " where scope = ? and key = ? and owner = ? and final <= 0"
)
_DETACH = "update leases set final = -1 where scope = ? and key = ? and final <= 0"
_LAPSED = (
    "select key, work, attempts from leases where scope = ? and final <= 0 and expires_at < ?"
    " order by expires_at limit ?"
)
_VALUES = "select scope, key, value from kv where county = ? and expires_at >= ? and (scope, key) in (values {})"
READ_SIZES = (1, 2, 4, 8, 16, 32, 64)  # reads batched in these sizes (padded): few distinct statements

Op = Callable[[Database], Any]


@dataclass
class _GroupCommit:
    """Small writes waiting for the next transaction, and the task that writes them."""

    ops: list[tuple[Op, asyncio.Future[Any]]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    swept_at: float = -math.inf
    reads: dict[tuple[str, str, str], list[asyncio.Future[str | None]]] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None


class SharedRows:
    """Storage methods for the state replicas share (see the module docstring)."""

    _clock: Callable[[], datetime]
    _shared_batch: _GroupCommit  # one per database, shared by every county's view
    county: str  # seen ids and values are the county's; send rates are not (a webhook's limit is)

    async def _read(self, fn: Callable[[Database], T]) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[[Database], T]) -> T:
        raise NotImplementedError

    def _defer(self, table: str, fn: Callable[[Database], object]) -> None:
        raise NotImplementedError

    def _epoch(self) -> float:
        return self._clock().timestamp()

    # --- ids handled once ------------------------------------------------------------------

    async def first_time(self, scope: str, key: str, ttl: float) -> bool:
        """Claim `key` in `scope` for `ttl` seconds: True for the one caller (any replica) that got it."""
        now = self._epoch()
        self._sweep_when_due(now)
        return bool(await self._commit(lambda db: db.execute(
            _CLAIM, [self.county, scope, key, now + ttl, now]).rowcount))

    # --- leases: a message handled by one replica at a time, answered once ----------------------

    async def lease(self, scope: str, key: str, owner: str, seconds: float, work: str = "") -> Lease:
        """Claim `key` for `owner` for `seconds` (or take it over when it lapsed unanswered); the lease as it is now."""
        now = self._epoch()
        self._sweep_when_due(now)

        def claim(db: Database) -> Lease:
            claimed = db.execute(_LEASE, [scope, key, owner, now + seconds, work, now]).fetchall()
            if claimed:
                return Lease(True, owner, now + seconds, False, "", int(claimed[0][0]))
            holder, expires, final, answer, attempts = db.execute(_LEASE_ROW, [scope, key]).fetchone()
            return Lease(False, str(holder), float(expires), final == 1, str(answer or ""), int(attempts))

        return await self._commit(claim)

    async def renew_lease(self, scope: str, key: str, owner: str, seconds: float) -> bool:
        """Extend `owner`'s unanswered lease by `seconds` from now; False when it is not theirs any more."""
        until = self._epoch() + seconds
        return bool(await self._commit(lambda db: db.execute(_RENEW, [until, scope, key, owner]).rowcount))

    async def settle_lease(self, scope: str, key: str, owner: str, answer: str, keep: float) -> bool:
        """Make `owner`'s lease final with its answer (kept `keep` seconds); False when another replica took it."""
        until = self._epoch() + keep
        statement = _SETTLE if answer else _SETTLE_PUSHED
        return bool(await self._commit(
            lambda db: db.execute(statement, [until, answer, scope, key, owner]).rowcount))

    async def detach_lease(self, scope: str, key: str) -> bool:
        """A retry was acknowledged without the answer: its owner must push it. False when it is final already."""
        return bool(await self._commit(lambda db: db.execute(_DETACH, [scope, key]).rowcount))

    async def lapsed_leases(self, scope: str, limit: int = 50) -> list[tuple[str, str, int]]:
        """Leases of `scope` that lapsed unanswered (their replica died): key, message, attempts so far."""
        rows = await self._read(lambda db: db.execute(_LAPSED, [scope, self._epoch(), limit]).fetchall())
        return [(str(k), str(w or ""), int(a)) for k, w, a in rows]

    # --- short-lived values -------------------------------------------------------------------

    async def shared_value(self, scope: str, key: str) -> str | None:
        """The value under (scope, key), None when there is none or it expired."""
        batch = self._group()
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        batch.reads.setdefault((self.county, scope, key), []).append(future)
        if batch.reader is None or batch.reader.done():
            batch.reader = asyncio.get_running_loop().create_task(self._read_batches(batch))
        return await future

    async def _read_batches(self, batch: _GroupCommit) -> None:
        """Answer the waiting value reads, a county's at a time, one query per READ_SIZES chunk."""
        while batch.reads:
            reads, batch.reads = batch.reads, {}
            counties = sorted({county for county, _, _ in reads})
            found: dict[tuple[str, str, str], str] | Exception
            try:
                found = await self._read(partial(_read_values, counties=counties, wanted=list(reads),
                                                 now=self._epoch()))
            except Exception as exc:  # every read of this batch fails alike
                found = exc
            for wanted, futures in reads.items():
                for future in futures:
                    if future.done():
                        continue
                    if isinstance(found, Exception):
                        future.set_exception(found if isinstance(found, StorageError)
                                             else StorageError(f"数据库操作失败：{found}"))
                    else:
                        future.set_result(found.get(wanted))

    async def share_values(self, scope: str, values: Mapping[str, str], ttl: float) -> None:
        """Store values now (before the caller goes on: another replica may read them next)."""
        if not values:
            return
        expires = self._epoch() + ttl
        rows = [[self.county, scope, key, value, expires] for key, value in values.items()]

        def write(db: Database) -> None:
            for row in rows:
                db.execute(_PUT, row)

        await self._commit(write)

    def share_later(self, scope: str, key: str, value: str | None, ttl: float) -> None:
        """Store (or, for None, delete) a value a moment later, written together with others."""
        if value is None:
            self._defer("kv", lambda db: db.execute(
                "delete from kv where county = ? and scope = ? and key = ?", [self.county, scope, key]))
        else:
            row = [self.county, scope, key, value, self._epoch() + ttl]
            self._defer("kv", lambda db: db.execute(_PUT, row))

    # --- send rates ------------------------------------------------------------------------

    async def take_slot(self, bucket: str, limit: int, window: float) -> float:
        """Take one of `limit` sends allowed in any `window` seconds: 0.0 when taken, else seconds to wait.

        Sends are counted per whole second and a second counts until `window` seconds after
        its end, so the limit holds for every window, not only for aligned ones.
        """
        now = self._epoch()
        second, span = int(now), math.ceil(window)

        def take(db: Database) -> float:
            if not isinstance(db, Database):  # PostgreSQL: one taker per bucket at a time
                db.execute("select pg_advisory_xact_lock(?)", [_lock_id(bucket)])
            if db.execute(_SLOT, [bucket, second, bucket, second - span, limit]).rowcount:
                return 0.0
            oldest = db.execute("select min(second) from rate where bucket = ? and second >= ?",
                                [bucket, second - span]).fetchone()[0]
            return max(0.05, float(oldest if oldest is not None else second) + span + 1 - now)

        return float(await self._commit(take))

    # --- sweeping ----------------------------------------------------------------------------

    async def sweep_shared(self) -> int:
        """Delete expired ids, values and old rate rows; how many rows went."""
        now = self._epoch()

        def sweep(db: Database) -> int:
            return sum(db.execute(sql, [limit]).rowcount for sql, limit in (
                ("delete from seen where expires_at < ?", now),
                ("delete from kv where expires_at < ?", now),
                ("delete from rate where second < ?", int(now) - RATE_KEEP),
                ("delete from leases where final = 1 and expires_at < ?", now),
                ("delete from leases where expires_at < ?", now - RATE_KEEP),  # given up long ago
            ))

        return int(await self._commit(sweep))

    def _sweep_when_due(self, now: float) -> None:
        batch = self._group()
        if now - batch.swept_at < SWEEP_SECONDS:
            return
        batch.swept_at = now
        task = asyncio.get_running_loop().create_task(self.sweep_shared())
        task.add_done_callback(_log_sweep)

    # --- group commit --------------------------------------------------------------------------

    def _group(self) -> _GroupCommit:
        return self._shared_batch

    async def _commit(self, op: Op) -> Any:
        """Run `op` in the next transaction of small writes; its result, or its exception."""
        batch = self._group()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        batch.ops.append((op, future))
        if batch.task is None or batch.task.done():
            batch.task = asyncio.get_running_loop().create_task(self._write_batches(batch))
        return await future

    async def _write_batches(self, batch: _GroupCommit) -> None:
        while batch.ops:
            ops, batch.ops = batch.ops, []
            try:
                results = await self._write(partial(_run_ops, ops=[op for op, _ in ops]))
            except Exception as exc:  # the transaction failed: every op of it fails alike
                results = [exc] * len(ops)
            for (_, future), result in zip(ops, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, StorageError):
                    future.set_exception(result)
                elif isinstance(result, Exception):
                    future.set_exception(StorageError(f"数据库操作失败：{result}"))
                else:
                    future.set_result(result)


def _read_values(db: Database, counties: list[str], wanted: list[tuple[str, str, str]],
                 now: float) -> dict[tuple[str, str, str], str]:
    """The live values of `wanted` (county, scope, key) that exist."""
    found: dict[tuple[str, str, str], str] = {}
    for county in counties:
        keys = [(scope, key) for c, scope, key in wanted if c == county]
        while keys:
            size = next((n for n in READ_SIZES if n >= len(keys)), READ_SIZES[-1])
            chunk, keys = keys[:size], keys[size:]
            chunk += [chunk[-1]] * (size - len(chunk))  # padded: one statement per size
            rows = db.execute(_VALUES.format(", ".join(["(?, ?)"] * size)),
                              [county, now, *(part for pair in chunk for part in pair)]).fetchall()
            found.update({(county, str(s), str(k)): str(v) for s, k, v in rows})
    return found


def _run_ops(db: Database, ops: list[Op]) -> list[Any]:
    """Every op in one transaction; a result or an exception per op.

    Savepoints cost two round trips each: the ops run without, and only when one fails is the
    transaction run again with one savepoint per op, so that the others are written all the same.
    """
    try:
        with _transaction(db):
            return [op(db) for op in ops]
    except Exception as exc:
        if len(ops) == 1:
            return [exc]
    results: list[Any] = []
    with _transaction(db):
        for op in ops:
            try:
                with db.atomic():
                    results.append(op(db))
            except Exception as exc:  # this op only: the others are written all the same
                results.append(exc)
    return results


@contextmanager
def _transaction(db: Database) -> Iterator[None]:
    """A transaction; on SQLite BEGIN IMMEDIATE, so replicas on one file write one at a time
    (a deferred one that read first would fail with SQLITE_BUSY when another wrote meanwhile)."""
    if not isinstance(db, Database) or db.conn.in_transaction:
        with db.atomic():
            yield
        return
    db.execute("begin immediate")
    try:
        yield
    except BaseException:
        db.conn.rollback()
        raise
    try:
        db.execute("commit")
    except sqlite3.Error:
        db.conn.rollback()
        raise


def _lock_id(bucket: str) -> int:
    """A signed 64-bit advisory-lock key for a rate bucket."""
    return int.from_bytes(hashlib.blake2b(bucket.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


def _log_sweep(task: asyncio.Task[int]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.warning("shared state sweep failed: %s", exc, extra={"event": "shared_sweep_failed"})
    elif task.result():
        log.info("shared state: %d expired rows swept", task.result(), extra={"event": "shared_swept"})

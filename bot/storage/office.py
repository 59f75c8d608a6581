"""The office's rows: deadlines set in chat, contacts, mutes, reminder claims, county-wide reads.

A mixin of `Storage` (same writer, reader and off-loop wrapper), kept apart so each module stays
small. The reminder claim is the exactly-once guarantee: `INSERT … ON CONFLICT(key) DO NOTHING`
on the primary key, so of any number of runners (or restarts) exactly one inserts the row and
sends; the row then records the send (`sent_at`) or the failure, and a retry is a
compare-and-set on `attempts`, so that too is taken by one runner only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlite_utils import Database

from bot.storage.answers import read_answers
from handlers.store import (
    Actor,
    ClaimState,
    Contact,
    ReminderClaim,
    StoredAnswer,
    StoredDeadline,
    StoredHoliday,
)

T = TypeVar("T")
_CLAIM = (
    "insert into reminders (county, key, kind, channel, chat_id, target, deadline_id, offset_days,"
    " day, due_at, claimed_at, status, detail, attempts)"
    " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) on conflict(county, key) do nothing"
)
_RETRY = (
    "update reminders set attempts = attempts + 1, claimed_at = ?"
    " where county = ? and key = ? and status in ('claimed', 'failed') and attempts < ?"
    " and (status = 'failed' or claimed_at <= ?)"  # a claim in flight on another replica waits out its lease
)
_CONTACT = "channel, user_id, user_name, private_chat, group_chat, last_chat, seen_at"
_PENDING = (
    "select key, status, attempts, channel from reminders"
    " where county = ? and status in ('claimed', 'failed')"
)


class OfficeRows:
    """Storage methods for reminders and the office's county-wide views (rows of `county` only)."""

    county: str
    _seen: dict[tuple[str, ...], str]

    def _plan(self, plan: str) -> str:
        raise NotImplementedError

    async def _read(self, fn: Callable[[Database], T]) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[[Database], T]) -> T:
        raise NotImplementedError

    def _now(self) -> str:
        raise NotImplementedError

    def _defer(self, table: str, fn: Callable[[Database], object]) -> None:
        raise NotImplementedError

    async def flush(self) -> None:
        raise NotImplementedError

    # --- deadlines set in chat ----------------------------------------------------------------

    async def add_deadline(
        self, plan: str, day: str, text: str, departments: tuple[str, ...] | None, who: Actor
    ) -> StoredDeadline:
        """Store a deadline the office set; return it with its number."""
        row: dict[str, Any] = {
            "plan": self._plan(plan), "date": day, "text": text,
            "departments": None if departments is None else json.dumps(list(departments), ensure_ascii=False),
            "created_by": who.user_id, "created_at": self._now(), "channel": who.channel,
        }

        def write(db: Database) -> int:
            with db.atomic():
                return int(db.table("deadlines").insert(row).last_pk or 0)

        return _deadline({**row, "id": await self._write(write)})

    async def office_deadlines(self, plan: str) -> list[StoredDeadline]:
        """The deadlines set in chat for the plan, by date."""
        rows = await self._read(lambda db: list(db.table("deadlines").rows_where(
            "plan = ?", [self._plan(plan)], order_by="date, id")))
        return [_deadline(row) for row in rows]

    async def remove_deadline(self, plan: str, deadline_id: int) -> bool:
        """Delete a deadline set in chat; False when there is none with that number."""
        plan = self._plan(plan)

        def write(db: Database) -> bool:
            with db.atomic():
                cursor = db.execute("delete from deadlines where plan = ? and id = ?", [plan, deadline_id])
                return cursor.rowcount > 0

        return await self._write(write)

    # --- contacts and mutes -------------------------------------------------------------------

    async def saw(self, who: Actor, chat_id: str, private: bool) -> None:
        """Remember where a user was last seen: their private chat, or the group (written behind)."""
        key = (self.county, who.channel, who.user_id, chat_id, str(private), who.user_name)
        today = self._now()[:10]
        if self._seen.get(key) == today:  # already recorded today: nothing new to write
            return
        self._seen[key] = today
        row = {
            "county": self.county, "channel": who.channel, "user_id": who.user_id, "user_name": who.user_name,
            "last_chat": chat_id, "seen_at": self._now(),
            "private_chat" if private else "group_chat": chat_id,
        }
        self._defer("contacts", lambda db: db.table("contacts").upsert(
            row, pk=("county", "channel", "user_id")))

    async def contacts(self) -> dict[tuple[str, str], Contact]:
        """Everyone seen in the county, keyed by (channel, user_id)."""
        await self.flush()
        rows = await self._read(lambda db: list(db.table("contacts").rows_where(
            "county = ?", [self.county], select=_CONTACT)))
        return {(r["channel"], r["user_id"]): Contact(**r) for r in rows}

    async def set_muted(self, channel: str, user_id: str, muted: bool) -> bool:
        """Mute or unmute a user's reminders; False when nothing changed."""
        key, now = [self.county, channel, user_id], self._now()

        def write(db: Database) -> bool:
            with db.atomic():
                if muted:
                    cursor = db.execute(
                        "insert into mutes (county, channel, user_id, muted_at) values (?, ?, ?, ?)"
                        " on conflict do nothing", [*key, now])
                else:
                    cursor = db.execute(
                        "delete from mutes where county = ? and channel = ? and user_id = ?", key)
                return cursor.rowcount > 0

        return await self._write(write)

    async def muted(self) -> frozenset[tuple[str, str]]:
        """(channel, user_id) of everyone in the county who muted reminders."""
        rows = await self._read(lambda db: list(db.execute(
            "select channel, user_id from mutes where county = ?", [self.county])))
        return frozenset((str(c), str(u)) for c, u in rows)

    # --- reminder claims ----------------------------------------------------------------------

    async def claim(self, claims: Iterable[ReminderClaim]) -> set[str]:
        """Insert each occurrence's row unless its key exists (one transaction); the keys inserted."""
        now = self._now()
        rows = [[
            self.county, c.key, c.kind, c.channel, c.chat_id, c.target, c.deadline_id, c.offset_days, c.day,
            c.due_at, now, c.status, c.detail,
        ] for c in claims]

        def write(db: Database) -> set[str]:
            with db.atomic():
                return {str(r[1]) for r in rows if db.execute(_CLAIM, r).rowcount == 1}

        return await self._write(write)

    async def retry_claims(self, keys: Iterable[str], max_attempts: int, lease: float = 0.0) -> set[str]:
        """Start one more send of unsent claims below `max_attempts` (a `claimed` one only once it is
        `lease` seconds old: another replica may still be sending it); the keys this caller took."""
        wanted, now = list(keys), self._now()
        cutoff = (datetime.fromisoformat(now) - timedelta(seconds=lease)).isoformat(timespec="seconds")

        def write(db: Database) -> set[str]:
            with db.atomic():
                return {k for k in wanted
                        if db.execute(_RETRY, [now, self.county, k, max_attempts, cutoff]).rowcount == 1}

        return await self._write(write)

    async def settle_claims(self, keys: Iterable[str], status: str, detail: str = "") -> None:
        """Record how claimed reminders went: sent (with sent_at), failed or lost (with why)."""
        wanted, now = list(keys), self._now()
        sent_at = now if status == "sent" else None

        def write(db: Database) -> None:
            with db.atomic():
                for key in wanted:
                    db.execute(
                        "update reminders set status = ?, detail = ?, sent_at = coalesce(?, sent_at)"
                        " where county = ? and key = ?", [status, detail[:500], sent_at, self.county, key])

        await self._write(write)

    async def claimed(self, keys: Iterable[str]) -> dict[str, ClaimState]:
        """The claims among these occurrence keys (sent, claimed, failed, dropped or lost)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, ClaimState] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            found.update(await self._read(partial(_claimed_keys, county=self.county, keys=chunk)))
        return found

    async def pending_claims(self) -> dict[str, ClaimState]:
        """Every claim not (yet) sent: claimed by a send that never finished, or failed."""
        rows = await self._read(lambda db: db.execute(_PENDING, [self.county]).fetchall())
        return {str(k): ClaimState(str(s), int(a or 1), str(c or "")) for k, s, a, c in rows}

    # --- the office's holidays and 调休 working days ------------------------------------------

    async def add_holiday(self, first: str, last: str, kind: str, name: str, who: Actor) -> StoredHoliday:
        """Store days the office declared (/holiday); return them with their number."""
        row: dict[str, Any] = {
            "county": self.county, "first": first, "last": last, "kind": kind, "name": name, "created_by": who.user_id,
            "created_at": self._now(), "channel": who.channel,
        }

        def write(db: Database) -> int:
            with db.atomic():
                return int(db.table("holidays").insert(row).last_pk or 0)

        holiday_id = await self._write(write)
        return StoredHoliday(holiday_id, first, last, kind, name, who.user_id, row["created_at"])

    async def holidays(self) -> list[StoredHoliday]:
        """The office's declared days, oldest entry first."""
        rows = await self._read(lambda db: list(db.table("holidays").rows_where(
            "county = ?", [self.county], order_by="id")))
        return [StoredHoliday(
            int(r["id"]), r["first"], r["last"], r["kind"], r.get("name") or "",
            r.get("created_by") or "", r["created_at"]) for r in rows]

    async def remove_holiday(self, holiday_id: int) -> bool:
        """Delete one /holiday entry; False when there is none with that number."""

        def write(db: Database) -> bool:
            with db.atomic():
                return db.execute("delete from holidays where county = ? and id = ?",
                                  [self.county, holiday_id]).rowcount > 0

        return await self._write(write)

    async def plan_answer_rows(self, plan: str) -> list[StoredAnswer]:
        """The county's current answers in the plan (one per fact, with its author)."""
        return await self._read(partial(read_answers, plan=self._plan(plan)))

    async def unanswered_questions(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Questions the librarian could not answer (abstained), newest first."""
        await self.flush()
        return await self._read(lambda db: list(db.query(
            "select asked_at, channel, chat_id, user_id, question from question_log"
            " where county = ? and abstained = 1 order by id desc limit ?", [self.county, limit])))


def _claimed_keys(db: Database, county: str, keys: list[str]) -> dict[str, ClaimState]:
    marks = ",".join("?" * len(keys))
    rows = db.execute(
        f"select key, status, attempts, channel from reminders where county = ? and key in ({marks})",
        [county, *keys],
    ).fetchall()
    return {str(k): ClaimState(str(s), int(a or 1), str(c or "")) for k, s, a, c in rows}


def _deadline(row: dict[str, Any]) -> StoredDeadline:
    raw = row.get("departments")
    return StoredDeadline(
        id=int(row["id"]), plan=row["plan"], date=row["date"], text=row["text"],
        departments=None if raw is None else tuple(json.loads(raw)),
        created_by=row.get("created_by") or "", created_at=row["created_at"],
        channel=row.get("channel") or "",
    )

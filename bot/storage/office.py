"""The office's rows: deadlines set in chat, contacts, mutes, reminder claims, county-wide reads.

A mixin of `Storage` (same writer, reader and off-loop wrapper), kept apart so each module stays
small. The reminder claim is the exactly-once guarantee: `INSERT … ON CONFLICT(key) DO NOTHING`
on the primary key, so of any number of runners (or restarts) exactly one inserts the row and
sends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, TypeVar

from sqlite_utils import Database

from handlers.store import (
    Actor,
    Contact,
    ReminderClaim,
    StoredAnswer,
    StoredDeadline,
)

T = TypeVar("T")
_CLAIM = (
    "insert into reminders (key, kind, channel, chat_id, target, deadline_id, offset_days, day,"
    " due_at, claimed_at, status, detail) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " on conflict(key) do nothing"
)


class OfficeRows:
    """Storage methods for reminders and the office's county-wide views."""

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
            "plan": plan, "date": day, "text": text,
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
            "plan = ?", [plan], order_by="date, id")))
        return [_deadline(row) for row in rows]

    async def remove_deadline(self, plan: str, deadline_id: int) -> bool:
        """Delete a deadline set in chat; False when there is none with that number."""

        def write(db: Database) -> bool:
            with db.atomic():
                cursor = db.execute("delete from deadlines where plan = ? and id = ?", [plan, deadline_id])
                return cursor.rowcount > 0

        return await self._write(write)

    # --- contacts and mutes -------------------------------------------------------------------

    async def saw(self, who: Actor, chat_id: str, private: bool) -> None:
        """Remember where a user was last seen: their private chat, or the group (written behind)."""
        seen: dict[tuple[str, str, str, bool, str], str] = self.__dict__.setdefault("_seen", {})
        key = (who.channel, who.user_id, chat_id, private, who.user_name)
        today = self._now()[:10]
        if seen.get(key) == today:  # already recorded today: nothing new to write
            return
        seen[key] = today
        row = {
            "channel": who.channel, "user_id": who.user_id, "user_name": who.user_name,
            "last_chat": chat_id, "seen_at": self._now(),
            "private_chat" if private else "group_chat": chat_id,
        }
        self._defer("contacts", lambda db: db.table("contacts").upsert(row, pk=("channel", "user_id")))

    async def contacts(self) -> dict[tuple[str, str], Contact]:
        """Everyone seen, keyed by (channel, user_id)."""
        await self.flush()
        rows = await self._read(lambda db: list(db.table("contacts").rows))
        return {(r["channel"], r["user_id"]): Contact(**r) for r in rows}

    async def set_muted(self, channel: str, user_id: str, muted: bool) -> bool:
        """Mute or unmute a user's reminders; False when nothing changed."""
        row = {"channel": channel, "user_id": user_id, "muted_at": self._now()}

        def write(db: Database) -> bool:
            with db.atomic():
                if muted:
                    cursor = db.execute(
                        "insert into mutes (channel, user_id, muted_at) values (?, ?, ?)"
                        " on conflict do nothing", [row["channel"], row["user_id"], row["muted_at"]])
                else:
                    cursor = db.execute(
                        "delete from mutes where channel = ? and user_id = ?", [channel, user_id])
                return cursor.rowcount > 0

        return await self._write(write)

    async def muted(self) -> frozenset[tuple[str, str]]:
        """(channel, user_id) of everyone who muted reminders."""
        rows = await self._read(lambda db: list(db.execute("select channel, user_id from mutes")))
        return frozenset((str(c), str(u)) for c, u in rows)

    # --- reminder claims ----------------------------------------------------------------------

    async def claim(self, claim: ReminderClaim) -> bool:
        """Insert the occurrence's row unless its key exists; True for the one caller that inserted."""
        values = [
            claim.key, claim.kind, claim.channel, claim.chat_id, claim.target, claim.deadline_id,
            claim.offset_days, claim.day, claim.due_at, self._now(), claim.status, claim.detail,
        ]

        def write(db: Database) -> bool:
            with db.atomic():
                return db.execute(_CLAIM, values).rowcount == 1

        return await self._write(write)

    async def settle_claim(self, key: str, status: str, detail: str = "") -> None:
        """Record how a claimed reminder went: sent or failed (with the error)."""

        def write(db: Database) -> None:
            with db.atomic():
                db.execute("update reminders set status = ?, detail = ? where key = ?",
                           [status, detail[:500], key])

        await self._write(write)

    async def claimed(self, keys: Iterable[str]) -> set[str]:
        """Which of these occurrence keys have been claimed (sent, failed or dropped)."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            found.update(await self._read(partial(_claimed_keys, keys=chunk)))
        return found

    async def plan_answer_rows(self, plan: str) -> list[StoredAnswer]:
        """Every department's current answers in the plan."""
        rows = await self._read(lambda db: list(db.table("answers").rows_where(
            "plan = ?", [plan], order_by="department, fact_id")))
        return [StoredAnswer(**{**row, "value": json.loads(row["value"])}) for row in rows]

    async def unanswered_questions(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Questions the librarian could not answer (abstained), newest first."""
        await self.flush()
        return await self._read(lambda db: list(db.query(
            "select asked_at, channel, chat_id, user_id, question from question_log"
            " where abstained = 1 order by id desc limit ?", [limit])))


def _claimed_keys(db: Database, keys: list[str]) -> set[str]:
    marks = ",".join("?" * len(keys))
    rows = db.execute(f"select key from reminders where key in ({marks})", keys).fetchall()
    return {str(row[0]) for row in rows}


def _deadline(row: dict[str, Any]) -> StoredDeadline:
    raw = row.get("departments")
    return StoredDeadline(
        id=int(row["id"]), plan=row["plan"], date=row["date"], text=row["text"],
        departments=None if raw is None else tuple(json.loads(raw)),
        created_by=row.get("created_by") or "", created_at=row["created_at"],
        channel=row.get("channel") or "",
    )

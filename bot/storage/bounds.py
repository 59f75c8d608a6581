"""The office's 功效系数法 bounds (/bounds): one row per plan and measure, who set it and when.

A mixin of `Storage` (same writer, reader and off-loop wrapper). Portable SQL only: the upsert is
`INSERT … ON CONFLICT (plan, measure) DO UPDATE`, which SQLite and PostgreSQL both run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlite_utils import Database

from handlers.store import Actor, StoredBounds

T = TypeVar("T")
_UPSERT = (
    "insert into bounds (plan, measure, satisfied, allowed, set_by, user_id, channel, set_at)"
    " values (?, ?, ?, ?, ?, ?, ?, ?)"
    " on conflict (plan, measure) do update set satisfied = excluded.satisfied,"
    " allowed = excluded.allowed, set_by = excluded.set_by, user_id = excluded.user_id,"
    " channel = excluded.channel, set_at = excluded.set_at"
)
_SELECT = (
    "select plan, measure, satisfied, allowed, set_by, user_id, channel, set_at from bounds"
    " where plan = ? order by measure"
)


class BoundsRows:
    """Storage methods for the office's efficacy bounds."""

    def _plan(self, plan: str) -> str:
        raise NotImplementedError

    async def _read(self, fn: Callable[[Database], T]) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[[Database], T]) -> T:
        raise NotImplementedError

    def _now(self) -> str:
        raise NotImplementedError

    async def set_bounds(
        self, plan: str, measure: str, satisfied: float, allowed: float, who: Actor
    ) -> StoredBounds:
        """Store (or replace) the office's x满意 and x不允许 for one measure."""
        stored = StoredBounds(
            plan=self._plan(plan),
            measure=measure,
            satisfied=float(satisfied),
            allowed=float(allowed),
            set_by=who.user_name or who.user_id,
            user_id=who.user_id,
            channel=who.channel,
            set_at=self._now(),
        )
        row = [
            stored.plan,
            stored.measure,
            stored.satisfied,
            stored.allowed,
            stored.set_by,
            stored.user_id,
            stored.channel,
            stored.set_at,
        ]

        def write(db: Database) -> None:
            with db.atomic():
                db.execute(_UPSERT, row)

        await self._write(write)
        return stored

    async def bounds(self, plan: str) -> list[StoredBounds]:
        """The office's bounds for the plan, by measure."""
        plan = self._plan(plan)
        rows = await self._read(lambda db: db.execute(_SELECT, [plan]).fetchall())
        return [_bounds(row) for row in rows]

    async def clear_bounds(self, plan: str, measures: Iterable[str]) -> list[str]:
        """Delete the office's bounds of these measures; the measures that had some."""
        plan, wanted = self._plan(plan), list(dict.fromkeys(measures))

        def write(db: Database) -> list[str]:
            with db.atomic():
                return [
                    m
                    for m in wanted
                    if db.execute(
                        "delete from bounds where plan = ? and measure = ?", [plan, m]
                    ).rowcount
                    > 0
                ]

        return await self._write(write)


def _bounds(row: Any) -> StoredBounds:
    plan, measure, satisfied, allowed, set_by, user_id, channel, set_at = row
    return StoredBounds(
        plan=str(plan),
        measure=str(measure),
        satisfied=float(satisfied),
        allowed=float(allowed),
        set_by=str(set_by or ""),
        user_id=str(user_id or ""),
        channel=str(channel or ""),
        set_at=str(set_at),
    )

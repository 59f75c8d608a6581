"""Evidence rows (证实性材料) and where their files live: content-addressed under the data directory.

A mixin of `Storage`. Files are stored once per content at `<db dir>/evidence/ab/cd/<sha256>`
(written by the intake to `evidence/tmp/`, fsynced, renamed into place, *then* recorded here), so
a file on disk without a row is a crash between the two steps: `unregistered_evidence()` finds them.
Withdrawing keeps the file (another row may share it, and the office may want it back).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from handlers.store import Actor, EvidenceFile

T = TypeVar("T")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_COLUMNS = (
    "id, plan, framework, indicator, department, uploader, channel, user_id, name, size,"
    " media_type, sha256, received_at, status"
)


class EvidenceRows:
    """Storage methods for the evidence files departments send."""

    path: Path

    def _plan(self, plan: str) -> str:
        raise NotImplementedError

    def _own(self, column: str = "plan") -> tuple[str, list[Any]]:
        raise NotImplementedError

    async def _read(self, fn: Callable[[Database], T]) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[[Database], T]) -> T:
        raise NotImplementedError

    def _now(self) -> str:
        raise NotImplementedError

    # --- where the files are ------------------------------------------------------------------

    def evidence_root(self) -> Path:
        """The directory holding every evidence file (next to the database)."""
        return self.path.parent / "evidence"

    def evidence_path(self, sha256: str) -> Path:
        """Where the file with this content is (or goes): evidence/ab/cd/<sha256>."""
        if _SHA256.fullmatch(sha256) is None:
            raise ValueError(f"not a sha256: {sha256[:80]!r}")
        return self.evidence_root() / sha256[:2] / sha256[2:4] / sha256

    def evidence_spool(self) -> Path:
        """The directory downloads are written to before they are renamed into place."""
        return self.evidence_root() / "tmp"

    def clear_spool(self, older_than: float = 3600.0) -> int:
        """Delete downloads left half-written by a crash (older than `older_than` seconds)."""
        spool, removed = self.evidence_spool(), 0
        limit = time.time() - older_than
        for part in spool.glob("*.part") if spool.is_dir() else ():
            with contextlib.suppress(OSError):
                if part.stat().st_mtime < limit:
                    part.unlink()
                    removed += 1
        return removed

    # --- rows -----------------------------------------------------------------------------------

    async def add_evidence(
        self,
        plan: str,
        framework: str,
        indicator: str,
        department: str,
        who: Actor,
        name: str,
        size: int,
        media_type: str,
        sha256: str,
    ) -> EvidenceFile:
        """Record a file already stored at evidence_path(sha256); return the row with its number."""
        row: dict[str, Any] = {
            "plan": self._plan(plan), "framework": framework, "indicator": indicator,
            "department": department, "uploader": who.user_name or who.user_id,
            "channel": who.channel, "user_id": who.user_id, "name": name, "size": size,
            "media_type": media_type, "sha256": sha256, "received_at": self._now(),
            "status": "active",
        }

        def write(db: Database) -> int:
            with db.atomic():
                return int(db.table("evidence").insert(row).last_pk or 0)

        return EvidenceFile(id=await self._write(write), **row)

    async def evidence(
        self,
        plan: str,
        department: str | None = None,
        indicator: str | None = None,
        include_withdrawn: bool = False,
    ) -> list[EvidenceFile]:
        """The plan's evidence files (optionally one department's or one indicator's), oldest first."""
        where, args = ["plan = ?"], [self._plan(plan)]
        for column, value in (("department", department), ("indicator", indicator)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if not include_withdrawn:
            where.append("status = 'active'")
        sql = f"select {_COLUMNS} from evidence where {' and '.join(where)} order by id"
        rows = await self._read(lambda db: list(db.execute(sql, args)))
        return [_evidence(row) for row in rows]

    async def evidence_file(self, evidence_id: int) -> EvidenceFile | None:
        """One evidence row by its number (any status; a county's view: its own rows only)."""
        own, args = self._own()
        rows = await self._read(lambda db: list(db.execute(
            f"select {_COLUMNS} from evidence where id = ?{own}", [evidence_id, *args])))
        return _evidence(rows[0]) if rows else None

    async def rename_evidence(self, evidence_id: int, name: str) -> EvidenceFile | None:
        """Give an active file a new name; None when there is no such active file."""
        return await self._update(evidence_id, "name = ?", [name])

    async def withdraw_evidence(self, evidence_id: int) -> EvidenceFile | None:
        """Withdraw an active file (the row and the file stay, marked withdrawn)."""
        return await self._update(evidence_id, "status = 'withdrawn'", [])

    async def assign_evidence(self, evidence_id: int, indicator: str) -> EvidenceFile | None:
        """Put an active file under an indicator; None when there is no such active file."""
        return await self._update(evidence_id, "indicator = ?", [indicator])

    async def claim_evidence(self, plan: str, channel: str, user_id: str, department: str) -> int:
        """Give the files a user sent before binding to their department; how many were claimed."""
        plan = self._plan(plan)

        def write(db: Database) -> int:
            with db.atomic():
                return db.execute(
                    "update evidence set department = ? where plan = ? and channel = ?"
                    " and user_id = ? and department = '' and status = 'active'",
                    [department, plan, channel, user_id],
                ).rowcount

        return await self._write(write)

    async def unregistered_evidence(self) -> list[Path]:
        """Stored files no row names (a crash between storing and recording), by path.

        The files are shared by content, so a file any county's row names is registered.
        """
        root = self.evidence_root()
        known = {str(r[0]) for r in await self._read(
            lambda db: list(db.execute("select distinct sha256 from evidence")))}

        def scan() -> list[Path]:
            return sorted(p for p in root.glob("??/??/*") if _SHA256.fullmatch(p.name) and p.is_file())

        return [p for p in await asyncio.to_thread(scan) if p.name not in known]

    async def _update(self, evidence_id: int, assignment: str, args: list[Any]) -> EvidenceFile | None:
        own, own_args = self._own()

        def write(db: Database) -> int:
            with db.atomic():
                return db.execute(
                    f"update evidence set {assignment} where id = ? and status = 'active'{own}",
                    [*args, evidence_id, *own_args],
                ).rowcount

        if not await self._write(write):
            return None
        return await self.evidence_file(evidence_id)


def _evidence(row: Any) -> EvidenceFile:
    (id_, plan, framework, indicator, department, uploader, channel, user_id, name, size,
     media_type, sha256, received_at, status) = row
    return EvidenceFile(
        int(id_), plan, framework, indicator or "", department or "", uploader or "", channel or "",
        user_id or "", name, int(size), media_type, sha256, received_at, status,
    )

"""What the flows need from storage: the `Store` protocol and the typed rows it returns.

`bot/storage/` implements it (SQLite today); the flows in `handlers/` see only this module, so a
second backend is one more class that satisfies `Store`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from knowledge.rules import Value

State = dict[str, Any]


@dataclass(frozen=True)
class Actor:
    """Who did something: the channel and the user's id and name there."""

    channel: str
    user_id: str
    user_name: str = ""


@dataclass(frozen=True)
class Liaison:
    """A user bound to a department for a plan."""

    channel: str
    user_id: str
    user_name: str
    plan: str
    department: str
    bound_at: str


@dataclass(frozen=True)
class StoredAnswer:
    """The county's current answer to one fact: its author (department, user) and time.

    `confirmed` names the other departments that confirmed this very value (确认, not retyped).
    """

    plan: str
    department: str
    fact_id: str
    value: Value
    updated_by: str
    updated_at: str
    channel: str
    user_name: str = ""
    confirmed: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnswerChange:
    """One change of an answer: who (department, user), when, where, old → new (old None when new)."""

    plan: str
    department: str
    fact_id: str
    old: Value | None
    new: Value
    changed_by: str
    changed_at: str
    channel: str
    user_name: str = ""


@dataclass(frozen=True)
class Progress:
    """Where a liaison is in a department's self-assessment (belongs to user + plan + department)."""

    channel: str
    user_id: str
    plan: str
    department: str
    position: int  # index of the current question; == number of questions when finished
    fact_id: str = ""  # the current question's fact, to relocate if the questions change
    return_to: int | None = None  # after editing one question, go back here
    status: str = "active"  # active | paused | done


@dataclass(frozen=True)
class QuestionLogEntry:
    """One question put to the librarian and what it answered."""

    channel: str
    chat_id: str
    user_id: str
    question: str
    kind: str
    intent: str
    hits: tuple[str, ...]
    abstained: bool
    answer: str


@dataclass(frozen=True)
class Contact:
    """Where a user was last seen: their private chat and the last group, per channel."""

    channel: str
    user_id: str
    user_name: str = ""
    private_chat: str | None = None
    group_chat: str | None = None
    last_chat: str = ""
    seen_at: str = ""


@dataclass(frozen=True)
class StoredDeadline:
    """A deadline the office set in chat (departments None = every department)."""

    id: int
    plan: str
    date: str  # ISO date
    text: str
    departments: tuple[str, ...] | None
    created_by: str
    created_at: str
    channel: str


@dataclass(frozen=True)
class ReminderClaim:
    """One reminder occurrence, claimed before it is sent (its key is unique)."""

    key: str
    kind: str
    channel: str
    chat_id: str
    target: str
    deadline_id: str
    offset_days: int
    day: str
    due_at: str
    status: str = "claimed"  # claimed → sent; failed → retried once → sent | lost; or dropped
    detail: str = ""


@dataclass(frozen=True)
class ClaimState:
    """Where a claimed reminder stands: its status, how many sends were started, its channel."""

    status: str
    attempts: int = 1
    channel: str = ""


@dataclass(frozen=True)
class StoredHoliday:
    """Days the office declared in chat (/holiday): first to last, 休 (closed) or 班 (working)."""

    id: int
    first: str  # ISO date
    last: str
    kind: str
    name: str
    created_by: str
    created_at: str


@dataclass(frozen=True)
class EvidenceFile:
    """One file a department sent as 证实性材料 for an indicator (content-addressed)."""

    id: int
    plan: str
    framework: str
    indicator: str  # indicator id in the plan's framework ("14"); "" while unassigned
    department: str
    uploader: str  # user name (or id)
    channel: str
    user_id: str
    name: str  # neutralised original file name
    size: int
    media_type: str  # detected from content: application/pdf, image/png, …
    sha256: str
    received_at: str  # ISO UTC
    status: str = "active"  # active | withdrawn


@dataclass(frozen=True)
class Lease:
    """A claim on a message with an owner and an expiry; final once its answer is recorded."""

    won: bool  # the caller holds it now (new, or taken over after it lapsed)
    owner: str
    expires_at: float  # epoch seconds
    final: bool = False
    answer: str = ""  # what was answered (final leases only; "" = nothing to send again)
    attempts: int = 1


class SharedState(Protocol):
    """What every `qcbot serve` replica shares: ids handled once, short-lived values, send rates."""

    async def first_time(self, scope: str, key: str, ttl: float) -> bool: ...
    async def lease(self, scope: str, key: str, owner: str, seconds: float, work: str = "") -> Lease: ...
    async def renew_lease(self, scope: str, key: str, owner: str, seconds: float) -> bool: ...
    async def settle_lease(self, scope: str, key: str, owner: str, answer: str, keep: float) -> bool: ...
    async def detach_lease(self, scope: str, key: str) -> bool: ...
    async def lapsed_leases(self, scope: str, limit: int = 50) -> list[tuple[str, str, int]]: ...
    async def shared_value(self, scope: str, key: str) -> str | None: ...
    async def share_values(self, scope: str, values: Mapping[str, str], ttl: float) -> None: ...
    def share_later(self, scope: str, key: str, value: str | None, ttl: float) -> None: ...
    async def take_slot(self, bucket: str, limit: int, window: float) -> float: ...
    async def sweep_shared(self) -> int: ...


@dataclass(frozen=True)
class StoredBounds:
    """功效系数法 bounds the office set for one measure of a plan (/bounds): official, not estimated."""

    plan: str
    measure: str  # 17.b, 10.a.2
    satisfied: float  # x满意
    allowed: float  # x不允许
    set_by: str  # the user's name (or id)
    user_id: str
    channel: str
    set_at: str  # ISO UTC


class Store(SharedState, Protocol):
    """Durable storage as the flows use it; every call is async and safe to await from the loop.

    A store serves one county (`Storage.scoped(county)`): methods taking a plan accept that plan
    only, the others (state, question log, contacts, mutes, holidays, reminder claims, shared
    values) read and write that county's rows only.
    """

    # liaisons and answers
    async def bind(self, who: Actor, plan: str, department: str) -> Liaison: ...
    async def liaison(self, channel: str, user_id: str, plan: str) -> Liaison | None: ...
    async def liaisons(self, plan: str, department: str | None = None) -> list[Liaison]: ...
    # one county answer per fact: `department` in answers() does not narrow them (every
    # department sharing an indicator sees the same answer); in answer_rows/history it is the author
    async def answers(self, plan: str, department: str | None = None) -> dict[str, Value]: ...
    async def answer_rows(self, plan: str, department: str | None = None) -> list[StoredAnswer]: ...
    async def plan_answer_rows(self, plan: str) -> list[StoredAnswer]: ...
    async def save_answers(
        self,
        plan: str,
        department: str,
        values: Mapping[str, Value],
        who: Actor,
        progress: Progress | None = None,
    ) -> list[str]: ...
    async def confirm_answers(
        self,
        plan: str,
        department: str,
        values: Mapping[str, Value],
        who: Actor,
        progress: Progress | None = None,
    ) -> list[str]: ...
    async def history(
        self, plan: str, department: str | None = None, fact_id: str | None = None
    ) -> list[AnswerChange]: ...

    # conversations and self-assessment progress
    async def state(self, channel: str, chat_id: str, user_id: str) -> State | None: ...
    async def set_state(
        self, channel: str, chat_id: str, user_id: str, state: State | None
    ) -> None: ...
    async def progress(
        self, channel: str, user_id: str, plan: str, department: str
    ) -> Progress | None: ...
    async def save_progress(self, progress: Progress) -> None: ...
    async def clear_progress(
        self, channel: str, user_id: str, plan: str, department: str
    ) -> None: ...

    # questions
    async def log_question(self, entry: QuestionLogEntry) -> None: ...
    async def unanswered_questions(self, limit: int = 1000) -> list[dict[str, Any]]: ...

    # the office: deadlines, contacts, mutes
    async def add_deadline(
        self, plan: str, day: str, text: str, departments: tuple[str, ...] | None, who: Actor
    ) -> StoredDeadline: ...
    async def office_deadlines(self, plan: str) -> list[StoredDeadline]: ...
    async def remove_deadline(self, plan: str, deadline_id: int) -> bool: ...
    async def saw(self, who: Actor, chat_id: str, private: bool) -> None: ...
    async def contacts(self) -> dict[tuple[str, str], Contact]: ...
    async def set_muted(self, channel: str, user_id: str, muted: bool) -> bool: ...
    async def muted(self) -> frozenset[tuple[str, str]]: ...

    async def add_holiday(
        self, first: str, last: str, kind: str, name: str, who: Actor
    ) -> StoredHoliday: ...
    async def holidays(self) -> list[StoredHoliday]: ...
    async def remove_holiday(self, holiday_id: int) -> bool: ...

    # reminders: each occurrence claimed once (by key), then sent, retried once, or given up
    async def claim(self, claims: Iterable[ReminderClaim]) -> set[str]: ...
    async def retry_claims(self, keys: Iterable[str], max_attempts: int, lease: float = 0.0) -> set[str]: ...
    async def settle_claims(self, keys: Iterable[str], status: str, detail: str = "") -> None: ...
    async def claimed(self, keys: Iterable[str]) -> dict[str, ClaimState]: ...
    async def pending_claims(self) -> dict[str, ClaimState]: ...

    # evidence (证实性材料): content-addressed files under the data directory, one row each
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
    ) -> EvidenceFile: ...
    async def evidence(
        self,
        plan: str,
        department: str | None = None,
        indicator: str | None = None,
        include_withdrawn: bool = False,
    ) -> list[EvidenceFile]: ...
    def evidence_path(self, sha256: str) -> Path: ...
    def evidence_spool(self) -> Path: ...
    def clear_spool(self, older_than: float = 3600.0) -> int: ...
    async def evidence_file(self, evidence_id: int) -> EvidenceFile | None: ...
    async def claim_evidence(self, plan: str, channel: str, user_id: str, department: str) -> int: ...
    async def unregistered_evidence(self) -> list[Path]: ...
    async def rename_evidence(self, evidence_id: int, name: str) -> EvidenceFile | None: ...
    async def withdraw_evidence(self, evidence_id: int) -> EvidenceFile | None: ...
    async def assign_evidence(self, evidence_id: int, indicator: str) -> EvidenceFile | None: ...

    # the office's 功效系数法 bounds (/bounds): one row per measure, official until cleared
    async def set_bounds(
        self, plan: str, measure: str, satisfied: float, allowed: float, who: Actor
    ) -> StoredBounds: ...
    async def bounds(self, plan: str) -> list[StoredBounds]: ...
    async def clear_bounds(self, plan: str, measures: Iterable[str]) -> list[str]: ...

    async def flush(self) -> None: ...
    async def close(self) -> None: ...

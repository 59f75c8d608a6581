"""Typed rows returned by Storage: liaisons, answers, their history, progress and the question log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Value = bool | int | float | str
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
    """A department's current answer to one fact."""

    plan: str
    department: str
    fact_id: str
    value: Value
    updated_by: str
    updated_at: str
    channel: str


@dataclass(frozen=True)
class AnswerChange:
    """One change of an answer: who, when, where, old → new (old None when first answered)."""

    plan: str
    department: str
    fact_id: str
    old: Value | None
    new: Value
    changed_by: str
    changed_at: str
    channel: str


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
    status: str = "claimed"  # claimed → sent | failed; or dropped (stale, superseded)
    detail: str = ""

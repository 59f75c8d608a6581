"""Durable storage: SQLite (migrations, WAL, one writer) or PostgreSQL (a pool, same migrations); calls off the event loop."""

from bot.storage.errors import StorageClosed, StorageError, StorageUnavailable
from bot.storage.store import Storage
from handlers.store import (
    Actor,
    AnswerChange,
    Contact,
    Liaison,
    Progress,
    QuestionLogEntry,
    ReminderClaim,
    State,
    StoredAnswer,
    StoredDeadline,
    Value,
)

__all__ = [
    "Actor",
    "AnswerChange",
    "Contact",
    "Liaison",
    "Progress",
    "QuestionLogEntry",
    "ReminderClaim",
    "State",
    "Storage",
    "StorageClosed",
    "StorageError",
    "StorageUnavailable",
    "StoredAnswer",
    "StoredDeadline",
    "Value",
]

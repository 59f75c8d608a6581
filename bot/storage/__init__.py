"""Durable storage in SQLite: schema migrations, WAL, one writer, calls off the event loop."""

from bot.storage.errors import StorageClosed, StorageError, StorageUnavailable
from bot.storage.records import (
    Actor,
    AnswerChange,
    Liaison,
    Progress,
    QuestionLogEntry,
    State,
    StoredAnswer,
    Value,
)
from bot.storage.store import Storage

__all__ = [
    "Actor",
    "AnswerChange",
    "Liaison",
    "Progress",
    "QuestionLogEntry",
    "State",
    "Storage",
    "StorageClosed",
    "StorageError",
    "StorageUnavailable",
    "StoredAnswer",
    "Value",
]

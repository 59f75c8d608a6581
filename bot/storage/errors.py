"""The storage package's one exception family."""

from __future__ import annotations


class StorageError(Exception):
    """Base class for every error raised by the storage package."""


class StorageUnavailable(StorageError):
    """The database file cannot be opened or migrated."""


class StorageClosed(StorageError):
    """The storage was used after close()."""

"""The plan import's exception: a table that cannot be read, said in one Chinese line."""

from __future__ import annotations


class TableError(ValueError):
    """The county's table cannot be read or has no task table in it; the message says why."""

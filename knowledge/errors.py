"""Errors raised while loading and validating knowledge files."""

from __future__ import annotations


class KnowledgeError(Exception):
    """A knowledge file is invalid; the message names the file and the path inside it."""

    def __init__(self, file: str, path: str, message: str) -> None:
        self.file = file
        self.path = path
        self.message = message
        where = f"{file}: {path}" if path else file
        super().__init__(f"{where}: {message}")


class NotFound(LookupError):
    """An unknown framework, plan, indicator or department was asked for."""


class DeadlineError(ValueError):
    """A deadline the office typed cannot be read; the message says why, in Chinese."""

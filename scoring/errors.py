"""The scoring package's one exception family."""

from __future__ import annotations


class ScoringError(Exception):
    """Base class for every error raised by the scoring package."""


class RuleError(ScoringError):
    """A fact declaration or a rule in a knowledge file is invalid."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class AnswerError(ScoringError):
    """A liaison's answer cannot be read as a value of the fact's type."""

    def __init__(self, message: str, fact: str = "") -> None:
        self.message = message
        self.fact = fact
        super().__init__(f"{fact}: {message}" if fact else message)

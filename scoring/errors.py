"""The scoring package's one exception family (invalid rules are knowledge.errors.RuleError)."""

from __future__ import annotations


class ScoringError(Exception):
    """Base class for every error raised while scoring answers against rules."""


class AnswerError(ScoringError):
    """A liaison's answer cannot be read as a value of the fact's type."""

    def __init__(self, message: str, fact: str = "") -> None:
        self.message = message
        self.fact = fact
        super().__init__(f"{fact}: {message}" if fact else message)

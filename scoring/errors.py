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


class UnsureAnswer(AnswerError):
    """The liaison says they do not know (不清楚、说不准、待确认…): nothing is stored."""


class AmbiguousPercent(AnswerError):
    """A bare number below 1 for a percent: 0.35 may mean 0.35% or 35%; the liaison must choose."""

    def __init__(self, message: str, fact: str, choices: tuple[float, float]) -> None:
        super().__init__(message, fact)
        self.choices = choices


class FutureDate(AnswerError):
    """A completion date after today: a task cannot be completed in the future."""

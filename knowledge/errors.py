"""The knowledge package's one exception family: invalid files and rules, unknown names."""

from __future__ import annotations


class KnowledgeError(Exception):
    """A knowledge file is invalid; the message reads `file: path: message`."""

    def __init__(self, file: str, path: str, message: str) -> None:
        self.file = file
        self.path = path
        self.message = message
        where = ": ".join(part for part in (file, path) if part)
        super().__init__(f"{where}: {message}" if where else message)


class RuleError(KnowledgeError):
    """A fact declaration or a rule is invalid, located by its path (the loader adds the file)."""

    def __init__(self, path: str, message: str, file: str = "") -> None:
        super().__init__(file, path, message)

    def in_file(self, file: str) -> RuleError:
        """The same error, naming the knowledge file it was found in."""
        return RuleError(self.path, self.message, file)


class NotFound(LookupError):
    """An unknown framework, plan, indicator or department was asked for."""


class DeadlineError(ValueError):
    """A deadline the office typed cannot be read; the message says why, in Chinese."""

"""Path-aware reads of raw rule and fact data (YAML already parsed) raising RuleError."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scoring.errors import RuleError


def join(path: str, key: str | int) -> str:
    """The path of a key or list index below path."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def is_number(value: object) -> bool:
    """True for int and float values (bool is not a number here)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class Fields:
    """A raw mapping with its path: unknown keys rejected, typed reads with located errors."""

    def __init__(self, raw: object, path: str, allowed: tuple[str, ...]) -> None:
        if not isinstance(raw, dict):
            raise RuleError(path, "应为映射（键: 值）")
        for key in raw:
            if key not in allowed:
                raise RuleError(join(path, str(key)), f"未知字段（可用：{'、'.join(allowed)}）")
        self.data: dict[Any, Any] = raw
        self.path = path

    def at(self, key: str) -> str:
        """The path of one key of this mapping."""
        return join(self.path, key)

    def has(self, key: str) -> bool:
        """True when the key is present and not null."""
        return self.data.get(key) is not None

    def raw(self, key: str) -> Any:
        """The raw value of a key that must be present."""
        if not self.has(key):
            raise RuleError(self.at(key), "缺少字段")
        return self.data[key]

    def number(self, key: str, default: float | None = None, *, negative: bool = False) -> float:
        """A number (not negative unless allowed); default when absent, else required."""
        if not self.has(key):
            if default is None:
                raise RuleError(self.at(key), "缺少字段")
            return default
        value = self.data[key]
        if not is_number(value):
            raise RuleError(self.at(key), "应为数字")
        if value < 0 and not negative:
            raise RuleError(self.at(key), "不能为负数")
        return float(value)

    def opt_number(self, key: str, *, negative: bool = True) -> float | None:
        """A number that may be absent."""
        return self.number(key, negative=negative) if self.has(key) else None

    def text(self, key: str, default: str | None = None) -> str:
        """A non-empty string; default when absent, else required."""
        if not self.has(key):
            if default is None:
                raise RuleError(self.at(key), "缺少字段")
            return default
        value = self.data[key]
        if not isinstance(value, str) or not value.strip():
            raise RuleError(self.at(key), "应为非空文字")
        return value.strip()

    def flag(self, key: str, default: bool = False) -> bool:
        """A true/false value."""
        value = self.data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise RuleError(self.at(key), "应为 true 或 false")
        return value

    def items(self, key: str) -> Iterator[tuple[str, Any]]:
        """(path, element) for each element of a required non-empty list."""
        value = self.raw(key)
        if not isinstance(value, list) or not value:
            raise RuleError(self.at(key), "应为非空列表")
        for i, item in enumerate(value):
            yield join(self.at(key), i), item

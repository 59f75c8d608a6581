"""The one validating reader of parsed YAML: typed reads whose errors name the file and the path."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from knowledge.errors import KnowledgeError

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def join(path: str, key: str | int) -> str:
    """The path of a key or list index below path: a.b, a[2]."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def is_number(value: object) -> bool:
    """True for int and float values (bool is not a number here)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class Node:
    """A mapping read from a knowledge file, remembering where it is; unknown keys are refused.

    `error` is the KnowledgeError class raised (the rules language passes RuleError); nodes made
    from this one (child, node) keep the file and the error class.
    """

    def __init__(
        self,
        file: str,
        path: str,
        data: object,
        allowed: tuple[str, ...],
        *,
        error: type[KnowledgeError] = KnowledgeError,
    ) -> None:
        self.file = file
        self.path = path
        self._error = error
        if not isinstance(data, dict):
            raise self.error("", "应为映射（键: 值）")
        unknown = [k for k in data if k not in allowed]
        if unknown:
            raise self.error(str(unknown[0]), f"未知字段（可用：{'、'.join(allowed)}）")
        self.data: dict[Any, Any] = data

    def at(self, key: str) -> str:
        """The path of a key below this node."""
        return join(self.path, key)

    def error(self, key: str, message: str) -> KnowledgeError:
        """An error located at a key of this node ("" for the node itself)."""
        return self.error_at(self.at(key) if key else self.path, message)

    def error_at(self, path: str, message: str) -> KnowledgeError:
        """An error located at any path of the same file."""
        return self._error(file=self.file, path=path, message=message)

    def node(self, path: str, data: object, allowed: tuple[str, ...]) -> Node:
        """Another mapping of the same file at path (e.g. an element yielded by items)."""
        return Node(self.file, path, data, allowed, error=self._error)

    def child(self, key: str, allowed: tuple[str, ...]) -> Node | None:
        """The nested mapping under a key, or None when absent."""
        if not self.has(key):
            return None
        return self.node(self.at(key), self.data[key], allowed)

    def has(self, key: str) -> bool:
        """True when the key is present and not null."""
        return self.data.get(key) is not None

    def raw(self, key: str) -> Any:
        """The raw value of a key that must be present."""
        if not self.has(key):
            raise self.error(key, "缺少字段")
        return self.data[key]

    def get(self, key: str, default: object = None) -> Any:
        """The raw value, or the default when the key is absent."""
        return self.data.get(key, default)

    def text(self, key: str, default: str | None = None) -> str:
        """A string as written (numbers are not text); default when absent, else required."""
        value = self.data.get(key)
        if value is None:
            if default is None:
                raise self.error(key, "缺少字段")
            return default
        if not isinstance(value, str):
            raise self.error(key, "应为文字")
        return value

    def opt_text(self, key: str) -> str | None:
        """A string that may be absent or null."""
        return self.text(key) if self.has(key) else None

    def nonblank(self, key: str, default: str | None = None) -> str:
        """A non-empty string, stripped; default when absent, else required."""
        if not self.has(key):
            if default is None:
                raise self.error(key, "缺少字段")
            return default
        value = self.data[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, "应为非空文字")
        return value.strip()

    def number(self, key: str, default: float | None = None, *, negative: bool = False) -> float:
        """A number (not negative unless allowed); default when absent, else required."""
        if not self.has(key):
            if default is None:
                raise self.error(key, "缺少字段")
            return default
        value = self.data[key]
        if not is_number(value):
            raise self.error(key, "应为数字")
        if value < 0 and not negative:
            raise self.error(key, "不能为负数")
        return float(value)

    def opt_number(self, key: str, *, negative: bool = False) -> float | None:
        """A number that may be absent or null."""
        return self.number(key, negative=negative) if self.has(key) else None

    def flag(self, key: str, default: bool = False) -> bool:
        """A true/false value; default when absent or null."""
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, "应为 true 或 false")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        """A list of strings (absent → empty)."""
        out: list[str] = []
        for path, item in self.items(key):
            if not isinstance(item, str):
                raise self.error_at(path, "应为文字")
            out.append(item)
        return tuple(out)

    def items(self, key: str, *, required: bool = False) -> Iterator[tuple[str, Any]]:
        """(path, element) for each element of a list (absent → none, unless required)."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(key, "缺少字段")
            return
        if not isinstance(value, list):
            raise self.error(key, "应为列表")
        for i, item in enumerate(value):
            yield join(self.at(key), i), item

    def nonempty_items(self, key: str) -> Iterator[tuple[str, Any]]:
        """(path, element) for each element of a required, non-empty list."""
        value = self.raw(key)
        if not isinstance(value, list) or not value:
            raise self.error(key, "应为非空列表")
        for i, item in enumerate(value):
            yield join(self.at(key), i), item

    def date(self, key: str, *, required: bool = False) -> date | None:
        """An ISO date (YYYY-MM-DD)."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(key, "缺少字段")
            return None
        if isinstance(value, date):
            return value
        if not isinstance(value, str) or not _ISO_DATE.match(value):
            raise self.error(key, "日期格式应为 YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise self.error(key, "不是有效日期") from None

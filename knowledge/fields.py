"""Typed reads from parsed YAML with errors that name the file and the path."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from knowledge.errors import KnowledgeError

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Node:
    """A mapping read from a knowledge file, remembering where it is."""

    def __init__(self, file: str, path: str, data: object, allowed: tuple[str, ...]) -> None:
        self.file = file
        self.path = path
        if not isinstance(data, dict):
            raise self.error("", "应为映射（键: 值）")
        unknown = [k for k in data if k not in allowed]
        if unknown:
            raise self.error(str(unknown[0]), f"未知字段（可用：{'、'.join(allowed)}）")
        self.data: dict[str, Any] = data

    def at(self, key: str) -> str:
        """The path of a key below this node."""
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str) -> KnowledgeError:
        """An error located at a key of this node."""
        return KnowledgeError(self.file, self.at(key) if key else self.path, message)

    def has(self, key: str) -> bool:
        """True when the key is present and not null."""
        return self.data.get(key) is not None

    def raw(self, key: str, default: object = None) -> Any:
        """The raw value, or the default when absent."""
        return self.data.get(key, default)

    def text(self, key: str, *, required: bool = True, default: str = "") -> str:
        """A string field (numbers are not accepted as text)."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(key, "缺少字段")
            return default
        if not isinstance(value, str):
            raise self.error(key, "应为文字")
        return value

    def opt_text(self, key: str) -> str | None:
        """A string field that may be absent or null."""
        return self.text(key, required=False) if self.has(key) else None

    def number(self, key: str, *, required: bool = True) -> float | None:
        """A numeric field."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(key, "缺少字段")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, "应为数字")
        if value < 0:
            raise self.error(key, "不能为负数")
        return float(value)

    def flag(self, key: str, default: bool = False) -> bool:
        """A true/false field."""
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, "应为 true 或 false")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        """A list of strings (absent → empty)."""
        value = self.data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.error(key, "应为列表")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise KnowledgeError(self.file, f"{self.at(key)}[{i}]", "应为文字")
        return tuple(value)

    def items(self, key: str, *, required: bool = False) -> Iterator[tuple[str, object]]:
        """Yield (path, element) for each element of a list field."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(key, "缺少字段")
            return
        if not isinstance(value, list):
            raise self.error(key, "应为列表")
        for i, item in enumerate(value):
            yield f"{self.at(key)}[{i}]", item

    def date(self, key: str, *, required: bool = False) -> date | None:
        """An ISO date field (YYYY-MM-DD)."""
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

    def child(self, key: str, allowed: tuple[str, ...]) -> Node | None:
        """The nested mapping under a key, or None when absent."""
        if not self.has(key):
            return None
        return Node(self.file, self.at(key), self.data[key], allowed)

"""Small bounded state the adapters keep: seen ids, remembered choices, long button payloads."""

from __future__ import annotations

import hashlib
import unicodedata
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

from handlers.core import Choice

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruDict(Generic[K, V]):
    """A dict that forgets its least recently used entries beyond `maxsize`."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        if key not in self._data:
            return None
        self._data.move_to_end(key)
        return self._data[key]

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def pop(self, key: K) -> V | None:
        return self._data.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)


class SeenIds(Generic[K]):
    """De-duplication: `first(key)` is True once per key among the last `maxsize` keys."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self._seen: LruDict[K, bool] = LruDict(maxsize)

    def first(self, key: K) -> bool:
        if key in self._seen:
            self._seen.get(key)
            return False
        self._seen.put(key, True)
        return True

    def __len__(self) -> int:
        return len(self._seen)


class ChoiceMemory:
    """The last choices offered to each (chat, user), so a bare "2" can mean the second button."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self._choices: LruDict[tuple[str, str], tuple[Choice, ...]] = LruDict(maxsize)

    def remember(self, chat_id: str, user_id: str, choices: Sequence[Choice]) -> None:
        """Offer these choices next; an empty sequence forgets the previous ones."""
        if choices:
            self._choices.put((chat_id, user_id), tuple(choices))
        else:
            self._choices.pop((chat_id, user_id))

    def resolve(self, chat_id: str, user_id: str, text: str) -> Choice | None:
        """The choice a bare number picks ("1", "２", " 3 。"), or None."""
        digits = unicodedata.normalize("NFKC", text).strip().rstrip("。.、 ")
        choices = self._choices.get((chat_id, user_id))
        if not choices or not digits.isdigit():
            return None
        index = int(digits) - 1
        return choices[index] if 0 <= index < len(choices) else None


class CallbackPayloads:
    """Telegram callback_data is ≤64 bytes: longer payloads travel as a short id."""

    MARK = "~"
    LIMIT = 64

    def __init__(self, maxsize: int = 20_000) -> None:
        self._long: LruDict[str, str] = LruDict(maxsize)

    def encode(self, payload: str) -> str:
        """callback_data for a payload: itself when short, else "~" + a 16-hex digest."""
        if len(payload.encode("utf-8")) <= self.LIMIT and not payload.startswith(self.MARK):
            return payload
        data = self.MARK + hashlib.blake2b(payload.encode("utf-8"), digest_size=8).hexdigest()
        self._long.put(data, payload)
        return data

    def decode(self, data: str) -> str | None:
        """The payload behind callback_data; None when a short id has been forgotten."""
        return self._long.get(data) if data.startswith(self.MARK) else data

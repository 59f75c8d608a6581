"""Small bounded state the adapters keep: seen ids, remembered choices, long button payloads.

Each keeps a bounded copy in this process (the fast first check) and, given a `SharedState`
(the Store, shared by every `serve` replica), writes through to it and asks it when the local
copy does not know: a button made on one replica works when pressed on another. `LocalState`
is the process-local SharedState for the console and single-process tests.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import unicodedata
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import replace
from typing import Generic, TypeVar

from handlers.core import Choice
from handlers.store import Lease, SharedState

log = logging.getLogger("qcbot.channels")

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

    TTL = 7 * 24 * 3600.0  # seconds the shared copy of offered choices is kept

    def __init__(
        self, maxsize: int = 10_000, shared: SharedState | None = None, scope: str = "choices"
    ) -> None:
        self._choices: LruDict[tuple[str, str], tuple[Choice, ...]] = LruDict(maxsize)
        self.shared = shared
        self.scope = scope

    def remember(self, chat_id: str, user_id: str, choices: Sequence[Choice]) -> None:
        """Offer these choices next; an empty sequence forgets the previous ones."""
        if choices:
            self._choices.put((chat_id, user_id), tuple(choices))
        else:
            self._choices.pop((chat_id, user_id))
        if self.shared is not None:
            value = json.dumps([[c.label, c.payload] for c in choices], ensure_ascii=False)
            self.shared.share_later(self.scope, _key(chat_id, user_id), value if choices else None, self.TTL)

    def resolve(self, chat_id: str, user_id: str, text: str) -> Choice | None:
        """The choice a bare number picks ("1", "２", " 3 。") among this process's copy, or None."""
        return _pick(self._choices.get((chat_id, user_id)), text)

    async def lookup(self, chat_id: str, user_id: str, text: str) -> Choice | None:
        """The choice a bare number picks, as the shared state knows it (whichever replica offered it)."""
        if self.shared is None or _number(text) is None:
            return self.resolve(chat_id, user_id, text)
        try:
            stored = await self.shared.shared_value(self.scope, _key(chat_id, user_id))
        except Exception as exc:  # the store is down: this process's copy is the best there is
            log.warning("choices: shared state unavailable: %s", exc, extra={"event": "shared_unavailable"})
            return self.resolve(chat_id, user_id, text)
        return _pick(_choices(stored), text)


def _key(*parts: str) -> str:
    return "\x1f".join(parts)


def _number(text: str) -> int | None:
    digits = unicodedata.normalize("NFKC", text).strip().rstrip("。.、 ")
    return int(digits) if digits.isdigit() else None


def _pick(choices: Sequence[Choice] | None, text: str) -> Choice | None:
    number = _number(text)
    if not choices or number is None:
        return None
    return choices[number - 1] if 1 <= number <= len(choices) else None


def _choices(stored: str | None) -> tuple[Choice, ...]:
    """Choices from their JSON form; () for anything unreadable."""
    try:
        items = json.loads(stored) if stored else []
        return tuple(Choice(str(label), str(payload)) for label, payload in items)
    except (ValueError, TypeError):
        return ()


class CallbackPayloads:
    """Telegram callback_data is ≤64 bytes: longer payloads travel as a short id."""

    MARK = "~"
    LIMIT = 64
    TTL = 30 * 24 * 3600.0  # seconds a long payload is kept in the shared state

    def __init__(
        self, maxsize: int = 20_000, shared: SharedState | None = None, scope: str = "telegram.button"
    ) -> None:
        self._long: LruDict[str, str] = LruDict(maxsize)
        self._unsaved: dict[str, str] = {}
        self.shared = shared
        self.scope = scope

    def encode(self, payload: str) -> str:
        """callback_data for a payload: itself when short, else "~" + a 16-hex digest."""
        if len(payload.encode("utf-8")) <= self.LIMIT and not payload.startswith(self.MARK):
            return payload
        data = self.MARK + hashlib.blake2b(payload.encode("utf-8"), digest_size=8).hexdigest()
        self._long.put(data, payload)
        if self.shared is not None:
            self._unsaved[data] = payload
        return data

    async def save(self) -> None:
        """Write the payloads encoded since the last save to the shared state (before sending them)."""
        if self.shared is None or not self._unsaved:
            return
        batch, self._unsaved = self._unsaved, {}
        try:
            await self.shared.share_values(self.scope, batch, self.TTL)
        except Exception as exc:  # the buttons still work when pressed on this replica
            log.warning("buttons: shared state unavailable: %s", exc, extra={"event": "shared_unavailable"})

    def decode(self, data: str) -> str | None:
        """The payload behind callback_data in this process; None when a short id is not known here."""
        return self._long.get(data) if data.startswith(self.MARK) else data

    async def recall(self, data: str) -> str | None:
        """The payload behind callback_data, wherever it was made; None when it was forgotten."""
        payload = self.decode(data)
        if payload is not None or self.shared is None:
            return payload
        try:
            payload = await self.shared.shared_value(self.scope, data)
        except Exception as exc:
            log.warning("buttons: shared state unavailable: %s", exc, extra={"event": "shared_unavailable"})
            return None
        if payload is not None:
            self._long.put(data, payload)
        return payload


class LocalState:
    """SharedState kept in this process only (the console, one-process tests): bounded, expiring."""

    def __init__(self, maxsize: int = 50_000, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._seen: LruDict[tuple[str, str], float] = LruDict(maxsize)
        self._values: LruDict[tuple[str, str], tuple[str, float]] = LruDict(maxsize)
        self._sends: dict[str, deque[float]] = {}
        self._leases: LruDict[tuple[str, str], tuple[Lease, str]] = LruDict(maxsize)
        self._detached: LruDict[tuple[str, str], bool] = LruDict(maxsize)

    async def lease(self, scope: str, key: str, owner: str, seconds: float, work: str = "") -> Lease:
        """Claim (scope, key) for `owner`, or take over a lapsed unanswered claim; the lease now."""
        now = self.clock()
        found = self._leases.get((scope, key))
        if found is not None and (found[0].final or found[0].expires_at >= now):
            return replace(found[0], won=False)
        attempts = found[0].attempts + 1 if found is not None else 1
        lease = Lease(True, owner, now + seconds, attempts=attempts)
        self._detached.pop((scope, key))
        self._leases.put((scope, key), (lease, found[1] if found is not None else work))
        return lease

    async def renew_lease(self, scope: str, key: str, owner: str, seconds: float) -> bool:
        """Extend `owner`'s unanswered lease; False when it is not theirs."""
        found = self._leases.get((scope, key))
        if found is None or found[0].owner != owner or found[0].final:
            return False
        self._leases.put((scope, key), (Lease(True, owner, self.clock() + seconds,
                                              attempts=found[0].attempts), found[1]))
        return True

    async def settle_lease(self, scope: str, key: str, owner: str, answer: str, keep: float) -> bool:
        """Make `owner`'s lease final with its answer; False when it is not theirs (or detached, for an answer)."""
        found = self._leases.get((scope, key))
        if found is None or found[0].owner != owner or found[0].final or (answer and (scope, key) in self._detached):
            return False
        lease = Lease(False, owner, self.clock() + keep, True, answer, found[0].attempts)
        self._leases.put((scope, key), (lease, ""))
        return True

    async def detach_lease(self, scope: str, key: str) -> bool:
        """A retry was acknowledged without the answer: only an empty one settles it now; False when final."""
        found = self._leases.get((scope, key))
        if found is None or found[0].final:
            return False
        self._detached.put((scope, key), True)
        return True

    async def lapsed_leases(self, scope: str, limit: int = 50) -> list[tuple[str, str, int]]:
        """Unanswered leases of `scope` that lapsed."""
        now = self.clock()
        lapsed = [(key, work, lease.attempts) for (sc, key), (lease, work) in list(self._leases._data.items())
                  if sc == scope and not lease.final and lease.expires_at < now]
        return lapsed[:limit]

    async def first_time(self, scope: str, key: str, ttl: float) -> bool:
        """True the first time (scope, key) is claimed within `ttl` seconds."""
        now = self.clock()
        expires = self._seen.get((scope, key))
        if expires is not None and expires >= now:
            return False
        self._seen.put((scope, key), now + ttl)
        return True

    async def shared_value(self, scope: str, key: str) -> str | None:
        """The value under (scope, key) unless expired."""
        found = self._values.get((scope, key))
        return found[0] if found is not None and found[1] >= self.clock() else None

    async def share_values(self, scope: str, values: Mapping[str, str], ttl: float) -> None:
        """Keep the values for `ttl` seconds."""
        for key, value in values.items():
            self._values.put((scope, key), (value, self.clock() + ttl))

    def share_later(self, scope: str, key: str, value: str | None, ttl: float) -> None:
        """Keep (None: forget) a value; at once, here."""
        if value is None:
            self._values.pop((scope, key))
        else:
            self._values.put((scope, key), (value, self.clock() + ttl))

    async def take_slot(self, bucket: str, limit: int, window: float) -> float:
        """0.0 when fewer than `limit` sends happened in the last `window` seconds (one is taken)."""
        now = self.clock()
        sends = self._sends.setdefault(bucket, deque())
        while sends and now - sends[0] >= window:
            sends.popleft()
        if len(sends) < limit:
            sends.append(now)
            return 0.0
        return max(0.05, window - (now - sends[0]))

    async def sweep_shared(self) -> int:
        """Nothing to sweep: the bounded dicts forget by themselves."""
        return 0

"""The dialogue context of each person in each chat: in memory, or shared by the serve replicas.

Kept apart from the Store's conversation state: the context changes on every question, it must
not disturb the flows that state belongs to (自评, /bind), and losing it only costs one
“您问的是哪一项？”. One process keeps it in memory (bounded). Given a `SharedState` (the Store,
when several `serve` replicas run), every read asks the store — the replica that answered the
last question may be another one — and writes go behind, batched with the question log (a
follow-up comes seconds later, the write a fraction of a second). Contexts expire after
knowledge.dialogue.IDLE_SECONDS (30 minutes) without a message.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from typing import Any

from handlers.store import SharedState
from knowledge.dialogue import IDLE_SECONDS, Context
from knowledge.query import Intent

log = logging.getLogger("qcbot.dialogues")

Key = tuple[str, str, str]  # (channel, chat, user): two people in one group never share a context
LIMIT = 10_000  # contexts kept; the least recently used is dropped first
SCOPE = "dialogue"


class Conversations:
    """Context per (channel, chat, user), least recently used dropped past `limit`."""

    def __init__(self, limit: int = LIMIT, shared: SharedState | None = None) -> None:
        self.limit = limit
        self.shared = shared
        self._contexts: OrderedDict[Key, Context] = OrderedDict()

    async def get(self, key: Key, now: float) -> Context | None:
        """The live context of a person in a chat, if any (an expired one is dropped)."""
        if self.shared is not None:
            try:
                stored = await self.shared.shared_value(SCOPE, _key(key))
            except Exception as exc:  # the store is down: what this process knows will do
                log.warning("dialogue context unavailable: %s", exc, extra={"event": "shared_unavailable"})
            else:
                context = decode(stored)
                return context if context is not None and context.alive(now) else None
        return self._local(key, now)

    def put(self, key: Key, context: Context) -> None:
        """Keep the context after an answer (shared: written a moment later)."""
        self._contexts[key] = context
        self._contexts.move_to_end(key)
        while len(self._contexts) > self.limit:
            self._contexts.popitem(last=False)
        if self.shared is not None:
            self.shared.share_later(SCOPE, _key(key), encode(context), IDLE_SECONDS)

    def _local(self, key: Key, now: float) -> Context | None:
        context = self._contexts.get(key)
        if context is None:
            return None
        if not context.alive(now):
            del self._contexts[key]
            return None
        self._contexts.move_to_end(key)
        return context

    def __len__(self) -> int:
        return len(self._contexts)


def _key(key: Key) -> str:
    return "\x1f".join(key)


def encode(context: Context) -> str:
    """The context as JSON."""
    return json.dumps(
        {
            "plan": context.plan, "framework": context.framework, "ids": list(context.ids),
            "intent": context.intent.value, "topic": context.topic, "explicit": context.explicit,
            "choices": [list(c) for c in context.choices], "noted": sorted(context.noted),
            "at": context.at,
        },
        ensure_ascii=False,
    )


def decode(text: str | None) -> Context | None:
    """The context from its JSON; None for nothing or anything unreadable."""
    if not text:
        return None
    try:
        data: dict[str, Any] = json.loads(text)
        return Context(
            plan=str(data["plan"]),
            framework=None if data.get("framework") is None else str(data["framework"]),
            ids=tuple(str(i) for i in data.get("ids", ())),
            intent=Intent(data.get("intent", Intent.LOOKUP.value)),
            topic=str(data.get("topic", "")),
            explicit=bool(data.get("explicit", False)),
            choices=tuple((str(a), str(b)) for a, b in data.get("choices", ())),
            noted=frozenset(str(n) for n in data.get("noted", ())),
            at=float(data.get("at", 0.0)),
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("dialogue context unreadable: %s", exc, extra={"event": "dialogue_unreadable"})
        return None

"""The dialogue context of each person in each chat, kept in memory (bounded, safe to lose).

Kept here rather than in the Store's conversation state: the context changes on every question
(a write per question would cost more than the answer itself), it must not disturb the flows that
state belongs to (自评, /bind), and losing it on a restart only costs one “您问的是哪一项？”.
Contexts expire after knowledge.dialogue.IDLE_SECONDS (30 minutes) without a message.
"""

from __future__ import annotations

from collections import OrderedDict

from knowledge.dialogue import Context

Key = tuple[str, str, str]  # (channel, chat, user): two people in one group never share a context
LIMIT = 10_000  # contexts kept; the least recently used is dropped first


class Conversations:
    """Context per (channel, chat, user), least recently used dropped past `limit`."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._contexts: OrderedDict[Key, Context] = OrderedDict()

    def get(self, key: Key, now: float) -> Context | None:
        """The live context of a person in a chat, if any (an expired one is dropped)."""
        context = self._contexts.get(key)
        if context is None:
            return None
        if not context.alive(now):
            del self._contexts[key]
            return None
        self._contexts.move_to_end(key)
        return context

    def put(self, key: Key, context: Context) -> None:
        """Keep the context after an answer."""
        self._contexts[key] = context
        self._contexts.move_to_end(key)
        while len(self._contexts) > self.limit:
            self._contexts.popitem(last=False)

    def __len__(self) -> int:
        return len(self._contexts)

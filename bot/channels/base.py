"""The seam every channel implements: its HTTP routes, start, stop, and pushing a reply unprompted.

`qcbot serve` builds the configured channels and then only loops over them (routes into the web
app, start, push registration for reminders, queue depth for /healthz and /metrics, stop in
reverse order). A new channel is one class with these members and one line in `build_channels`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from aiohttp import web

from handlers.core import Reply

Endpoint = Callable[[web.Request], Awaitable[web.StreamResponse]]
Route = tuple[str, str, Endpoint]  # (HTTP method, path, handler)


class Channel(Protocol):
    """One way in and out: Telegram, a WeCom part, the console."""

    name: str  # the channel name stored with every row ("telegram", "wecom_bot", …)

    def routes(self) -> Sequence[Route]:
        """The HTTP routes this channel serves (none for polling or outbound-only channels)."""
        ...

    async def start(self) -> None:
        """Connect and start receiving or sending."""
        ...

    async def stop(self, seconds: float) -> None:
        """Stop taking work, finish what was accepted within `seconds`, log what is left undone."""
        ...

    @property
    def can_push(self) -> bool:
        """True when `push` can reach a chat without being asked (reminders)."""
        ...

    async def push(self, reply: Reply) -> None:
        """Send a reply to `reply.to_chat` unprompted; ChannelError when it cannot."""
        ...

    def depth(self) -> int:
        """Work accepted and not yet done (answers, updates, queued sends)."""
        ...

"""Telegram send limits per chat: 30 messages/s overall, 20/min per group, 429 pauses one chat.

PTB's AIORateLimiter pauses *every* request when any chat gets a 429 (retry_after); a busy
group would then hold the private answers too. Telegram's flood limits for groups are per chat,
so here a 429 pauses only the chat it was returned for.

These limits are counted per process. With several `serve` replicas a group answered by two
of them at once may reach Telegram's 20/min sooner; Telegram then answers 429 and that chat
pauses here as above, so nothing is lost (the 群机器人 limit, which WeCom enforces by dropping,
is the one counted in the shared store).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeGuard

from aiolimiter import AsyncLimiter
from telegram.constants import FloodLimit
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger("qcbot.telegram")

Result = bool | dict[str, Any] | list[dict[str, Any]]
Request = Callable[..., Coroutine[Any, Any, Result]]
MAX_GROUPS = 512  # group limiters kept; idle ones beyond this are forgotten


class ChatRateLimiter(BaseRateLimiter[int]):
    """Proactive limits (overall, per group) plus a 429 pause for the one chat that got it."""

    def __init__(
        self,
        per_second: float = FloodLimit.MESSAGES_PER_SECOND,
        group_per_minute: float = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        max_retries: int = 3,
    ) -> None:
        self._overall = AsyncLimiter(per_second, 1)
        self.group_per_minute = group_per_minute
        self.max_retries = max_retries
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._paused_until: dict[int | str | None, float] = {}

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""

    async def process_request(
        self,
        callback: Request,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        """Run one Bot API request within the chat's limits, retrying after a 429."""
        chat = _chat_key(data.get("chat_id"))
        retries = rate_limit_args or self.max_retries
        for _ in range(retries):
            await self._pause_over(chat)
            try:
                return await self._call(chat, callback, args, kwargs)
            except RetryAfter as exc:
                self._pause(chat, exc, endpoint)
        await self._pause_over(chat)
        return await self._call(chat, callback, args, kwargs)

    def _pause(self, chat: int | str | None, exc: RetryAfter, endpoint: str) -> None:
        wait = exc.retry_after
        seconds = float(wait) if isinstance(wait, int | float) else wait.total_seconds()
        log.info(
            "rate limited in chat %s: retry after %.1f s",
            chat,
            seconds,
            extra={"event": "telegram_retry_after", "endpoint": endpoint},
        )
        until = time.monotonic() + seconds + 0.1
        self._paused_until[chat] = max(until, self._paused_until.get(chat, 0.0))

    async def _pause_over(self, chat: int | str | None) -> None:
        while (left := self._paused_until.get(chat, 0.0) - time.monotonic()) > 0:
            await asyncio.sleep(left)
        self._paused_until.pop(chat, None)

    async def _call(
        self, chat: int | str | None, callback: Request, args: Any, kwargs: dict[str, Any]
    ) -> Result:
        async with contextlib.AsyncExitStack() as stack:
            if _is_group(chat) and self.group_per_minute:
                await stack.enter_async_context(self._group(chat))
            if chat is not None:
                await stack.enter_async_context(self._overall)
            return await callback(*args, **kwargs)

    def _group(self, chat: int | str) -> AsyncLimiter:
        limiter = self._groups.get(chat)
        if limiter is None:
            if len(self._groups) >= MAX_GROUPS:
                idle = [k for k, v in self._groups.items() if v.has_capacity(v.max_rate)]
                for key in idle:
                    del self._groups[key]
            limiter = self._groups[chat] = AsyncLimiter(self.group_per_minute, 60)
        return limiter


def _chat_key(chat_id: Any) -> int | str | None:
    """The chat a request goes to: an int id, an @username, or None (getMe, getUpdates…)."""
    if chat_id is None:
        return None
    try:
        return int(chat_id)
    except (TypeError, ValueError):
        return str(chat_id)


def _is_group(chat: int | str | None) -> TypeGuard[int | str]:
    """Negative ids are groups and channels; an @username can only be a channel or group."""
    return (isinstance(chat, int) and chat < 0) or isinstance(chat, str)

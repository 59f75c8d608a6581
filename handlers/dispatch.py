"""Routing: which flow an incoming message goes to (and where its sender was last seen). Never raises."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from weakref import WeakValueDictionary

from handlers import ask, assess, bind, office, remind, results
from handlers.core import Incoming, Reply
from handlers.help import CommandCall, help_reply, parse_command, unknown_reply
from handlers.services import Services, actor

log = logging.getLogger(__name__)
ERROR_TEXT = "抱歉，处理出错了，请稍后再试。"
Route = Callable[[Services, Incoming, str], Awaitable[list[Reply]]]


async def _help(services: Services, message: Incoming, args: str) -> list[Reply]:
    return help_reply(services.plan.county)


async def _assess(services: Services, message: Incoming, args: str) -> list[Reply]:
    return await assess.start(services, message)


async def _myscore(services: Services, message: Incoming, args: str) -> list[Reply]:
    return await results.on_myscore(services, message)


COMMAND_ROUTES: dict[str, Route] = {
    "/help": _help,
    "/bind": bind.on_command,
    "/assess": _assess,
    "/myscore": _myscore,
    "/gaps": office.on_gaps,
    "/ask": ask.on_question,
    "/remind": remind.on_remind,
    "/mute": remind.on_mute,
    "/unmute": remind.on_unmute,
    "/deadline": remind.on_deadline,
    "/progress": office.on_progress,
    "/export": office.on_export,
    "/chart": office.on_chart,
}
BUTTON_ROUTES: dict[str, Callable[[Services, Incoming, str], Awaitable[list[Reply]]]] = {
    assess.PAYLOAD: assess.on_button,
    bind.PAYLOAD: bind.on_button,
}
# commands after which an assessment in progress shows its current question again
RESHOW_AFTER = ("/help", "/myscore", "/gaps", "/ask", "/remind", "/mute", "/unmute", "/deadline")


class Dispatcher:
    """The core every channel calls: an Incoming in, the replies out."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._locks: WeakValueDictionary[tuple[str, str], asyncio.Lock] = WeakValueDictionary()
        self._seen: dict[tuple[str, str, str], str] = {}  # (channel, user, chat type) → chat

    async def handle(self, message: Incoming) -> list[Reply]:
        """Route one message; on any error log the traceback and apologise (state is kept).

        One user's messages are handled one at a time, so two quick answers cannot race.
        """
        key = (message.channel, message.user_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        try:
            async with lock:
                await self._saw(message)
                return await self._route(message)
        except Exception:
            log.exception(
                "handling %s message from %s in %s failed: %r",
                message.channel, message.user_id, message.chat_id, message.text[:200],
            )
            return [Reply(ERROR_TEXT)]

    async def _saw(self, message: Incoming) -> None:
        """Remember where the user was last seen (reminders go there); written only on change."""
        key = (message.channel, message.user_id, message.chat_type)
        if self._seen.get(key) == message.chat_id:
            return
        try:
            await self.services.storage.saw(
                actor(message), message.chat_id, message.chat_type == "private"
            )
        except Exception:
            log.exception("recording where %s was seen failed", message.user_id)
            return
        self._seen[key] = message.chat_id

    async def _route(self, message: Incoming) -> list[Reply]:
        if message.payload is not None:
            return await self._button(message, message.payload)
        call = parse_command(message.text)
        if call is not None:
            return await self._command(message, call)
        state = await self.services.storage.state(message.channel, message.chat_id, message.user_id)
        flow = (state or {}).get("flow")
        addressed = message.mentioned or message.chat_type == "private"
        if flow == bind.FLOW and state is not None:
            return await bind.on_text(self.services, message, state, addressed)
        if flow == assess.FLOW:
            replies = await assess.on_text(self.services, message, addressed)
            if replies is not None:
                return replies
        return await self._free_text(message, addressed)

    async def _free_text(self, message: Incoming, addressed: bool) -> list[Reply]:
        if not addressed:
            return []
        number = assess.edit_number(message.text)
        if number is not None:
            return await assess.edit(self.services, message, number)
        name = bind.intro_name(message.text)
        if name is not None:
            return await bind.resolve(self.services, message, name)
        return await ask.on_question(self.services, message, message.text)

    async def _command(self, message: Incoming, call: CommandCall) -> list[Reply]:
        route = COMMAND_ROUTES.get(call.command.name)
        if route is None:
            return unknown_reply(call.args)
        replies = await route(self.services, message, call.args)
        if call.command.name in RESHOW_AFTER and await self._assessing(message):
            replies += await assess.current_question(self.services, message)
        return replies

    async def _button(self, message: Incoming, payload: str) -> list[Reply]:
        for prefix, route in BUTTON_ROUTES.items():
            if payload.startswith(prefix):
                return await route(self.services, message, payload)
        call = parse_command(payload)
        if call is not None:
            return await self._command(message, call)
        return [Reply("这个按钮已失效。发送 /help 查看可用命令。")]

    async def _assessing(self, message: Incoming) -> bool:
        state = await self.services.storage.state(message.channel, message.chat_id, message.user_id)
        return state is not None and state.get("flow") == assess.FLOW

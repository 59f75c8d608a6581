"""Routing: which flow an incoming message goes to (and where its sender was last seen). Never raises."""

from __future__ import annotations

import asyncio
import logging
from weakref import WeakValueDictionary

from handlers import ask, assess, bind, evidence
from handlers.commands import BUTTONS, CommandCall, parse_command
from handlers.core import Incoming, Reply
from handlers.help import admin_only
from handlers.services import Services, actor

log = logging.getLogger(__name__)
ERROR_TEXT = "抱歉，处理出错了，请稍后再试。"


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
        if message.attachment is not None:
            return await evidence.on_file(self.services, message)
        call = parse_command(message.text)
        if call is not None:
            return await self._command(message, call)
        state = await self.services.storage.state(message.channel, message.chat_id, message.user_id)
        flow = (state or {}).get("flow")
        addressed = message.mentioned or message.chat_type == "private"
        if flow == bind.FLOW and state is not None:
            return await bind.on_text(self.services, message, state, addressed)
        if flow == evidence.FLOW and state is not None:
            replies = await evidence.on_text(self.services, message, state)
            if replies is not None:
                return replies
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
        if not await ask.choice_pending(self.services, message):
            idle = await assess.idle_reply(self.services, message)
            if idle is not None:
                return idle
        materials = await evidence.on_materials_question(self.services, message)
        if materials is not None:
            return materials
        name = bind.intro_name(message.text)
        if name is not None:
            return await bind.resolve(self.services, message, name)
        return await ask.on_question(self.services, message, message.text)

    async def _command(self, message: Incoming, call: CommandCall) -> list[Reply]:
        command = call.command
        if command.admin and not self.services.is_admin(message.channel, message.user_id):
            return admin_only(command.name)
        replies = await command.run(self.services, message, call.args)
        if command.reshow and await self._assessing(message):
            replies += await assess.current_question(self.services, message)
        return replies

    async def _button(self, message: Incoming, payload: str) -> list[Reply]:
        for prefix, route in BUTTONS.items():
            if payload.startswith(prefix):
                return await route(self.services, message, payload)
        call = parse_command(payload)
        if call is not None:
            return await self._command(message, call)
        return [Reply("这个按钮已失效。发送 /help 查看可用命令。")]

    async def _assessing(self, message: Incoming) -> bool:
        state = await self.services.storage.state(message.channel, message.chat_id, message.user_id)
        return state is not None and state.get("flow") == assess.FLOW

"""Routing: which county and flow an incoming message goes to (and where its sender was last seen). Never raises."""

from __future__ import annotations

import asyncio
import logging
from weakref import WeakValueDictionary

from handlers import ask, assess, bind, evidence
from handlers.commands import BUTTONS, COUNTY, CommandCall, parse_command
from handlers.core import Incoming, Reply
from handlers.help import admin_only
from handlers.services import Services, actor
from handlers.tenants import Tenants

log = logging.getLogger(__name__)
ERROR_TEXT = "抱歉，处理出错了，请稍后再试。"


class Dispatcher:
    """The core every channel calls: an Incoming in, the replies out, in the message's county."""

    def __init__(self, services: Services | Tenants) -> None:
        self.tenants = services if isinstance(services, Tenants) else Tenants.single(services)
        self.services = self.tenants.default  # the first (in one county deployments the only) county
        self._locks: WeakValueDictionary[tuple[str, str], asyncio.Lock] = WeakValueDictionary()
        self._seen: dict[tuple[str, str, str, str], str] = {}  # (county, channel, user, chat type) → chat

    async def handle(self, message: Incoming) -> list[Reply]:
        """Route one message to its county; on any error log the traceback and apologise (state is kept).

        One user's messages are handled one at a time, so two quick answers cannot race.
        """
        key = (message.channel, message.user_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        try:
            async with lock:
                services = await self.tenants.resolve(message)
                if services is None:
                    return await self._unplaced(message)
                await self._saw(services, message)
                return await self._route(services, message)
        except Exception:
            log.exception(
                "handling %s message from %s in %s failed: %r",
                message.channel, message.user_id, message.chat_id, message.text[:200],
            )
            return [Reply(ERROR_TEXT)]

    async def _unplaced(self, message: Incoming) -> list[Reply]:
        """A message whose county is not known: /county sets it, anything else asks to choose."""
        call = parse_command(message.payload or message.text)
        if call is not None and call.command.name == COUNTY:
            return await self.tenants.on_county(None, message, call.args)
        return await self.tenants.choose(message)

    async def _saw(self, services: Services, message: Incoming) -> None:
        """Remember where the user was last seen (reminders go there); written only on change."""
        key = (services.plan.id, message.channel, message.user_id, message.chat_type)
        if self._seen.get(key) == message.chat_id:
            return
        try:
            await services.storage.saw(actor(message), message.chat_id, message.chat_type == "private")
        except Exception:
            log.exception("recording where %s was seen failed", message.user_id)
            return
        self._seen[key] = message.chat_id

    async def _route(self, services: Services, message: Incoming) -> list[Reply]:
        if message.payload is not None:
            return await self._button(services, message, message.payload)
        if message.attachment is not None:
            return await evidence.on_file(services, message)
        call = parse_command(message.text)
        if call is not None:
            return await self._command(services, message, call)
        state = await services.storage.state(message.channel, message.chat_id, message.user_id)
        flow = (state or {}).get("flow")
        addressed = message.mentioned or message.chat_type == "private"
        if flow == bind.FLOW and state is not None:
            return await bind.on_text(services, message, state, addressed)
        if flow == evidence.FLOW and state is not None:
            replies = await evidence.on_text(services, message, state)
            if replies is not None:
                return replies
        if flow == assess.FLOW:
            replies = await assess.on_text(services, message, addressed)
            if replies is not None:
                return replies
        return await self._free_text(services, message, addressed)

    async def _free_text(self, services: Services, message: Incoming, addressed: bool) -> list[Reply]:
        if not addressed:
            return []
        number = assess.edit_number(message.text)
        if number is not None:
            return await assess.edit(services, message, number)
        if not await ask.choice_pending(services, message):
            idle = await assess.idle_reply(services, message)
            if idle is not None:
                return idle
        materials = await evidence.on_materials_question(services, message)
        if materials is not None:
            return materials
        name = bind.intro_name(message.text)
        if name is not None:
            return await bind.resolve(services, message, name)
        return await ask.on_question(services, message, message.text)

    async def _command(self, services: Services, message: Incoming, call: CommandCall) -> list[Reply]:
        command = call.command
        if command.admin and not services.is_admin(message.channel, message.user_id):
            return admin_only(command.name)
        replies = await command.run(services, message, call.args)
        if command.reshow and await self._assessing(services, message):
            replies += await assess.current_question(services, message)
        return replies

    async def _button(self, services: Services, message: Incoming, payload: str) -> list[Reply]:
        for prefix, route in BUTTONS.items():
            if payload.startswith(prefix):
                return await route(services, message, payload)
        call = parse_command(payload)
        if call is not None:
            return await self._command(services, message, call)
        return [Reply("这个按钮已失效。发送 /help 查看可用命令。")]

    async def _assessing(self, services: Services, message: Incoming) -> bool:
        state = await services.storage.state(message.channel, message.chat_id, message.user_id)
        return state is not None and state.get("flow") == assess.FLOW

"""Many counties in one deployment: each county's services, and which county a message belongs to.

A county is its plan id. A message belongs to the county of, in this order: its chat as the
counties file names it; the county the chat chose with `/county` (kept in the store); the bot or
agent that received it; the only county; in a private chat, the one county where the sender is a
bound liaison. Anything else is asked to choose — never guessed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from handlers.core import Choice, Incoming, Reply
from handlers.services import IsAdmin, Region, Services, normalize
from handlers.store import Store

log = logging.getLogger(__name__)

CHOSEN_SCOPE = "county"  # kv scope of the county a chat chose with /county, keyed channel:chat
FOREVER = 100 * 365 * 86400.0  # a chat's choice does not expire
MAX_BUTTONS = 12
SUFFIXES = ("自治县", "县", "区", "市")


@dataclass(frozen=True)
class CountySettings:
    """One county of the counties file: its plan, its own admins, its chats and its receiving bots."""

    plan: str
    admins: frozenset[str] = frozenset()  # "channel:user_id", or a bare user id (any channel)
    chats: frozenset[tuple[str, str]] = frozenset()  # (channel, chat id)
    bots: frozenset[tuple[str, str]] = frozenset()  # (channel, AgentID | aibotid | Telegram username)

    def is_admin(self, channel: str, user_id: str) -> bool:
        """True for one of this county's own admins."""
        return user_id in self.admins or f"{channel}:{user_id}" in self.admins


def bot_key(channel: str, bot: str) -> tuple[str, str]:
    """How a receiving bot is matched: Telegram usernames without @ and case-insensitive."""
    return (channel, bot.lstrip("@").lower()) if channel == "telegram" else (channel, bot)


@dataclass
class Tenants:
    """The deployment's counties (each a Services) and the county each message is for."""

    settings: Mapping[str, CountySettings] = field(default_factory=dict)
    city_admin: IsAdmin = field(default=lambda channel, user_id: False)
    home: Store | None = None  # where a chat's /county choice is kept (its kv part)
    counties: dict[str, Services] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._chats = {chat: plan for plan, s in self.settings.items() for chat in s.chats}
        self._bots = {bot_key(*b): plan for plan, s in self.settings.items() for b in s.bots}
        self.region = Region(self.city_admin, lambda: tuple(self.counties.values()), self.on_county)

    @classmethod
    def single(cls, services: Services) -> Tenants:
        """One county (no counties file): every message is its; its admins are the region's."""
        tenants = cls(city_admin=services.is_admin)
        tenants.add(services)
        return tenants

    def add(self, services: Services) -> None:
        """Serve one more county."""
        self.counties[services.plan.id] = services

    @property
    def default(self) -> Services:
        """The first county (the only one in a single-county deployment)."""
        return next(iter(self.counties.values()))

    def is_admin(self, plan: str, channel: str, user_id: str) -> bool:
        """A city or province admin, or one of the county's own."""
        own = self.settings.get(plan)
        return self.city_admin(channel, user_id) or (own is not None and own.is_admin(channel, user_id))

    # --- which county -------------------------------------------------------------------------

    async def resolve(self, message: Incoming) -> Services | None:
        """The county the message is for (see the module docstring), None when it must be asked."""
        if len(self.counties) == 1:
            return self.default
        plan = self._chats.get((message.channel, message.chat_id))
        if plan is None:
            plan = await self.chosen(message)
        if plan is None and message.bot:
            plan = self._bots.get(bot_key(message.channel, message.bot))
        if plan is None and message.chat_type == "private":
            bound = await self.bound_in(message)
            plan = bound[0].plan.id if len(bound) == 1 else None
        return self.counties.get(plan) if plan is not None else None

    async def chosen(self, message: Incoming) -> str | None:
        """The county the chat chose with /county, if it is still served."""
        if self.home is None:
            return None
        plan = await self.home.shared_value(CHOSEN_SCOPE, _chat_key(message))
        return plan if plan in self.counties else None

    async def bound_in(self, message: Incoming) -> list[Services]:
        """The counties where the sender is a bound liaison."""
        counties = list(self.counties.values())
        found = await asyncio.gather(*(
            s.storage.liaison(message.channel, message.user_id, s.plan.id) for s in counties
        ))
        return [s for s, liaison in zip(counties, found, strict=True) if liaison is not None]

    def find(self, name: str) -> list[Services]:
        """The counties a name means: plan id, county name, or the name without 县/区/市."""
        word = normalize(name).lower()
        if not word:
            return []
        exact = [s for s in self.counties.values() if word in (s.plan.id.lower(), s.plan.county)]
        if exact:
            return exact
        return [s for s in self.counties.values() if _short(s.plan.county) == _short(word)]

    # --- /county ------------------------------------------------------------------------------

    async def on_county(self, services: Services | None, message: Incoming, args: str) -> list[Reply]:
        """/county: show the chat's county, or set it (`/county 县名`) for whoever may."""
        if len(self.counties) == 1:
            return [Reply(f"本服务只覆盖{self.default.plan.county}，无需选择。")]
        if not args:
            return await self._show(services, message)
        found = self.find(args)
        if len(found) != 1:
            return [Reply(f"没有找到县（区）“{args[:20]}”。本服务覆盖：{self._names()}。例：/county {self._example()}")]
        target = found[0]
        refusal = await self._refusal(message, target)
        if refusal is not None or self.home is None:
            return [Reply(refusal or "暂不能保存所选县（区），请联系部署管理员。")]
        await self.home.share_values(CHOSEN_SCOPE, {_chat_key(message): target.plan.id}, FOREVER)
        log.info("chat %s:%s set to county %s by %s", message.channel, message.chat_id, target.plan.id,
                 message.user_id)
        where = "本群" if message.chat_type == "group" else "这里"
        return [Reply(f"好的，{where}已设为{target.plan.county}。发送 /help 查看可用命令。")]

    async def _show(self, services: Services | None, message: Incoming) -> list[Reply]:
        where = "本群" if message.chat_type == "group" else "这里"
        lines = [f"{where}当前属于：{services.plan.county}。" if services else f"{where}还没有选择县（区）。"]
        lines.append(f"本服务覆盖：{self._names()}。")
        configured = self._chats.get((message.channel, message.chat_id))
        if configured is not None:
            lines.append("本群所属县（区）由部署配置文件指定。")
            return [Reply("\n".join(lines))]
        lines.append(f"更改：/county 县名，例：/county {self._example()}")
        return [Reply("\n".join(lines), choices=await self._buttons(message))]

    async def _refusal(self, message: Incoming, target: Services) -> str | None:
        """Why the sender may not put this chat in `target`; None when they may."""
        configured = self._chats.get((message.channel, message.chat_id))
        if configured is not None:
            if configured == target.plan.id:
                return f"本群已属于{target.plan.county}（部署配置文件指定）。"
            return f"本群由部署配置文件指定属于{self.counties[configured].plan.county}，不能在聊天中更改。"
        if self.city_admin(message.channel, message.user_id):
            return None
        own = self.settings.get(target.plan.id)
        if own is not None and own.is_admin(message.channel, message.user_id):
            current = await self.chosen(message)
            if current in (None, target.plan.id) or self.is_admin(current, message.channel, message.user_id):
                return None
            return f"本群已设为{self.counties[current].plan.county}，只有市（省）级管理员可以改为其他县（区）。"
        if message.chat_type == "private":
            counties = await self.bound_in(message)
            if target in counties:
                return None
            if counties:
                names = "、".join(s.plan.county for s in counties)
                return f"你绑定的县（区）是：{names}，只能在这些县（区）之间选择。"
            return "你还没有在任何县（区）绑定部门：请先在本县（区）的工作群里发送 /bind 部门名称。"
        return f"只有{target.plan.county}的质量强县办（管理员）可以设置本群所属县（区）。"

    async def choose(self, message: Incoming) -> list[Reply]:
        """The reply when the county is unknown: ask to choose, with a button per county."""
        if message.chat_type == "group" and not (message.mentioned or message.payload is not None):
            return []
        text = f"本服务覆盖多个县（区），请先发送 /county 县名 选择，例：/county {self._example()}。"
        if message.chat_type == "group":
            text += "\n本群所属县（区）由质量强县办（管理员）设置。"
        elif not await self.bound_in(message):
            text += "\n还没有绑定部门的，请先在本县（区）的工作群里发送 /bind 部门名称。"
        return [Reply(text, choices=await self._buttons(message))]

    async def _buttons(self, message: Incoming) -> tuple[Choice, ...]:
        counties = await self.bound_in(message) if message.chat_type == "private" else []
        counties = counties or list(self.counties.values())
        if len(counties) > MAX_BUTTONS:
            return ()
        return tuple(Choice(s.plan.county, f"/county {s.plan.id}") for s in counties)

    def _names(self) -> str:
        names = [s.plan.county for s in self.counties.values()]
        return "、".join(names[:MAX_BUTTONS]) + (f"等{len(names)}个" if len(names) > MAX_BUTTONS else "")

    def _example(self) -> str:
        return self.default.plan.county


def _chat_key(message: Incoming) -> str:
    return f"{message.channel}:{message.chat_id}"


def _short(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


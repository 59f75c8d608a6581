"""Helpers for reminder and office tests: a fake clock, a recording outbox, an app with liaisons."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import App, create_app
from bot.config import Config
from bot.scheduler import Delivery
from handlers.core import Reply
from knowledge.model import KnowledgeBase
from knowledge.qa import Librarian
from tests.messages import Person

SHANGHAI = ZoneInfo("Asia/Shanghai")
ADMIN = "boss"


def at(text: str) -> datetime:
    """A local Asia/Shanghai moment: at("2026-12-08 09:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@dataclass
class Clock:
    """A clock the test moves by hand."""

    moment: datetime

    def __call__(self) -> datetime:
        return self.moment


@dataclass
class Recorder:
    """An outbox push that records every reply."""

    sent: list[Reply] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, reply: Reply) -> None:
        self.sent.append(reply)
        self.arrived.set()

    def of(self, kind: str) -> list[Reply]:
        """The recorded replies of one reminder kind (deadline, nudge, digest)."""
        return [r for r in self.sent if r.meta.get("reminder", "").startswith(kind + "|")]


async def open_app(
    db: Path, kb: KnowledgeBase, librarian: Librarian, clock: Clock, register: bool = True,
    **config: Any,
) -> tuple[App, Recorder]:
    """The real app on `db` with the fake clock, boss as admin, pushes recorded."""
    values = {"plan": "pingyin", "db_path": str(db), "admins": f"console:{ADMIN}",
              "export_dir": str(db.parent / "exports"), **config}
    app = await create_app(Config.from_mapping(values), kb=kb, librarian=librarian, now=clock)
    recorder = Recorder()
    if register:
        app.outbox.register("console", recorder)
    return app, recorder


def sent_of(deliveries: list[Delivery], kind: str) -> list[Delivery]:
    """Deliveries of one kind that were sent."""
    return [d for d in deliveries if d.status == "sent" and d.key.startswith(kind + "|")]


@dataclass
class County:
    """An app with two liaisons and the office: 张三 (统计局, private), 李四 (财政局, in the group)."""

    app: App
    clock: Clock
    recorder: Recorder
    zhang: Person
    li: Person
    boss: Person


async def county(app: App, clock: Clock, recorder: Recorder) -> County:
    """Bind the two liaisons; the office sets one deadline (2026-12-15) for both departments."""
    zhang = Person(app.handler, user="u1", name="张三")
    li = Person(app.handler, user="u2", name="李四", chat_type="group")
    boss = Person(app.handler, user=ADMIN, name="办公室")
    assert "已绑定" in await zhang.say("/bind 统计局")
    assert "已绑定" in await li.say("/bind 财政局")
    reply = await boss.say("/deadline 2026-12-15 提交自评材料 统计局 财政局")
    assert "已设置时间节点 #1" in reply, reply
    return County(app, clock, recorder, zhang, li, boss)

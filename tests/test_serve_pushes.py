"""Reminder pushes reach the running channels (the scheduler itself is tested in test_reminders)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bot.scheduler import Outbox
from bot.serve import register_pushes
from handlers.core import Reply


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def send(self, *args: Any) -> None:
        self.calls.append(("send", args))

    async def send_reply(self, *args: Any) -> None:
        self.calls.append(("send_reply", args))


async def test_each_channel_gets_its_push() -> None:
    telegram, client, webhook = Recorder(), Recorder(), Recorder()
    channels = SimpleNamespace(
        telegram=telegram, wecom_app=SimpleNamespace(client=client), wecom_bot=object(), webhook=webhook
    )
    outbox = Outbox()
    register_pushes(outbox, channels)  # type: ignore[arg-type]
    assert outbox.channels == {"telegram", "wecom_app", "wecom_bot"}

    await outbox.send("telegram", Reply("提醒", to_chat="42"))
    await outbox.send("wecom_app", Reply("提醒", to_chat="zhangsan", private=True))
    await outbox.send("wecom_bot", Reply("私聊提醒", to_chat="lisi", private=True))
    await outbox.send("wecom_bot", Reply("群提醒", to_chat="group-1"))

    assert telegram.calls[0][1][0] == "42"
    assert [c[1][0] for c in client.calls] == ["zhangsan", "lisi"]
    assert webhook.calls[0][1][0].text == "群提醒"


async def test_no_push_without_a_sending_channel() -> None:
    channels = SimpleNamespace(telegram=None, wecom_app=None, wecom_bot=object(), webhook=None)
    outbox = Outbox()
    register_pushes(outbox, channels)  # type: ignore[arg-type]
    assert outbox.channels == frozenset()

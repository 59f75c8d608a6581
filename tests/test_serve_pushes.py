"""Reminder pushes reach the running channels (the scheduler itself is tested in test_reminders)."""

from __future__ import annotations

from typing import Any

from bot.config import Config
from bot.scheduler import Outbox
from bot.serve import build_channels, plan_channels, register_pushes, stop_channels
from handlers.core import Incoming, Reply
from tests import wecom_vectors as v

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"


class Echo:
    async def handle(self, message: Incoming) -> list[Reply]:
        return []


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def __call__(self, *args: Any) -> None:
        self.calls.append(args)


async def test_each_channel_that_can_push_registers_itself() -> None:
    config = Config.from_mapping({
        "telegram_token": TOKEN,
        "wecom_bot_token": "t", "wecom_bot_aes_key": v.V1_KEY,
        "wecom_corp_id": "ww1", "wecom_agent_id": "1", "wecom_secret": "s",
        "wecom_token": "t", "wecom_aes_key": v.V1_KEY,
        "wecom_webhook_key": "k",
    })
    channels = build_channels(config, Echo(), plan_channels(config))
    try:
        assert channels.telegram and channels.wecom_app and channels.wecom_bot and channels.webhook
        telegram, client, webhook = Recorder(), Recorder(), Recorder()
        channels.telegram.send = telegram  # type: ignore[method-assign]
        channels.wecom_app.client.send_reply = client  # type: ignore[method-assign]
        channels.webhook.send = webhook  # type: ignore[method-assign]
        outbox = Outbox()
        register_pushes(outbox, channels)
        assert outbox.channels == {"telegram", "wecom_app", "wecom_bot", "wecom_webhook"}

        await outbox.send("telegram", Reply("提醒", to_chat="42"))
        await outbox.send("wecom_app", Reply("提醒", to_chat="zhangsan", private=True))
        await outbox.send("wecom_bot", Reply("私聊提醒", to_chat="lisi", private=True))
        await outbox.send("wecom_bot", Reply("群提醒", to_chat="group-1"))

        assert telegram.calls[0][0] == "42"
        assert [c[0] for c in client.calls] == ["zhangsan", "lisi"]
        assert webhook.calls[0][0].text == "群提醒"
    finally:
        await stop_channels(channels, drain_seconds=0.1)


async def test_the_ai_bot_alone_cannot_push() -> None:
    config = Config.from_mapping({"wecom_bot_token": "t", "wecom_bot_aes_key": v.V1_KEY})
    channels = build_channels(config, Echo(), plan_channels(config))
    try:
        outbox = Outbox()
        register_pushes(outbox, channels)
        assert [c.name for c in channels.running] == ["wecom_bot"]
        assert outbox.channels == frozenset()
    finally:
        await stop_channels(channels, drain_seconds=0.1)

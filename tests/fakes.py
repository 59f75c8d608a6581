"""Test doubles for the channel adapters: a recording Handler and a scripted self-assessment."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from handlers.core import Choice, Incoming, Reply

Respond = Callable[[Incoming], list[Reply]]


def echo(message: Incoming) -> list[Reply]:
    """Answer every message with its text (or the pressed payload)."""
    return [Reply(text=f"答：{message.payload or message.text}")]


class RecordingHandler:
    """A Handler that records every Incoming and answers through `respond`."""

    def __init__(self, respond: Respond = echo, delay: float = 0.0) -> None:
        self.respond = respond
        self.delay = delay
        self.received: list[Incoming] = []

    async def handle(self, message: Incoming) -> list[Reply]:
        self.received.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.respond(message)


LONG_PAYLOAD = "assess:q2:explain:" + "很长的按钮数据" * 10  # > 64 bytes in UTF-8


class Assessment:
    """A three-step self-assessment, the way the core would run one, with buttons."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], list[str]] = {}

    def __call__(self, message: Incoming) -> list[Reply]:
        key = (message.chat_id, message.user_id)
        if message.text.strip() == "/assess":
            self.answers[key] = []
            return [
                Reply(
                    title="自评",
                    text="第1题：是否成立质量强县工作领导小组？",
                    choices=(Choice("是", "assess:q1:yes"), Choice("否", "assess:q1:no")),
                )
            ]
        if message.payload and message.payload.startswith("assess:q1:"):
            self.answers.setdefault(key, []).append(message.payload)
            return [
                Reply(
                    text="第2题：是否印发年度工作要点？",
                    choices=(Choice("是", "assess:q2:yes"), Choice("需要说明", LONG_PAYLOAD)),
                )
            ]
        if message.payload and message.payload.startswith("assess:q2:"):
            answers = [*self.answers.get(key, []), message.payload]
            score = sum(a.endswith(":yes") for a in answers) * 5
            return [Reply(title="自评完成", text=f"共 {len(answers)} 题，得分 {score} 分。")]
        return [Reply(text=f"答：{message.text}")]


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until `check()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def settle(seconds: float = 0.2) -> None:
    """Give background work a moment (used to check that nothing more happens)."""
    await asyncio.sleep(seconds)

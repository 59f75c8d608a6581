"""Telegram under attack and under load: hostile webhook bodies, a busy group, a bounded shutdown.

The real python-telegram-bot talks HTTP to the fake Bot API; webhook requests go to a real aiohttp
server on 127.0.0.1. Assertions are about outcomes and the order of events, never about timings.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from bot.channels.lanes import ChatLanes, id_ranges
from bot.channels.telegram import SECRET_HEADER, TelegramChannel
from bot.channels.telegram_limits import ChatRateLimiter
from bot.config import Config
from tests.fake_telegram import BOT, TOKEN, FakeBotApi, message
from tests.fakes import RecordingHandler, eventually, settle

BOT_NAME = "@" + str(BOT["username"])
SECRET = "s3cret-Token_1"
GROUP = -100


def fast() -> ChatRateLimiter:
    """Send limits for tests (a limiter belongs to one event loop): Telegram's 20/min per group
    would make a test take 30 s."""
    return ChatRateLimiter(group_per_minute=6_000)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi()
    yield fake
    await fake.close()


async def running(
    api: FakeBotApi, handler: RecordingHandler, webhook: bool = False, **options: Any
) -> TelegramChannel:
    base = await api.start()
    settings: dict[str, object] = {
        "telegram_token": TOKEN,
        "telegram_base_url": base,
        "telegram_poll_timeout": 1,
    }
    if webhook:
        settings |= {
            "telegram_mode": "webhook",
            "telegram_secret_token": SECRET,
            "telegram_webhook_url": "https://bot.example.cn/telegram/abc123",
        }
    channel = TelegramChannel(Config.from_mapping(settings), handler, **options)
    await channel.start()
    return channel


async def serving(channel: TelegramChannel) -> tuple[TestServer, str]:
    app = web.Application()
    app.router.add_post(channel.webhook_path, channel.webhook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server, f"http://127.0.0.1:{server.port}{channel.webhook_path}"


def nested(depth: int) -> dict[str, Any]:
    """A message replying to a message replying to … `depth` levels deep (valid JSON)."""
    inner: dict[str, Any] = {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}}
    for level in range(depth):
        inner = {
            "message_id": level + 2,
            "date": 0,
            "chat": {"id": 5, "type": "private"},
            "reply_to_message": inner,
        }
    return {"update_id": 90, "message": inner}


def odd_message(update_id: int, **fields: Any) -> bytes:
    """A group message from a person, with `fields` of the wrong type or out of range."""
    person = {"id": 42, "is_bot": False, "first_name": "张科长"}
    chat = {"id": -5, "type": "supergroup", "title": "群"}
    body = {"message_id": 1, "date": 0, "chat": chat, "from": person, **fields}
    return json.dumps({"update_id": update_id, "message": body}).encode()


HOSTILE_BODIES: list[tuple[bytes, int]] = [
    (b"[" * 100_000, 400),
    (b'{"a":' * 100_000, 400),
    (b"{not json", 400),
    (b"\xff\xfe\x00garbage", 400),
    (b"", 400),
    (b"[]", 400),
    (b"1", 400),
    (b'"update"', 400),
    (b"null", 400),
    (b'{"update_id":1,"message":"x"}', 200),
    (b'{"update_id":2,"message":{"message_id":1,"chat":"x"}}', 200),
    (b'{"update_id":3,"callback_query":[1,2]}', 200),
    (b'{"update_id":"x","message":{}}', 200),
    (b'{"update_id":[1],"message":{}}', 200),
    (b'{"update_id":true}', 200),
    (b'{"message":{"message_id":1}}', 200),
    (json.dumps(nested(600)).encode(), 200),  # valid JSON, too deep for PTB's parser
    (odd_message(4, text=["问"]), 200),
    (odd_message(5, caption={"a": 1}), 200),
    (odd_message(6, text="你好", entities=[{"type": "mention", "offset": -5, "length": 99}]), 200),
    (odd_message(7, text="你好", **{"from": {"id": "x", "is_bot": "no", "first_name": 7}}), 200),
    (json.dumps({"update_id": 9, "edited_message": {"x": 1}}).encode(), 200),
]


async def test_hostile_webhook_bodies_get_4xx_or_an_ignored_200(
    api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    handler = RecordingHandler()
    channel = await running(api, handler, webhook=True)
    server, url = await serving(channel)
    caplog.set_level(logging.INFO)
    statuses = []
    try:
        async with ClientSession() as http:
            for body, _ in HOSTILE_BODIES:
                async with http.post(url, data=body, headers={SECRET_HEADER: SECRET}) as response:
                    statuses.append(response.status)
            await settle(0.3)
            good = {"update_id": 80, **message(f"{BOT_NAME} 还在吗", chat_id=42)}
            async with http.post(url, json=good, headers={SECRET_HEADER: SECRET}) as response:
                assert response.status == 200
            await eventually(lambda: len(api.delivered()) == 1)
    finally:
        await server.close()
        await channel.stop()
    assert statuses == [expected for _, expected in HOSTILE_BODIES]
    assert api.delivered()[0].params["text"] == "答：还在吗"  # the bot still answers afterwards
    assert [m.text for m in handler.received] == ["还在吗"]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert 0 < len(warnings) <= len(HOSTILE_BODIES)  # at most one line per request
    assert all(len(r.getMessage()) < 400 and "\n" not in r.getMessage() for r in warnings)


async def test_a_full_queue_answers_503_and_the_resent_update_is_handled(
    api: FakeBotApi,
) -> None:
    handler = RecordingHandler(delay=0.3)
    channel = await running(api, handler, webhook=True)
    channel.lanes.limit = 2
    server, url = await serving(channel)
    updates = [{"update_id": 10 + i, **message(f"问{i}", chat_id=42)} for i in range(3)]
    try:
        async with ClientSession() as http:
            first = [
                (await http.post(url, json=u, headers={SECRET_HEADER: SECRET})).status
                for u in updates
            ]
            await eventually(lambda: channel.depth() == 0)
            again = await http.post(url, json=updates[2], headers={SECRET_HEADER: SECRET})
            await eventually(lambda: len(api.delivered()) == 3)
    finally:
        await server.close()
        await channel.stop()
    assert first == [200, 200, 503] and again.status == 200
    assert [c.params["text"] for c in api.delivered()] == ["答：问0", "答：问1", "答：问2"]


async def test_a_rate_limited_group_does_not_hold_a_private_answer(api: FakeBotApi) -> None:
    handler = RecordingHandler()
    channel = await running(api, handler, limiter=fast())
    api.throttle(GROUP, times=3, retry_after=1)
    try:
        for i in range(30):
            api.push(message(f"{BOT_NAME} 第{i}问", chat_id=GROUP))
        api.push(message("私聊的问题", chat_id=42))
        await eventually(lambda: len(api.delivered()) == 31, timeout=20)
    finally:
        await channel.stop()
    calls = api.sent()
    private = next(i for i, c in enumerate(calls) if c.params["chat_id"] == "42")
    group_attempts = [i for i, c in enumerate(calls) if c.params["chat_id"] == str(GROUP)]
    assert private < group_attempts[1]  # sent while the group waited out its first 429
    delivered = api.delivered()
    group = [c.params["text"] for c in delivered if c.params["chat_id"] == str(GROUP)]
    assert group == [f"答：第{i}问" for i in range(30)]  # order within the chat is kept
    fifth_group_reply = [i for i, c in enumerate(delivered) if c.params["chat_id"] != "42"][4]
    assert delivered.index(calls[private]) < fifth_group_reply


async def test_stop_is_bounded_and_logs_every_update_it_drops(
    api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    handler = RecordingHandler()
    channel = await running(api, handler, limiter=fast(), shutdown_seconds=0.5)
    api.send_delay = 0.2  # 3 chats × 40 answers in order: ~8 s of work, far beyond the bound
    pushed = [api.push(message(f"问{i}", chat_id=chat)) for i in range(40) for chat in (42, 43, 44)]
    await eventually(lambda: api.updates.empty() and len(api.sent()) >= 3)
    caplog.set_level(logging.INFO)
    await asyncio.wait_for(channel.stop(), timeout=15)  # a hang fails here; 15 s is not a target
    dropped_lines = [r for r in caplog.records if getattr(r, "event", "") == "telegram_dropped"]
    assert len(dropped_lines) == 1 and dropped_lines[0].levelno == logging.ERROR
    line = dropped_lines[0]
    dropped = expand(line.getMessage().rpartition("update_id ")[2])
    assert len(dropped) == line.__dict__["count"] and f"{len(dropped)} updates" in line.getMessage()
    by_message = {u["message"]["message_id"]: u["update_id"] for u in pushed}
    reached = {by_message[c.params["reply_parameters"]["message_id"]] for c in api.sent()}
    assert dropped  # the bound cut the work short…
    assert {u["update_id"] for u in pushed} == reached | dropped  # …and nothing went unnoticed


def expand(ranges: str) -> set[int]:
    """ "5,7-9" → {5, 7, 8, 9}."""
    found: set[int] = set()
    for part in ranges.split(","):
        low, _, high = part.partition("-")
        found.update(range(int(low), int(high or low) + 1))
    return found


# --- the lanes on their own ----------------------------------------------------------------


async def test_lanes_keep_order_per_chat_and_bound_concurrency() -> None:
    lanes = ChatLanes(workers=3, limit=100)
    running_now, most, done = 0, 0, []

    async def job(chat: int, n: int) -> None:
        nonlocal running_now, most
        running_now += 1
        most = max(most, running_now)
        await asyncio.sleep(0.01 * (chat + 1))
        done.append((chat, n))
        running_now -= 1

    for n in range(10):
        for chat in range(5):
            assert lanes.offer(chat, n, functools.partial(job, chat, n))
    assert await lanes.drain(10) == []
    assert most == 3 and len(done) == 50
    for chat in range(5):
        assert [n for c, n in done if c == chat] == list(range(10))


async def test_lanes_refuse_beyond_the_limit_and_report_what_drain_leaves() -> None:
    lanes = ChatLanes(workers=1, limit=3)
    release = asyncio.Event()
    for n in range(3):
        assert lanes.offer("a", n, release.wait)
    assert not lanes.offer("b", 9, release.wait) and not lanes.has_room
    lanes.unbound()
    assert lanes.offer("b", 9, release.wait)
    await settle(0.05)
    assert sorted(map(str, await lanes.drain(0.05))) == ["0", "1", "2", "9"]
    assert not lanes.offer("a", 10, release.wait)


def test_id_ranges_are_compact() -> None:
    assert id_ranges([9, 5, 7, 8, 12, "x"]) == "5,7-9,12,x"
    assert id_ranges([]) == ""

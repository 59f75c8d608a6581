"""The 智能机器人 callback under overload: acknowledge at once, push later, refuse beyond the bound.

A gated handler stands for a slow or saturated core: nothing is answered until the test opens
the gate, so "at once" means "while the handler is still blocked", with no timing assertions.
WeCom's side (response_url) is the fake API server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.channels.backlog import Backlog
from bot.channels.wecom_bot import BUSY, RefusalLog, WeComBotChannel
from bot.config import Config
from bot.serve import Channels, build_channels, plan_channels, stop_channels, web_app
from handlers.core import Incoming, Reply
from tests import wecom_vectors as v
from tests.fake_wecom import FakeWeCom
from tests.fakes import eventually, settle
from tests.test_wecom_callbacks import BOT_TOKEN, group_text, opened, sealed

RESPONSE = "/cgi-bin/aibot/response"


class GatedHandler:
    """Answers "答：<text>" once `gate` is open; records what it was asked."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.received: list[Incoming] = []

    async def handle(self, message: Incoming) -> list[Reply]:
        self.received.append(message)
        await self.gate.wait()
        return [Reply(text=f"答：{message.text}")]


@dataclass
class Bot:
    """A running 智能机器人 callback with a gated handler and the fake response_url server."""

    client: TestClient[Any, Any]
    channels: Channels
    handler: GatedHandler
    api: FakeWeCom
    base: str

    @property
    def channel(self) -> WeComBotChannel:
        assert self.channels.wecom_bot is not None
        return self.channels.wecom_bot

    async def ask(self, msgid: str, text: str = "慢问题", base: str | None = None) -> Any:
        plain = group_text(f"@RobotA {text}", msgid=msgid, base=self.base if base is None else base)
        query, encrypted = sealed(WeChatCrypto(BOT_TOKEN, v.V1_KEY, ""), plain, None, "1372623149")
        return await self.client.post("/wecom/bot", params=query, json={"encrypt": encrypted})

    def pushes(self) -> list[str]:
        """The response_codes answers were pushed to, in order."""
        return [c.query.get("response_code", "") for c in self.api.called(RESPONSE)]


Make = Callable[..., Awaitable[Bot]]


@pytest.fixture
async def bot() -> AsyncIterator[Make]:
    running: list[Bot] = []

    async def make(**settings: Any) -> Bot:
        api = FakeWeCom()
        base = await api.start()
        config = Config.from_mapping(
            {
                "wecom_bot_token": BOT_TOKEN,
                "wecom_bot_aes_key": v.V1_KEY,
                "wecom_api_base": base,
                **settings,
            }
        )
        handler = GatedHandler()
        channels = build_channels(config, handler, plan_channels(config, wecom=True))
        client: TestClient[Any, Any] = TestClient(TestServer(web_app(channels), host="127.0.0.1"))
        await client.start_server()
        running.append(Bot(client, channels, handler, api, base))
        return running[-1]

    yield make
    for item in running:
        item.handler.gate.set()
        await item.client.close()
        await stop_channels(item.channels)
        await item.api.close()


async def test_over_budget_is_acknowledged_at_once_and_pushed_once(bot: Make) -> None:
    server = await bot(wecom_reply_budget_ms=1)
    answer = await server.ask("SLOW1")
    assert answer.status == 200 and await answer.read() == b""
    assert not server.handler.gate.is_set()  # answered while the handler was still blocked
    server.handler.gate.set()
    await eventually(lambda: len(server.pushes()) == 1)
    await settle()
    assert server.pushes() == ["RC_SLOW1"]
    call = server.api.called(RESPONSE)[0]
    assert call.body == {"msgtype": "markdown", "markdown": {"content": "答：慢问题"}}


async def test_busy_workers_mean_an_immediate_ack_even_within_the_budget(bot: Make) -> None:
    server = await bot(wecom_workers=1, wecom_reply_budget_ms=60_000)
    first = asyncio.create_task(server.ask("FIRST"))  # takes the only worker, waits passively
    await eventually(lambda: len(server.handler.received) == 1)
    second = await server.ask("SECOND")  # queued behind it: no point in waiting
    assert second.status == 200 and await second.read() == b""
    server.handler.gate.set()
    reply = await first
    assert opened(await reply.read())["stream"]["content"] == "答：慢问题"
    await eventually(lambda: len(server.pushes()) == 1)
    await settle()
    assert server.pushes() == ["RC_SECOND"]  # the passive one is never pushed as well


async def test_beyond_the_bound_a_busy_reply_at_once(bot: Make) -> None:
    server = await bot(wecom_workers=1, wecom_queue_limit=2, wecom_reply_budget_ms=1)
    for msgid in ("Q1", "Q2"):
        assert await (await server.ask(msgid)).read() == b""
    refused = await server.ask("Q3")
    body = await refused.read()
    assert refused.status == 200 and opened(body)["stream"]["content"] == BUSY
    assert not server.handler.gate.is_set()
    retry = await server.ask("Q3")
    assert await retry.read() == body  # a retry gets the same refusal, nothing more
    server.handler.gate.set()
    await eventually(lambda: len(server.pushes()) == 2)
    await settle()
    assert sorted(server.pushes()) == ["RC_Q1", "RC_Q2"]
    assert [m.message_id for m in server.handler.received] == ["Q1", "Q2"]


async def test_a_retry_while_the_answer_is_pending_is_not_handled_twice(bot: Make) -> None:
    server = await bot(wecom_reply_budget_ms=1)
    assert await (await server.ask("DUP1")).read() == b""
    retry = await server.ask("DUP1")
    assert retry.status == 200 and await retry.read() == b""
    server.handler.gate.set()
    await eventually(lambda: len(server.pushes()) == 1)
    await settle()
    assert server.pushes() == ["RC_DUP1"]
    assert len(server.handler.received) == 1


async def test_a_retry_during_the_passive_wait_turns_the_answer_into_one_push(bot: Make) -> None:
    server = await bot(wecom_reply_budget_ms=60_000)
    first = asyncio.create_task(server.ask("DUP2"))  # waits for a passive reply
    await eventually(lambda: len(server.handler.received) == 1)
    retry = await server.ask("DUP2")  # WeCom gave up on the first connection
    assert await retry.read() == b""
    assert await (await first).read() == b""  # nobody waits any more: it will be pushed
    server.handler.gate.set()
    await eventually(lambda: len(server.pushes()) == 1)
    await settle()
    assert server.pushes() == ["RC_DUP2"] and len(server.handler.received) == 1


async def test_shutdown_drains_pending_answers(bot: Make) -> None:
    server = await bot(wecom_reply_budget_ms=1)
    for msgid in ("D1", "D2", "D3"):
        assert await (await server.ask(msgid)).read() == b""
    drain = asyncio.create_task(server.channel.drain())
    await settle(0.05)
    assert not drain.done()  # the handler is still blocked: nothing may be dropped
    server.handler.gate.set()
    await drain
    assert sorted(server.pushes()) == ["RC_D1", "RC_D2", "RC_D3"]


async def test_answers_cut_off_at_shutdown_are_logged(
    bot: Make, caplog: pytest.LogCaptureFixture
) -> None:
    server = await bot(wecom_reply_budget_ms=1)
    assert await (await server.ask("CUT1")).read() == b""
    with caplog.at_level(logging.ERROR), pytest.raises(TimeoutError):
        await asyncio.wait_for(server.channel.drain(), 0.05)
    assert "answers not delivered at shutdown: 1" in caplog.text


# --- response_url failures -----------------------------------------------------------------


async def _dropping_server() -> tuple[asyncio.Server, str]:
    """A response_url that reads the request and hangs up without answering."""

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        length = next(
            (
                int(line.split(":")[1])
                for line in head.splitlines()
                if line.startswith("content-length:")
            ),
            0,
        )
        await reader.readexactly(length)  # all of it: closing with unread bytes would be a reset
        writer.close()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


async def test_response_url_disconnect_logs_the_reason(
    bot: Make, caplog: pytest.LogCaptureFixture
) -> None:
    server = await bot(wecom_reply_budget_ms=1)
    dropping, base = await _dropping_server()
    try:
        with caplog.at_level(logging.ERROR, logger="qcbot.wecom"):
            assert await (await server.ask("LOST1", base=base)).read() == b""
            server.handler.gate.set()
            await eventually(lambda: "response_url failed" in caplog.text)
    finally:
        dropping.close()
        await dropping.wait_closed()
    line = next(r.getMessage() for r in caplog.records if "response_url failed" in r.getMessage())
    assert "ServerDisconnectedError" in line


async def test_response_url_refusals_log_status_and_body(
    bot: Make, caplog: pytest.LogCaptureFixture
) -> None:
    server = await bot(wecom_reply_budget_ms=1)
    server.api.script(RESPONSE, 60020)

    async def bad_gateway(request: web.Request) -> web.Response:
        return web.Response(status=502, text="upstream down")

    gateway = web.Application()
    gateway.router.add_post(RESPONSE, bad_gateway)
    failing = TestServer(gateway, host="127.0.0.1")
    await failing.start_server()
    try:
        with caplog.at_level(logging.ERROR, logger="qcbot.wecom"):
            assert await (await server.ask("REFUSED1")).read() == b""
            base = f"http://127.0.0.1:{failing.port}"
            assert await (await server.ask("HTTP502", base=base)).read() == b""
            server.handler.gate.set()
            await eventually(
                lambda: len([r for r in caplog.records if "response_url" in r.getMessage()]) == 2
            )
    finally:
        await failing.close()
    lines = " | ".join(r.getMessage() for r in caplog.records)
    assert "errcode 60020" in lines and "scripted" in lines
    assert "HTTP 502" in lines and "upstream down" in lines


# --- the pieces ---------------------------------------------------------------------------


async def test_backlog_workers_let_other_work_in_between_jobs() -> None:
    backlog = Backlog(workers=1, limit=100)
    done: list[int] = []

    def job(i: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            done.append(i)  # pure CPU: never suspends by itself

        return run

    for i in range(50):
        assert backlog.offer(job(i))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert 0 < len(done) < 50  # the worker yielded: this coroutine ran between its jobs
    await backlog.drain()
    assert done == list(range(50)) and backlog.pending == 0
    assert not backlog.offer(job(99))  # closed after drain


def test_refusals_are_logged_at_most_once_a_second(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    refusals = RefusalLog(clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="qcbot.wecom"):
        for _ in range(5):
            refusals.note(pending=7)
        now[0] += 1.0
        for _ in range(3):
            refusals.note(pending=7)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "wecom_bot busy: 1 refused, 7 answers pending",
        "wecom_bot busy: 5 refused, 7 answers pending",
    ]

"""Two real `qcbot serve` replicas on one real PostgreSQL, one SIGKILLed mid-load (issue 15, item 4).

WeCom 智能机器人 callbacks alternate between the replicas; a callback that gets no answer in
time (or whose replica is gone) is sent again to the other one, as WeCom retries. At the
receiving side every answer is counted per msgid — passive replies and response_url pushes,
which (like WeCom's) accept one push per message — and each msgid must have exactly one.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from wechatpy.enterprise.crypto import WeChatCrypto

from tests import wecom_vectors as v
from tests.fakes import eventually
from tests.test_replicas import Replica, handled, start_replica, wait_healthy
from tests.test_wecom_callbacks import BOT_TOKEN, group_text, opened, sealed

BUDGET_MS = 1000
SLOW = 1.5  # seconds a message mentioning 慢 takes: beyond the budget, so its answer is pushed
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=BUDGET_MS / 1000 + 1.0)  # WeCom: 5 s for a 2 s budget
MESSAGES = 48


class ResponseUrl:
    """WeCom's response_url: one push per message accepted (a second is refused), counted."""

    def __init__(self) -> None:
        self.accepted: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.server: TestServer | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/cgi-bin/aibot/response", self._push)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return f"http://127.0.0.1:{self.server.port}"

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def _push(self, request: web.Request) -> web.Response:
        msgid = request.query.get("response_code", "").removeprefix("RC_")
        await request.read()
        if self.accepted[msgid]:
            self.refused[msgid] += 1
            return web.json_response({"errcode": 846605, "errmsg": "response_url used"})
        self.accepted[msgid] += 1
        return web.json_response({"errcode": 0, "errmsg": "ok"})


class WeComClient:
    """Sends callbacks as WeCom does: to one replica, again to the other after a timeout."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base
        self.passive: Counter[str] = Counter()
        self.acknowledged: set[str] = set()
        self.retried: set[str] = set()

    async def send(self, msgid: str, text: str, order: list[Replica]) -> None:
        plain = group_text(f"@RobotA {text}", msgid, self.base, user=f"U-{msgid}")
        query, encrypted = sealed(WeChatCrypto(BOT_TOKEN, v.V1_KEY, ""), plain, None, "4711")
        for attempt in range(4):  # the first send and three retries
            replica = order[attempt % 2]
            try:
                async with self.http.post(f"{replica.url}/wecom/bot", params=query,
                                          json={"encrypt": encrypted}, timeout=CLIENT_TIMEOUT) as response:
                    body = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                self.retried.add(msgid)
                await asyncio.sleep(0.2)
                continue
            assert status == 200, (msgid, status)
            if body:
                assert opened(body)["stream"]["content"].startswith("答："), msgid
                self.passive[msgid] += 1
            else:
                self.acknowledged.add(msgid)
            return
        raise AssertionError(f"{msgid}: no replica answered")


async def test_two_replicas_on_postgresql_answer_every_question_once_when_one_is_killed(
    pg_url: str, tmp_path: Path
) -> None:
    receiver = ResponseUrl()
    base = await receiver.start()
    env = {
        **{k: val for k, val in os.environ.items() if not k.startswith("QCBOT_")},
        "QCBOT_HOST": "127.0.0.1", "QCBOT_DB_PATH": str(tmp_path / "data" / "qcbot.db"),
        "QCBOT_DATABASE_URL": pg_url, "QCBOT_REPLICAS": "2",
        "QCBOT_WECOM_BOT_TOKEN": BOT_TOKEN, "QCBOT_WECOM_BOT_AES_KEY": v.V1_KEY,
        "QCBOT_WECOM_API_BASE": base, "QCBOT_WECOM_REPLY_BUDGET_MS": str(BUDGET_MS),
    }
    a, b = [await start_replica(name, tmp_path, env, slow=SLOW) for name in ("A", "B")]
    try:
        async with aiohttp.ClientSession() as http:
            for replica in (a, b):
                await wait_healthy(replica, http)
            client = WeComClient(http, base)
            await _load_with_a_kill(client, a, b)
            everyone = {f"M{i}" for i in range(MESSAGES)}

            def answers() -> Counter[str]:
                return client.passive + receiver.accepted

            # what A acknowledged and never pushed is found by B once A's claim lapses
            await eventually(lambda: set(answers()) == everyone, timeout=40)
            await asyncio.sleep(1.5)  # a duplicate would come now, from a second scan
            assert {m: n for m, n in answers().items() if n != 1} == {}
            assert set(answers()) == everyone
        b.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(b.process.wait(), 30) == 0
    finally:
        for replica in (a, b):
            if replica.process.returncode is None:
                replica.process.kill()
                await replica.process.wait()
        await receiver.close()
    assert a.process.returncode == -signal.SIGKILL
    by_a = {h["id"] for h in handled(tmp_path) if h["replica"] == "A"}
    recovered = [e for e in b.events() if e.get("event") == "wecom_bot_recovered"]
    assert by_a and client.retried  # A was at work, and callbacks to it were sent again to B
    assert recovered  # the slow one A acknowledged when it was killed was pushed by B


async def _load_with_a_kill(client: WeComClient, a: Replica, b: Replica) -> None:
    """Every 4th message is slow; A is SIGKILLed right after it acknowledged a slow one."""
    gate = asyncio.Semaphore(8)
    killed = asyncio.Event()

    async def one(i: int) -> None:
        order = [a, b] if i % 2 == 0 else [b, a]
        text = f"问题{i}" + ("慢" if i % 4 == 0 else "")
        async with gate:
            await client.send(f"M{i}", text, order)
        if i == MESSAGES // 3 // 4 * 4 and not killed.is_set():  # a slow one sent to A first
            a.process.send_signal(signal.SIGKILL)
            killed.set()

    tasks = []
    for i in range(MESSAGES):
        tasks.append(asyncio.create_task(one(i)))
        await asyncio.sleep(0.03)
    await asyncio.gather(*tasks)
    await a.process.wait()

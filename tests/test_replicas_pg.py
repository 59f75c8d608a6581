"""Two real `qcbot serve` replicas on one real PostgreSQL, one SIGKILLed mid-load (issue 15, item 4).

WeCom 智能机器人 callbacks alternate between the replicas; a callback that gets no answer in
time (or whose replica is gone) is sent again to the other one, as WeCom retries. At the
receiving side every answer is counted per msgid — passive replies and response_url pushes,
which (like WeCom's) accept one push per message — and each msgid must have exactly one.
Telegram webhook updates alternate between them too, and the one killed had acknowledged
updates it never answered: each is answered once, at the fake Bot API. Deadline reminders due
while both run: one replica is killed between its claim and its send, the other sends every
reminder once per person.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from wechatpy.enterprise.crypto import WeChatCrypto

from handlers.core import Incoming
from knowledge.model import KnowledgeBase
from knowledge.qa import Librarian
from tests import wecom_vectors as v
from tests.fake_telegram import TOKEN, FakeBotApi, message
from tests.fakes import eventually
from tests.reminder_helpers import Clock, at, open_app
from tests.test_replicas import (
    HOOK_PATH,
    ROOT,
    SECRET,
    Replica,
    free_port,
    handled,
    kill_left,
    start_replica,
    wait_healthy,
)
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
        await kill_left((a, b))
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


# --- Telegram: acknowledged updates of a killed replica are answered by the other, once ---------

UPDATES = 24
TG_SLOW = 4.0  # seconds a message mentioning 慢 takes: A is killed while it holds some


def telegram_env(tmp_path: Path, pg_url: str, api_base: str) -> dict[str, str]:
    """Two replicas of one webhook bot on PostgreSQL."""
    return {
        **{k: val for k, val in os.environ.items() if not k.startswith("QCBOT_")},
        "QCBOT_HOST": "127.0.0.1", "QCBOT_DB_PATH": str(tmp_path / "data" / "qcbot.db"),
        "QCBOT_DATABASE_URL": pg_url, "QCBOT_REPLICAS": "2",
        "QCBOT_TELEGRAM_TOKEN": TOKEN, "QCBOT_TELEGRAM_MODE": "webhook",
        "QCBOT_TELEGRAM_SECRET_TOKEN": SECRET, "QCBOT_TELEGRAM_BASE_URL": api_base,
    }


async def _post_update(http: aiohttp.ClientSession, replica: Replica, update: dict[str, Any]) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with http.post(f"{replica.url}{HOOK_PATH}", json=update, headers=headers) as response:
        assert response.status == 200


async def test_updates_a_killed_replica_acknowledged_are_answered_once_by_the_other(
    pg_url: str, tmp_path: Path
) -> None:
    api = FakeBotApi()
    env = telegram_env(tmp_path, pg_url, await api.start())
    a, b = [await start_replica(name, tmp_path, env, slow=TG_SLOW) for name in ("A", "B")]
    texts = [f"问题{i}" + ("慢" if i % 4 == 0 else "") for i in range(UPDATES + 4)]
    try:
        async with aiohttp.ClientSession() as http:
            for replica in (a, b):
                await wait_healthy(replica, http)
            for i, text in enumerate(texts[:UPDATES]):  # alternating; every slow one goes to A
                update = {**message(text, chat_id=100 + i % 3), "update_id": 9000 + i}
                await _post_update(http, a if i % 2 == 0 else b, update)
            await eventually(lambda: any(h["replica"] == "A" and "慢" in h["text"] for h in handled(tmp_path)))
            a.process.send_signal(signal.SIGKILL)  # holding a slow one in each chat, more queued behind
            await a.process.wait()
            for i, text in enumerate(texts[UPDATES:], start=UPDATES):  # B goes on serving meanwhile
                await _post_update(http, b, {**message(text, chat_id=100 + i % 3), "update_id": 9000 + i})

            def answers() -> Counter[str]:
                return Counter(c.params["text"] for c in api.delivered() if c.params["text"].startswith("答："))

            expected = {f"答：{text}" for text in texts}
            await eventually(lambda: set(answers()) == expected, timeout=60)
            await asyncio.sleep(2.5)  # a duplicate would come now: from a second scan, or A's leftovers
            assert {t: n for t, n in answers().items() if n != 1} == {}
        b.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(b.process.wait(), 30) == 0
    finally:
        await kill_left((a, b))
        await api.close()
    assert a.process.returncode == -signal.SIGKILL
    by_a = {h["text"] for h in handled(tmp_path) if h["replica"] == "A"}
    recovered = {e["update_id"] for e in b.events() if e.get("event") == "telegram_recovered"}
    assert by_a and recovered  # A was at work when killed; B took over what it left
    assert all(9000 + i in recovered for i, text in enumerate(texts[:UPDATES]) if i % 2 == 0 and "慢" in text)


# --- reminders: due while both run, one replica killed between claim and send -----------------

REMINDERS_AT = "2026-12-14 10:00"  # Monday: deadlines 12-15, 12-16, 12-17 and the weekly nudge are due
LIAISONS = [(f"{7001 + n}", ("统计局", "财政局", "市场监管局")[n % 3]) for n in range(8)]
BOSS = "9000"
KILL_GAP = 5.0  # seconds A waits between a claim and its send: it is killed in between
CLAIM_LEASE = 3.0  # a claim in flight on the other replica is retried this long after (120 s in production)


def _said(user: str, text: str) -> Incoming:
    return Incoming(channel="telegram", chat_id=user, chat_type="private", user_id=user,
                    user_name=f"联络员{user}", text=text)


async def _county_on(pg_url: str, tmp_path: Path, kb: KnowledgeBase, librarian: Librarian) -> None:
    """Eight Telegram liaisons bound privately, the office's three deadlines: in PostgreSQL."""
    app, _ = await open_app(tmp_path / "setup" / "qcbot.db", kb, librarian, Clock(at("2026-12-01 10:00")),
                            register=False, database_url=pg_url, admins=f"telegram:{BOSS}")
    try:
        for user, department in LIAISONS:
            replies = await app.handler.handle(_said(user, f"/bind {department}"))
            assert "已绑定" in replies[0].text, replies
        for day in ("2026-12-15", "2026-12-16", "2026-12-17"):
            replies = await app.handler.handle(_said(BOSS, f"/deadline {day} 报送材料{day[-2:]}"))
            assert "已设置" in replies[0].text, replies
    finally:
        await app.close()


async def _start_scheduling(name: str, tmp_path: Path, env: dict[str, str], gap: float,
                            first_tick: float) -> Replica:
    port = free_port()
    log = tmp_path / f"{name}.log"
    settings = {**env, "QCBOT_PORT": str(port),
                "QCBOT_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}{HOOK_PATH}"}
    args = [name, str(tmp_path / "sending.jsonl"), str(gap), "reminders", REMINDERS_AT,
            str(tmp_path / "go"), str(first_tick), str(CLAIM_LEASE)]
    with log.open("w") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.replica_runner", *args, cwd=ROOT, env=settings, stderr=err)
    return Replica(name, port, process, log)


def _sending(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "sending.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def _reminder_rows(pg_url: str) -> dict[str, str]:
    from bot.storage.pg import connect

    conn = await asyncio.to_thread(connect, pg_url)
    try:
        rows = await asyncio.to_thread(lambda: conn.execute("select key, status from reminders").fetchall())
    finally:
        await asyncio.to_thread(conn.close)
    return {str(k): str(s) for k, s in rows}


async def test_reminders_due_while_both_run_go_out_once_when_one_is_killed_before_its_send(
    pg_url: str, tmp_path: Path, kb: KnowledgeBase, librarian: Librarian
) -> None:
    await _county_on(pg_url, tmp_path, kb, librarian)
    api = FakeBotApi()
    env = {**telegram_env(tmp_path, pg_url, await api.start()), "QCBOT_ADMINS": f"telegram:{BOSS}"}
    a = await _start_scheduling("A", tmp_path, env, gap=KILL_GAP, first_tick=0.0)
    b = await _start_scheduling("B", tmp_path, env, gap=0.0, first_tick=1.0)  # A claims first
    try:
        async with aiohttp.ClientSession() as http:
            for replica in (a, b):
                await wait_healthy(replica, http)
            (tmp_path / "go").touch()  # both schedulers start now
            await eventually(lambda: any(s["replica"] == "A" for s in _sending(tmp_path)), timeout=20)
            a.process.send_signal(signal.SIGKILL)  # claimed, not sent
            await a.process.wait()

            async def settled() -> bool:
                rows = await _reminder_rows(pg_url)
                return bool(rows) and set(rows.values()) <= {"sent", "dropped"}

            for _ in range(300):  # B sends its own, then retries A's once A's claim is CLAIM_LEASE old
                if await settled():
                    break
                await asyncio.sleep(0.1)
            rows = await _reminder_rows(pg_url)
            assert set(rows.values()) <= {"sent", "dropped"}, rows
        b.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(b.process.wait(), 30) == 0
    finally:
        await kill_left((a, b))
        await api.close()
    lines = _sending(tmp_path)
    by_a = [line for line in lines if line["replica"] == "A"]
    by_b = [line for line in lines if line["replica"] == "B"]
    assert len(by_a) == 1 and by_b  # A was killed in its first send, B sent the rest
    assert set(by_a[0]["keys"]) <= {k for line in by_b for k in line["keys"]}  # … and A's too
    delivered = api.delivered()
    per_chat = Counter(str(c.params["chat_id"]) for c in delivered)
    assert per_chat == Counter(str(line["chat"]) for line in by_b)  # every message at the Bot API is B's
    keys = Counter(k for line in by_b for k in line["keys"])
    assert max(keys.values()) == 1 and set(keys) == {k for k, s in rows.items() if s == "sent"}
    deadline_keys = {k for k in keys if k.startswith("deadline|")}
    for person, _ in LIAISONS:  # every liaison got each of the three deadlines' reminders, once
        mine = [k for k in deadline_keys if f"user:telegram:{person}|" in k]
        assert len(mine) == 3, (person, mine)
    assert all(len(texts) == len(set(texts)) for texts in _texts_by_chat(delivered).values())


def _texts_by_chat(calls: list[Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for call in calls:
        found.setdefault(str(call.params["chat_id"]), []).append(str(call.params["text"]))
    return found

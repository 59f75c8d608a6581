"""Several `qcbot serve` replicas on one database behave as one (issue 15, item 3).

First the shared state itself (two Storage objects on one SQLite file, as two processes would
open it), then two real `serve` processes on one WAL file behind the fake Telegram and WeCom
servers, with updates and callbacks alternating between them and every one sent to both.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.channels.memory import CallbackPayloads, ChoiceMemory, LocalState
from bot.config import Config, ConfigError
from bot.serve import plan_channels
from bot.storage import Storage
from handlers.core import Choice
from handlers.dialogues import Conversations
from knowledge.dialogue import Context
from knowledge.query import Intent
from tests import wecom_vectors as v
from tests.fake_telegram import TOKEN, FakeBotApi, message, press
from tests.fake_wecom import FakeWeCom
from tests.fakes import eventually
from tests.replica_runner import LONG_PAYLOAD
from tests.test_wecom_callbacks import BOT_TOKEN, group_text, opened, sealed

ROOT = Path(__file__).resolve().parent.parent
SECRET = "replica-secret"
HOOK_PATH = "/telegram/hook-7f3a"


class Clock:
    """A settable clock for Storage (datetime) and LocalState (seconds)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[Storage, Storage, Clock]]:
    """Two Storage objects on one file: what two replicas open."""
    clock = Clock()
    first = await Storage.open(tmp_path / "shared.db", clock=clock)
    second = await Storage.open(tmp_path / "shared.db", clock=clock)
    yield first, second, clock
    await first.close()
    await second.close()


# --- the shared state ----------------------------------------------------------------------


async def test_an_id_is_claimed_once_among_replicas_until_it_expires(
    pair: tuple[Storage, Storage, Clock],
) -> None:
    a, b, clock = pair
    claims = [s.first_time("wecom_bot", "MSG1", 60) for s in (a, b) * 10]
    assert sorted(await asyncio.gather(*claims)) == [False] * 19 + [True]
    assert await a.first_time("wecom_bot", "MSG2", 60) and not await b.first_time("wecom_bot", "MSG2", 60)
    assert await b.first_time("wecom_app", "MSG1", 60)  # scopes do not collide
    clock.advance(61)
    assert await b.first_time("wecom_bot", "MSG1", 60)  # expired: a new claim


async def test_values_are_shared_and_expire_and_sweeping_removes_them(
    pair: tuple[Storage, Storage, Clock],
) -> None:
    a, b, clock = pair
    await a.share_values("telegram.button", {"~abc": "assess:很长的按钮"}, 60)
    assert await b.shared_value("telegram.button", "~abc") == "assess:很长的按钮"
    a.share_later("choices", "g\x1fu", "[]", 60)
    assert await b.shared_value("choices", "g\x1fu") is None  # written behind …
    await a.flush()
    assert await b.shared_value("choices", "g\x1fu") == "[]"  # … and there after the flush
    a.share_later("choices", "g\x1fu", None, 60)
    await a.flush()
    assert await b.shared_value("choices", "g\x1fu") is None
    await a.first_time("telegram.update", "1", 10)
    clock.advance(61)
    assert await b.shared_value("telegram.button", "~abc") is None
    assert await b.sweep_shared() == 2
    with sqlite3.connect(a.path) as conn:
        assert conn.execute("select count(*) from kv").fetchone() == (0,)
        assert conn.execute("select count(*) from seen").fetchone() == (0,)


async def test_the_send_limit_holds_across_replicas_in_every_window(
    pair: tuple[Storage, Storage, Clock],
) -> None:
    a, b, clock = pair
    taken = [await s.take_slot("hook", 3, 60) for s in (a, b, a)]
    assert taken == [0.0, 0.0, 0.0]
    wait = await b.take_slot("hook", 3, 60)
    assert 60 < wait <= 62  # counted per second: the oldest counts until a whole window after it
    clock.advance(30)
    assert await a.take_slot("hook", 3, 60) > 0  # still within the window: no slot
    clock.advance(wait - 30)
    assert await a.take_slot("hook", 3, 60) == 0.0
    assert await b.take_slot("other", 3, 60) == 0.0  # buckets are separate


async def test_local_state_keeps_the_same_promises_in_one_process() -> None:
    now = [1000.0]
    local = LocalState(clock=lambda: now[0])
    assert await local.first_time("s", "k", 10) and not await local.first_time("s", "k", 10)
    assert [await local.take_slot("b", 2, 60) for _ in range(3)][:2] == [0.0, 0.0]
    now[0] += 61
    assert await local.first_time("s", "k", 10) and await local.take_slot("b", 2, 60) == 0.0


async def test_buttons_choices_and_dialogue_made_on_one_replica_work_on_the_other(
    pair: tuple[Storage, Storage, Clock],
) -> None:
    a, b, _ = pair
    made, pressed = CallbackPayloads(shared=a), CallbackPayloads(shared=b)
    data = made.encode(LONG_PAYLOAD)
    assert pressed.decode(data) is None  # not in B's memory …
    await made.save()
    assert await pressed.recall(data) == LONG_PAYLOAD  # … but in the store
    assert await pressed.recall("~0000000000000000") is None
    offered, answered = ChoiceMemory(shared=a), ChoiceMemory(shared=b)
    offered.remember("CHAT", "U", (Choice("是", "assess:yes"), Choice("否", "assess:no")))
    await a.flush()
    assert await answered.lookup("CHAT", "U", "２") == Choice("否", "assess:no")
    assert await answered.lookup("CHAT", "U", "3") is None
    context = Context(plan="pingyin", framework="shandong", ids=("14",), intent=Intent.POINTS,
                      topic="计量", choices=(("14", "计量"),), noted=frozenset({"x"}), at=50.0)
    first, second = Conversations(shared=a), Conversations(shared=b)
    first.put(("wecom_bot", "CHAT", "U"), context)
    await a.flush()
    assert await second.get(("wecom_bot", "CHAT", "U"), 60.0) == context
    assert await second.get(("wecom_bot", "CHAT", "U"), 60.0 + 31 * 60) is None  # idle too long


def test_serve_refuses_polling_when_replicated() -> None:
    config = Config.from_mapping({"telegram_token": TOKEN, "replicas": 2})
    with pytest.raises(ConfigError) as caught:
        plan_channels(config)
    assert "webhook" in str(caught.value) and "QCBOT_REPLICAS=2" in str(caught.value)
    webhook = {"telegram_mode": "webhook", "telegram_webhook_url": "https://x/t/p",
               "telegram_secret_token": SECRET}
    assert plan_channels(Config.from_mapping({**webhook, "telegram_token": TOKEN, "replicas": 2})).telegram


# --- two real serve processes -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Replica:
    """One running `serve` process."""

    name: str
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def events(self) -> list[dict[str, Any]]:
        lines = self.log.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


async def start_replica(name: str, tmp_path: Path, env: dict[str, str], slow: float = 0.0) -> Replica:
    port = free_port()
    log = tmp_path / f"{name}.log"
    settings = {
        **env, "QCBOT_PORT": str(port),
        "QCBOT_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}{HOOK_PATH}",
    }
    with log.open("w") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.replica_runner", name, str(tmp_path / "handled.jsonl"), str(slow),
            cwd=ROOT, env=settings, stderr=err,
        )
    return Replica(name, port, process, log)


async def kill_left(replicas: tuple[Replica, ...] | list[Replica]) -> None:
    """SIGKILL (and reap) every replica still running: the tests' cleanup."""
    for replica in replicas:
        if replica.process.returncode is None:
            replica.process.kill()
            await replica.process.wait()


async def wait_healthy(replica: Replica, http: aiohttp.ClientSession) -> None:
    for _ in range(600):
        assert replica.process.returncode is None, replica.log.read_text(encoding="utf-8")
        try:
            async with http.get(f"{replica.url}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"replica {replica.name} did not become healthy")


def handled(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "handled.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def kv_rows(db: Path, scope: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from kv where scope = ?", [scope]).fetchone()[0])


async def test_two_serve_replicas_on_one_database_behave_as_one(tmp_path: Path) -> None:
    telegram_api, wecom_api = FakeBotApi(), FakeWeCom()
    tg_base, wx_base = await telegram_api.start(), await wecom_api.start()
    db = tmp_path / "qcbot.db"
    await (await Storage.open(db)).close()  # migrated once, before the replicas start
    env = {
        **{k: val for k, val in os.environ.items() if not k.startswith("QCBOT_")},
        "QCBOT_HOST": "127.0.0.1", "QCBOT_DB_PATH": str(db), "QCBOT_REPLICAS": "2",
        "QCBOT_TELEGRAM_TOKEN": TOKEN, "QCBOT_TELEGRAM_MODE": "webhook",
        "QCBOT_TELEGRAM_SECRET_TOKEN": SECRET, "QCBOT_TELEGRAM_BASE_URL": tg_base,
        "QCBOT_WECOM_BOT_TOKEN": BOT_TOKEN, "QCBOT_WECOM_BOT_AES_KEY": v.V1_KEY,
        "QCBOT_WECOM_API_BASE": wx_base, "QCBOT_WECOM_REPLY_BUDGET_MS": "4000",
        "QCBOT_WECOM_WEBHOOK_KEY": "hook-key", "QCBOT_WECOM_WEBHOOK_PER_MINUTE": "3",
    }
    replicas = [await start_replica(name, tmp_path, env) for name in ("A", "B")]
    a, b = replicas
    try:
        async with aiohttp.ClientSession() as http:
            for replica in replicas:
                await wait_healthy(replica, http)
            await _telegram_updates_are_handled_once(http, a, b, telegram_api, tmp_path)
            await _wecom_callbacks_are_handled_once(http, a, b, wx_base, tmp_path, db)
            await _the_group_robot_limit_holds_across_both(http, a, b, wx_base, wecom_api)
        for replica in replicas:
            replica.process.send_signal(signal.SIGTERM)
        codes = await asyncio.wait_for(asyncio.gather(*(r.process.wait() for r in replicas)), 30)
    finally:
        await kill_left(replicas)
        await telegram_api.close()
        await wecom_api.close()
    assert codes == [0, 0]
    # stopped with 8 notices queued and 3 sent within the minute: 5 reported left, none sent
    assert len(wecom_api.called("/cgi-bin/webhook/send")) == 3
    left = [e.get("left", 0) for r in replicas for e in r.events() if e.get("event") == "webhook_lost"]
    assert sum(left) == 5
    with sqlite3.connect(db) as conn:
        assert conn.execute("select sum(hits) from rate").fetchone() == (3,)


async def _post_update(http: aiohttp.ClientSession, replica: Replica, update: dict[str, Any]) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with http.post(f"{replica.url}{HOOK_PATH}", json=update, headers=headers) as response:
        assert response.status == 200


async def _telegram_updates_are_handled_once(
    http: aiohttp.ClientSession, a: Replica, b: Replica, api: FakeBotApi, tmp_path: Path
) -> None:
    for i in range(6):
        update = {**message(f"问题{i}", chat_id=42), "update_id": 5000 + i}
        first, second = (a, b) if i % 2 == 0 else (b, a)
        await _post_update(http, first, update)
        await _post_update(http, second, update)  # the same update_id again, to the other one
    # a last update per replica in the same chat: its lane runs the duplicates before it
    for n, replica in enumerate((a, b)):
        await _post_update(http, replica, {**message(f"收尾{replica.name}", chat_id=42), "update_id": 6000 + n})
    await eventually(lambda: {"收尾A", "收尾B"} <= {h["text"] for h in handled(tmp_path)}, timeout=15)
    texts = [h["text"] for h in handled(tmp_path) if h["channel"] == "telegram"]
    assert sorted(texts) == sorted([f"问题{i}" for i in range(6)] + ["收尾A", "收尾B"])
    # a button made by the replica that answered 问题0, pressed on the other one
    answered_by = next(h["replica"] for h in handled(tmp_path) if h["text"] == "问题0")
    sent = next(c for c in api.delivered() if c.params["text"] == "答：问题0")
    assert sent.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"].startswith("~")
    other = b if answered_by == "A" else a
    await _post_update(http, other, {**press(sent, "详细说明"), "update_id": 7000})
    await eventually(lambda: any(c.params["text"] == f"按了：{LONG_PAYLOAD}" for c in api.delivered()), timeout=15)
    assert not [c for c in api.sent("answerCallbackQuery") if c.params.get("text")]  # no 按钮已过期


async def _post_bot(http: aiohttp.ClientSession, replica: Replica, plain: dict[str, Any]) -> bytes:
    query, encrypted = sealed(WeChatCrypto(BOT_TOKEN, v.V1_KEY, ""), plain, None, "4711")
    async with http.post(f"{replica.url}/wecom/bot", params=query, json={"encrypt": encrypted}) as response:
        assert response.status == 200
        return await response.read()


async def _wecom_callbacks_are_handled_once(
    http: aiohttp.ClientSession, a: Replica, b: Replica, base: str, tmp_path: Path, db: Path
) -> None:
    for i in range(6):
        first, second = (a, b) if i % 2 == 0 else (b, a)
        plain = group_text(f"@RobotA 企业微信{i}", f"MSG{i}", base)
        answer = await _post_bot(http, first, plain)
        assert opened(answer)["stream"]["content"].startswith(f"答：企业微信{i}")
        assert await _post_bot(http, second, plain) == answer  # WeCom's retry: the same answer
    mine = [h for h in handled(tmp_path) if h["channel"] == "wecom_bot"]
    assert [(h["id"], h["replica"]) for h in mine] == [(f"MSG{i}", "AB"[i % 2]) for i in range(6)]
    # the numbered choice offered by B (企业微信5) is picked by a bare "1" sent to A
    await eventually(lambda: kv_rows(db, "wecom_bot.choices") == 1)
    answer = await _post_bot(http, a, group_text("@RobotA 1", "MSG-PICK", base))
    assert opened(answer)["stream"]["content"] == f"按了：{LONG_PAYLOAD}"


async def _the_group_robot_limit_holds_across_both(
    http: aiohttp.ClientSession, a: Replica, b: Replica, base: str, api: FakeWeCom
) -> None:
    for i, replica in enumerate((a, b, a, b)):  # 2 notices each: 8 for a limit of 3 a minute
        await _post_bot(http, replica, group_text(f"@RobotA 群通知{i}", f"NOTE{i}", base))
    await eventually(lambda: len(api.called("/cgi-bin/webhook/send")) == 3, timeout=15)
    for replica in (a, b):  # both replicas hold notices they may not send yet
        async with http.get(f"{replica.url}/healthz") as response:
            assert (await response.json())["webhook_queue"] >= 1

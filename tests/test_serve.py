"""`qcbot serve`: configuration check, routes, JSON logs without secrets, clean shutdown."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.channels.wecom_webhook import WEBHOOK_CHAT
from bot.cli import main
from bot.config import Config, ConfigError
from bot.logs import JsonFormatter, configure_logging
from bot.scheduler import Outbox
from bot.serve import plan_channels, secrets_of, serve
from handlers.core import Incoming, Reply
from tests import wecom_vectors as v
from tests.fake_telegram import BOT, TOKEN, FakeBotApi, message
from tests.fake_wecom import FakeWeCom
from tests.fakes import RecordingHandler, eventually
from tests.test_wecom_callbacks import BOT_TOKEN, group_text, sealed

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- configuration check ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "flags", "names"),
    [
        ({}, {"telegram": True}, ["QCBOT_TELEGRAM_TOKEN"]),
        (
            {"telegram_mode": "webhook"},
            {"telegram": True},
            ["QCBOT_TELEGRAM_TOKEN", "QCBOT_TELEGRAM_WEBHOOK_URL", "QCBOT_TELEGRAM_SECRET_TOKEN"],
        ),
        (
            {"wecom_corp_id": "ww1"},
            {"wecom": True},
            [
                "QCBOT_WECOM_AGENT_ID",
                "QCBOT_WECOM_SECRET",
                "QCBOT_WECOM_TOKEN",
                "QCBOT_WECOM_AES_KEY",
            ],
        ),
        ({}, {"wecom": True}, ["QCBOT_WECOM_BOT_TOKEN", "QCBOT_WECOM_WEBHOOK_KEY"]),
        ({"wecom_bot_token": "t", "wecom_bot_aes_key": "short"}, {}, ["QCBOT_WECOM_BOT_AES_KEY"]),
    ],
)
def test_missing_configuration_is_named(
    settings: dict[str, str], flags: dict[str, bool], names: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        plan_channels(Config.from_mapping(settings), **flags)
    assert all(name in str(caught.value) for name in names)


def test_serve_exits_2_with_one_chinese_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in [k for k in os.environ if k.startswith("QCBOT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("QCBOT_WECOM_BOT_TOKEN", "only-half")
    assert main(["serve", "--wecom"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "无法启动 qcbot serve：缺少配置：QCBOT_WECOM_BOT_AES_KEY"


def test_nothing_configured_serves_health_only() -> None:
    assert plan_channels(Config.from_mapping({})).names == []


def test_plan_from_configuration() -> None:
    config = Config.from_mapping({"telegram_token": TOKEN, "wecom_webhook_key": "k"})
    assert plan_channels(config).names == ["telegram", "wecom_webhook"]
    assert plan_channels(config, telegram=True).names == ["telegram"]


def test_log_lines_are_json_and_mask_secrets() -> None:
    stream = io.StringIO()
    formatter = JsonFormatter([TOKEN])
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "GET https://api.telegram.org/bot%s/getMe", (TOKEN,), None
    )
    record.event = "probe"
    stream.write(formatter.format(record))
    line = json.loads(stream.getvalue())
    assert (
        line["msg"] == "GET https://api.telegram.org/bot***/getMe"
        and line["event"] == "probe"
        and line["level"] == "error"
    )


# --- a whole server in-process -------------------------------------------------------------


@dataclass
class FakeApp:
    """Stands in for bot.app.App: a handler and close()."""

    handler: RecordingHandler
    events: list[str] = field(default_factory=list)
    outbox: Outbox = field(default_factory=Outbox)
    storage: None = None  # no database: /healthz then reports no database check

    def start_scheduler(self) -> None:
        self.events.append("scheduler")

    async def close(self) -> None:
        self.events.append("closed")


def respond(message: Incoming) -> list[Reply]:
    """Answer; a 群通知 question also posts five notices to the 群机器人 group."""
    notices = (
        [Reply(text=f"通知 {i}", to_chat=WEBHOOK_CHAT) for i in range(5)]
        if "群通知" in message.text
        else []
    )
    return [Reply(text=f"答：{message.text}"), *notices]


async def test_serve_answers_both_channels_logs_no_secrets_and_drains(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    telegram_api, wecom_api = FakeBotApi(), FakeWeCom()
    tg_base, wx_base = await telegram_api.start(), await wecom_api.start()
    handler = RecordingHandler(respond)
    fake_app = FakeApp(handler)

    async def create_app(config: Config) -> FakeApp:
        return fake_app

    monkeypatch.setattr("bot.app.create_app", create_app)
    port = free_port()
    config = Config.from_mapping(
        {
            "host": "127.0.0.1",
            "port": port,
            "log_level": "DEBUG",
            "telegram_token": TOKEN,
            "telegram_base_url": tg_base,
            "telegram_poll_timeout": 1,
            "wecom_bot_token": BOT_TOKEN,
            "wecom_bot_aes_key": v.V1_KEY,
            "wecom_api_base": wx_base,
            "wecom_reply_budget_ms": 50,
            "wecom_webhook_key": "hook-key",
            "wecom_webhook_per_minute": 100,
        }
    )
    logs = io.StringIO()
    handler_ = configure_logging("DEBUG", secrets_of(config), logs)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, plan_channels(config), stop))
    try:
        async with aiohttp.ClientSession() as http:
            await eventually(lambda: bool(telegram_api.sent("getUpdates")), timeout=10)
            health = await (await http.get(f"http://127.0.0.1:{port}/healthz")).json()
            assert health["channels"] == ["telegram", "wecom_bot", "wecom_webhook"]
            telegram_api.push(message(f"@{BOT['username']} 你好"))
            await eventually(lambda: len(telegram_api.sent()) == 1)
            query, encrypted = sealed(
                WeChatCrypto(BOT_TOKEN, v.V1_KEY, ""),
                group_text("@RobotA 慢问题 群通知", "LATE", wx_base),
                None,
                "7",
            )
            handler.delay = 0.4
            answer = await http.post(
                f"http://127.0.0.1:{port}/wecom/bot", params=query, json={"encrypt": encrypted}
            )
            assert (
                answer.status == 200 and await answer.read() == b""
            )  # acknowledged; answer still in flight
        stop.set()
        await asyncio.wait_for(task, 15)
    finally:
        logging.getLogger().removeHandler(handler_)
        await telegram_api.close()
        await wecom_api.close()
    assert [c.body["markdown"]["content"] for c in wecom_api.called("/cgi-bin/aibot/response")] == [
        "答：慢问题 群通知"
    ]
    # nothing lost: the notices queued while stopping were all sent before close
    assert [c.body["markdown"]["content"] for c in wecom_api.called("/cgi-bin/webhook/send")] == [
        f"通知 {i}" for i in range(5)
    ]
    assert fake_app.events == ["scheduler", "closed"]  # reminders started, the app closed last
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert {"serve_started", "telegram_started", "serve_stopped"} <= {
        line.get("event") for line in lines
    }
    assert TOKEN not in logs.getvalue() and TOKEN.split(":")[1] not in logs.getvalue()
    assert BOT_TOKEN not in logs.getvalue() and v.V1_KEY not in logs.getvalue()


def test_sigterm_stops_the_real_process_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: val for k, val in os.environ.items() if not k.startswith("QCBOT_")},
        "QCBOT_HOST": "127.0.0.1",
        "QCBOT_PORT": str(port),
        "QCBOT_DB_PATH": str(tmp_path / "q.db"),
        "QCBOT_WECOM_BOT_TOKEN": BOT_TOKEN,
        "QCBOT_WECOM_BOT_AES_KEY": v.V1_KEY,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--wecom"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_healthy(port, process)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    events = [json.loads(line).get("event") for line in err.splitlines() if line.startswith("{")]
    assert events[-1] == "serve_stopped" and "serve_stopping" in events
    assert BOT_TOKEN not in err


def _wait_healthy(port: int, process: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                if b'"status": "ok"' in conn.recv(4096):
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not become healthy")

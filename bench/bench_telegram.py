"""Telegram: does a busy group delay a private answer?

`qcbot serve --telegram` (the real handler: knowledge base, librarian, storage) runs as a child
process and long-polls a fake Bot API served here on 127.0.0.1. The fake enforces Telegram's
group flood limit (20 messages a minute per group, as a bucket that refills one every 3 s) and
answers 429 with retry_after beyond it; the group starts `--busy` messages into its minute, as if
reminders had just been posted there.

Phases: a few private questions alone (the baseline latency), then 30 @-mentions in the group
followed by one private question, all in one getUpdates batch. Printed: the private answer's
latency under that load and how much longer it is than alone (target: ≤ 1 s), the time until
all 30 group answers were sent, the 429s and whether the group's answers kept their order.
Then `--backlog` more group questions are fetched (so acknowledged) and the server gets SIGTERM:
printed are how long it took to exit and whether every one of them was either answered or named
in the shutdown's error line. Stops by itself (`--timeout`); exit 1 on a miss.

Run: .venv/bin/python bench/bench_telegram.py [--questions 30] [--busy 5] [--backlog 1400]
     [--timeout 180]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:BENCH-token"
BOT = {"id": 999, "is_bot": True, "first_name": "质量强县助手", "username": "qc_bench_bot"}
GROUP, PRIVATE = -1001, 4242
GROUP_PER_MINUTE = 20  # Telegram: about 20 messages per minute in one group
TARGET_DELAY_S = 1.0
BASELINE_QUESTIONS = 3
BACKLOG_FIRST_ID = 100_000
FALLBACK = [
    "计量怎么得分？",
    "标准化工作谁负责？",
    "质量强县有几个体系？",
    "认证认可要交什么材料？",
]


@dataclass
class Sent:
    """One sendMessage the bot made."""

    chat: int
    reply_to: int | None
    at: float
    status: int


@dataclass
class FakeTelegram:
    """getMe, deleteWebhook, getUpdates (long poll), sendMessage with a per-group flood limit."""

    busy: int
    updates: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    sent: list[Sent] = field(default_factory=list)
    polled: asyncio.Event = field(default_factory=asyncio.Event)
    buckets: dict[int, tuple[float, float]] = field(default_factory=dict)  # chat → (level, at)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def route(self, request: web.Request) -> web.Response:
        token, _, method = request.match_info["path"].partition("/")
        if token != f"bot{TOKEN}":
            return web.json_response({"ok": False, "error_code": 401}, status=401)
        params = await _params(request)
        if method == "getUpdates":
            return _ok(await self.get_updates(float(params.get("timeout") or 0)))
        if method == "sendMessage":
            return self.send_message(params)
        return _ok(BOT if method == "getMe" else True)

    async def get_updates(self, timeout: float) -> list[dict[str, Any]]:
        self.polled.set()
        try:
            batch = [await asyncio.wait_for(self.updates.get(), min(timeout, 1.0) or 0.01)]
        except TimeoutError:
            return []
        while not self.updates.empty():
            batch.append(self.updates.get_nowait())
        return batch

    def send_message(self, params: dict[str, Any]) -> web.Response:
        chat = int(params["chat_id"])
        reply = params.get("reply_parameters") or {}
        wait = self._flood_wait(chat) if chat < 0 else 0.0
        status = 429 if wait else 200
        self.sent.append(Sent(chat, reply.get("message_id"), time.monotonic(), status))
        if wait:
            body = {"ok": False, "error_code": 429, "description": "Too Many Requests"}
            body["parameters"] = {"retry_after": max(1, round(wait))}
            return web.json_response(body, status=429)
        chat_info = {"id": chat, "type": "supergroup" if chat < 0 else "private", "title": "群"}
        message = {"message_id": next(self.ids), "date": int(time.time()), "chat": chat_info}
        return _ok({**message, "from": BOT, "text": params.get("text", "")})

    def _flood_wait(self, chat: int) -> float:
        """Seconds until the group may get another message (0: send it now and count it)."""
        period = 60.0 / GROUP_PER_MINUTE
        level, at = self.buckets.get(chat, (float(self.busy), time.monotonic()))
        now = time.monotonic()
        level = max(0.0, level - (now - at) / period)
        if level + 1 > GROUP_PER_MINUTE:
            self.buckets[chat] = (level, now)
            return (level + 1 - GROUP_PER_MINUTE) * period
        self.buckets[chat] = (level + 1, now)
        return 0.0

    def push(self, update_id: int, chat: int, text: str, message_id: int) -> None:
        kind = "private" if chat > 0 else "supergroup"
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat, "type": kind, "title": "质量强县工作群"},
            "from": {"id": 42 + message_id % 7, "is_bot": False, "first_name": "联络员"},
            "text": text,
        }
        mention = "@" + str(BOT["username"])
        if text.startswith(mention):
            message["entities"] = [{"type": "mention", "offset": 0, "length": len(mention)}]
        self.updates.put_nowait({"update_id": update_id, "message": message})

    async def answered(self, chat: int, message_id: int, deadline: float) -> float:
        """When the first successful reply quoting `message_id` in `chat` was sent."""
        while time.monotonic() < deadline:
            for sent in self.sent:
                if sent.chat == chat and sent.reply_to == message_id and sent.status == 200:
                    return sent.at
            await asyncio.sleep(0.005)
        raise TimeoutError(f"no answer to message {message_id} in chat {chat}")


async def run(questions: int, busy: int, backlog: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    fake = FakeTelegram(busy=busy)
    app = web.Application()
    app.router.add_post("/{path:.*}", fake.route)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    api_port, serve_port = _free_port(), _free_port()
    await web.TCPSite(runner, "127.0.0.1", api_port).start()
    asked = _questions()
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "serve.log", "w+") as logs:
        server = subprocess.Popen(
            [sys.executable, "-m", "qcbot", "serve", "--telegram", "--port", str(serve_port)],
            cwd=ROOT,
            env=_server_env(tmp, api_port),
            stdout=subprocess.DEVNULL,
            stderr=logs,
        )
        try:
            await asyncio.wait_for(fake.polled.wait(), max(1.0, deadline - time.monotonic()))
            result = await _measure(fake, asked, questions, deadline)
            result["backlog_at_sigterm"] = await _queue_backlog(fake, backlog, deadline)
        finally:
            result.update(await _terminate(server))
            await runner.cleanup()
        logs.seek(0)
        lines = logs.read().splitlines()
    dropped = [json.loads(line) for line in lines if '"telegram_dropped"' in line]
    errors = [line[:300] for line in lines if '"level": "error"' in line]
    result["backlog_dropped_logged"] = sum(int(d.get("count", 0)) for d in dropped)
    answered = {s.reply_to for s in fake.sent if (s.reply_to or 0) >= BACKLOG_FIRST_ID}
    result["backlog_answered"] = len(answered)
    unaccounted = backlog - len(answered) - result["backlog_dropped_logged"]
    result["backlog_lost_silently"] = max(0, unaccounted)
    result["pass"] = bool(result.get("pass")) and unaccounted <= 0
    result["server_errors_logged"] = len(errors)
    result["server_error_sample"] = errors[:3]
    return result


async def _queue_backlog(fake: FakeTelegram, backlog: int, deadline: float) -> int:
    """Queue `backlog` group questions and wait until the bot has fetched them all."""
    for number in range(backlog):
        update_id = BACKLOG_FIRST_ID + number
        fake.push(update_id, GROUP, f"@{BOT['username']} 第{number}问怎么得分？", update_id)
    while not fake.updates.empty() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # the next getUpdates acknowledges them
    return backlog


async def _measure(
    fake: FakeTelegram, asked: list[str], questions: int, deadline: float
) -> dict[str, Any]:
    ids = itertools.count(1)
    alone = []
    for number in range(BASELINE_QUESTIONS):  # also warms the knowledge base up
        message_id = next(ids)
        start = time.monotonic()
        fake.push(message_id, PRIVATE, asked[number % len(asked)], message_id)
        alone.append(await fake.answered(PRIVATE, message_id, deadline) - start)
    group_ids = []
    start = time.monotonic()
    for number in range(questions):
        message_id = next(ids)
        group_ids.append(message_id)
        text = f"@{BOT['username']} {asked[number % len(asked)]}"
        fake.push(message_id, GROUP, text, message_id)
    private_id = next(ids)
    fake.push(private_id, PRIVATE, asked[-1], private_id)
    private_at = await fake.answered(PRIVATE, private_id, deadline)
    group_at = [await fake.answered(GROUP, m, deadline) for m in group_ids]
    baseline = sorted(alone)[len(alone) // 2]
    private_latency = private_at - start
    sent_before_private = sum(1 for at in group_at if at < private_at)
    return {
        "group_questions": questions,
        "group_busy_at_start": fake.busy,
        "private_alone_s": round(baseline, 3),
        "private_under_load_s": round(private_latency, 3),
        "private_delay_s": round(private_latency - baseline, 3),
        "group_answers_before_private": sent_before_private,
        "group_total_s": round(max(group_at) - start, 2),
        "group_429s": sum(1 for s in fake.sent if s.chat == GROUP and s.status == 429),
        "group_order_kept": group_at == sorted(group_at),
        "pass": private_latency - baseline <= TARGET_DELAY_S and group_at == sorted(group_at),
    }


async def _terminate(server: subprocess.Popen[Any]) -> dict[str, Any]:
    """SIGTERM the server and time its exit (killed after 60 s); the fake keeps answering."""
    if server.poll() is not None:
        return {"server_exit": server.returncode, "server_stop_s": 0.0}
    start = time.monotonic()
    server.send_signal(signal.SIGTERM)
    try:
        await asyncio.to_thread(server.wait, 60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    return {"server_exit": server.returncode, "server_stop_s": round(time.monotonic() - start, 2)}


def _questions() -> list[str]:
    """In-scope questions of the labelled dev set (a short fixed list when it is absent)."""
    try:
        import yaml

        items = yaml.safe_load((ROOT / "tests" / "data" / "devset.yaml").read_text("utf-8"))
        found = [
            str(i["q"]) for i in items if i.get("kind") != "out_of_scope" and "\n" not in i["q"]
        ]
        return found[:60] or FALLBACK
    except (OSError, KeyError, TypeError, AttributeError):
        return FALLBACK


def _server_env(tmp: str, api_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QCBOT_")}
    env.update(
        {
            "QCBOT_HOST": "127.0.0.1",
            "QCBOT_DB_PATH": str(Path(tmp) / "bench.db"),
            "QCBOT_CACHE_DIR": str(Path(tempfile.gettempdir()) / "qcbot-bench-cache"),
            "QCBOT_LOG_LEVEL": "INFO",
            "QCBOT_TELEGRAM_TOKEN": TOKEN,
            "QCBOT_TELEGRAM_BASE_URL": f"http://127.0.0.1:{api_port}/bot",
            "QCBOT_TELEGRAM_POLL_TIMEOUT": "1",
        }
    )
    return env


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        return dict(await request.json())
    params: dict[str, Any] = dict(await request.post())
    for key in ("reply_parameters", "reply_markup"):
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    """Run the bench once, print one JSON object; exit 1 when the target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=30, help="@-mentions in the busy group")
    parser.add_argument("--busy", type=int, default=5, help="group messages already this minute")
    parser.add_argument(
        "--backlog", type=int, default=1_400, help="group updates queued before SIGTERM"
    )
    parser.add_argument("--timeout", type=float, default=180.0, help="stop after this many s")
    args = parser.parse_args()
    try:
        result = asyncio.run(run(args.questions, args.busy, args.backlog, args.timeout))
    except TimeoutError as exc:
        print(json.dumps({"pass": False, "error": f"timed out: {exc}"}, ensure_ascii=False))
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())

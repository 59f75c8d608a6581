"""/metrics in the Prometheus format and /healthz's database check, on a real aiohttp server.

The counters are process-wide, so every test reads differences (before → after).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.app import App
from bot.channels.wecom_webhook import WeComWebhook
from bot.config import Config
from bot.serve import Channels, build_channels, plan_channels, stop_channels, web_app
from bot.storage import Storage
from handlers.core import Incoming, Reply
from knowledge.model import KnowledgeBase
from knowledge.qa import Librarian
from tests.fakes import eventually
from tests.messages import Person
from tests.reminder_helpers import Clock, Recorder, at, county, open_app

Serve = Callable[..., Awaitable[TestClient[Any, Any]]]


class Echo:
    """A handler that answers every message with its text."""

    async def handle(self, message: Incoming) -> list[Reply]:
        return [Reply(message.text)]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start web_app for a configuration (and optional storage) on 127.0.0.1; stop at the end."""
    running: list[tuple[TestClient[Any, Any], Channels]] = []

    async def start(
        storage: Storage | None = None, channels: Channels | None = None, **values: Any
    ) -> TestClient[Any, Any]:
        if channels is None:
            config = Config.from_mapping(values)
            channels = build_channels(config, Echo(), plan_channels(config))
        client: TestClient[Any, Any] = TestClient(
            TestServer(web_app(channels, storage), host="127.0.0.1")
        )
        await client.start_server()
        running.append((client, channels))
        return client

    yield start
    for client, channels in running:
        await client.close()
        await stop_channels(channels, drain_seconds=0.05)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition, keyed by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(client: TestClient[Any, Any]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return samples(await response.text())


def request_count(route: str, status: int) -> float:
    return metrics.sample("qcbot_http_requests_total", route=route, status=str(status))


# --- HTTP requests -------------------------------------------------------------------------------


async def test_requests_are_counted_by_route_pattern_and_status(serve: Serve) -> None:
    client = await serve()
    before = request_count("/healthz", 200), request_count("unmatched", 404)
    for path in ("/healthz", "/healthz", "/no/such/page"):
        await client.get(path)
    seen = await scrape(client)
    after = (
        seen[("qcbot_http_requests_total", (("route", "/healthz"), ("status", "200")))],
        seen[("qcbot_http_requests_total", (("route", "unmatched"), ("status", "404")))],
    )
    assert (after[0] - before[0], after[1] - before[1]) == (2, 1)
    assert not [key for key in seen if "/no/such/page" in str(key)]


async def test_the_telegram_webhook_path_is_a_secret_never_a_label(serve: Serve) -> None:
    client = await serve(
        telegram_token="123:TEST",
        telegram_mode="webhook",
        telegram_webhook_url="https://bot.example.cn/telegram/s3cret-path",
        telegram_secret_token="right-secret",
    )
    before = request_count("telegram_webhook", 403)
    answer = await client.post(
        "/telegram/s3cret-path", json={}, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
    )
    assert answer.status == 403
    text = await (await client.get("/metrics")).text()
    assert request_count("telegram_webhook", 403) - before == 1
    assert "s3cret" not in text


# --- /healthz checks the database ------------------------------------------------------------------


async def test_healthz_checks_the_database(
    serve: Serve, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = await Storage.open(tmp_path / "q.db")
    client = await serve(storage)
    ok = await client.get("/healthz")
    assert ok.status == 200 and (await ok.json())["database"] == "ok"
    await storage.close()  # the database is gone from under the server
    with caplog.at_level(logging.ERROR, logger="qcbot.serve"):
        failed = await client.get("/healthz")
    body = await failed.json()
    assert failed.status == 503
    assert body["status"] == "error" and body["database"] == "数据库已关闭"
    logged = [r.getMessage() for r in caplog.records if r.name == "qcbot.serve"]
    assert logged == ["health check: 数据库已关闭"]
    assert request_count("/healthz", 503) >= 1


# --- answers ------------------------------------------------------------------------------------


async def test_replies_abstentions_and_answer_time_are_counted(app: App) -> None:
    def now() -> tuple[float, float, float]:
        return (
            metrics.sample("qcbot_replies_total", channel="console"),
            metrics.sample("qcbot_abstentions_total", channel="console"),
            metrics.sample("qcbot_answer_seconds_count", channel="console"),
        )

    person = Person(app.handler)
    before = now()
    assert "计量" in await person.say("计量怎么得分？")
    assert "没找到" in await person.say("宇宙飞船的发动机怎么修")
    assert "没找到" in await person.say("/ask 今天天气怎么样")
    after = now()
    assert [a - b for a, b in zip(after, before, strict=True)] == [3, 2, 3]


# --- reminders ------------------------------------------------------------------------------------


async def test_reminders_sent_and_failed_are_counted(
    tmp_path: Path, kb: KnowledgeBase, librarian: Librarian
) -> None:
    clock = Clock(at("2026-12-01 10:00"))
    app, _ = await open_app(tmp_path / "db" / "q.db", kb, librarian, clock, register=False)
    recorder = Recorder()

    async def push(reply: Reply) -> None:
        if reply.private:
            raise aiohttp.ClientConnectionError("private chat unreachable")
        await recorder(reply)

    app.outbox.register("console", push)
    try:
        await county(app, clock, recorder)
        before = {s: metrics.sample("qcbot_reminders_total", status=s) for s in ("sent", "failed")}
        done = await app.scheduler.tick(at("2026-12-08 09:00"))
        after = {s: metrics.sample("qcbot_reminders_total", status=s) for s in ("sent", "failed")}
    finally:
        await app.close()
    statuses = [d.status for d in done]
    assert statuses.count("sent") >= 1 and statuses.count("failed") >= 1
    assert {s: after[s] - before[s] for s in after} == {
        "sent": statuses.count("sent"),
        "failed": statuses.count("failed"),
    }


# --- queue depth ----------------------------------------------------------------------------------


async def test_queue_depth_of_the_webhook_queue(serve: Serve) -> None:
    config = Config.from_mapping({"wecom_webhook_key": "hook-key"})
    plan = plan_channels(config)
    session = aiohttp.ClientSession()
    never = asyncio.Event()

    async def wait_forever(seconds: float) -> None:
        await never.wait()

    # a send limit of 0 per minute: the worker holds the first message, the rest wait in the queue
    webhook = WeComWebhook(session, "http://127.0.0.1:9", "hook-key", per_minute=0, sleep=wait_forever)
    channels = Channels(plan, session, webhook=webhook)
    client = await serve(channels=channels)
    for i in range(4):
        await webhook.send(Reply(f"通知 {i}"))
    await eventually(lambda: webhook.queue.qsize() == 3)
    seen = await scrape(client)
    assert seen[("qcbot_queue_depth", (("queue", "webhook"),))] == 3
    assert "qcbot_answer_seconds_bucket" in {name for name, _ in seen}


async def test_openmetrics_when_the_scraper_asks_for_it(serve: Serve) -> None:
    client = await serve()
    answer = await client.get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert answer.headers["Content-Type"].startswith("application/openmetrics-text")
    assert (await answer.text()).endswith("# EOF\n")

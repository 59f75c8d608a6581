"""`qcbot serve`: one aiohttp server for health, WeCom callbacks and the Telegram webhook.

Channels are built from the configuration, checked at start (one Chinese message naming
what is missing), and stopped cleanly on SIGTERM: stop taking requests, stop polling,
finish the answers in flight, drain the webhook queue, then close the app.

The channels keep what several replicas must agree on (ids handled, button payloads, the
群机器人 limit) in the app's storage, so QCBOT_REPLICAS processes on one database act as one;
Telegram then receives by webhook only (polling serves one process).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler as Endpoint
from aiohttp.typedefs import Middleware

from bot import metrics
from bot.channels.backlog import Backlog
from bot.channels.base import Channel
from bot.channels.errors import AesKeyError
from bot.channels.telegram import TelegramChannel
from bot.channels.wecom_api import WeComAppClient
from bot.channels.wecom_app import WeComAppChannel
from bot.channels.wecom_bot import WeComBotChannel
from bot.channels.wecom_callback import CallbackGuard
from bot.channels.wecom_crypto import WeComCrypto
from bot.channels.wecom_webhook import WeComWebhook
from bot.config import Config, ConfigError
from bot.logs import configure_logging
from bot.storage import Storage, StorageError
from handlers.core import Handler
from handlers.store import SharedState

if TYPE_CHECKING:
    from bot.scheduler import Outbox

log = logging.getLogger("qcbot.serve")

EXIT_CONFIG = 2
NO_CHANNEL = (
    "没有配置任何渠道，只提供 /healthz 和 /metrics：请设置 QCBOT_TELEGRAM_TOKEN，"
    "或企业微信的 QCBOT_WECOM_BOT_TOKEN 与 QCBOT_WECOM_BOT_AES_KEY"
)
DRAIN_SECONDS = 8.0  # the whole stop, within Docker's default 10 s grace
HEALTH_DB_SECONDS = 3.0  # /healthz reports the database as failed when `select 1` takes longer
BOT_KEYS = ("wecom_bot_token", "wecom_bot_aes_key")
APP_KEYS = ("wecom_corp_id", "wecom_agent_id", "wecom_secret", "wecom_token", "wecom_aes_key")
WEBHOOK_KEYS = ("wecom_webhook_key",)


# --- configuration check ------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Which channels to run."""

    telegram: bool
    wecom_bot: bool
    wecom_app: bool
    wecom_webhook: bool

    @property
    def names(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name)]


def plan_channels(config: Config, telegram: bool = False, wecom: bool = False) -> Plan:
    """Decide the channels (flags, else whatever is configured); raise ConfigError naming gaps."""
    if not telegram and not wecom:
        # nothing asked for and nothing configured: serve /healthz only, so that a fresh image
        # starts and says what is missing instead of exiting (see `run`)
        telegram = bool(config.telegram_token)
        wecom = any(getattr(config, k) for k in (*BOT_KEYS, *APP_KEYS, *WEBHOOK_KEYS))
    if telegram:
        _check_telegram(config)
    parts = (
        [_started(config, keys) for keys in (BOT_KEYS, APP_KEYS, WEBHOOK_KEYS)]
        if wecom
        else [False] * 3
    )
    if wecom and not any(parts):
        raise ConfigError(
            "缺少企业微信配置：至少需要智能机器人（QCBOT_WECOM_BOT_TOKEN、QCBOT_WECOM_BOT_AES_KEY）、自建应用或群机器人 QCBOT_WECOM_WEBHOOK_KEY 之一"
        )
    _check_aes(config, parts[0], parts[1])
    return Plan(telegram, *parts)


def _check_telegram(config: Config) -> None:
    if config.telegram_mode not in ("polling", "webhook"):
        raise ConfigError(
            f"配置项 QCBOT_TELEGRAM_MODE 只能是 polling 或 webhook，现为 {config.telegram_mode!r}"
        )
    if config.replicas > 1 and config.telegram_mode == "polling":
        raise ConfigError(
            f"QCBOT_REPLICAS={config.replicas} 时 Telegram 只能用 webhook（QCBOT_TELEGRAM_MODE=webhook）：轮询只适用于单个进程"
        )
    webhook = (
        ("telegram_webhook_url", "telegram_secret_token")
        if config.telegram_mode == "webhook"
        else ()
    )
    config.require("telegram_token", *webhook)


def _started(config: Config, keys: tuple[str, ...]) -> bool:
    """A WeCom part counts once any of its keys is set; then all of them must be."""
    if not any(getattr(config, k) for k in keys):
        return False
    config.require(*keys)
    return True


def _check_aes(config: Config, bot: bool, app: bool) -> None:
    checks = [("wecom_bot_aes_key", bot), ("wecom_aes_key", app)]
    for name, used in checks:
        try:
            if used:
                WeComCrypto("", getattr(config, name), "")
        except AesKeyError:
            raise ConfigError(
                f"配置项 QCBOT_{name.upper()} 无效：EncodingAESKey 应为 43 个字母或数字"
            ) from None


def secrets_of(config: Config) -> list[str]:
    """Every secret value to mask in logs (hidden fields and the webhook path)."""
    values = [str(getattr(config, f.name)) for f in fields(config) if not f.repr]
    path = urlsplit(config.telegram_webhook_url).path
    return [v for v in values if v] + ([path] if path.strip("/") else [])


# --- channels and routes ------------------------------------------------------------------


@dataclass
class Channels:
    """The running adapters and their shared HTTP client."""

    plan: Plan
    session: aiohttp.ClientSession
    telegram: TelegramChannel | None = None
    wecom_bot: WeComBotChannel | None = None
    wecom_app: WeComAppChannel | None = None
    webhook: WeComWebhook | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def running(self) -> list[Channel]:
        """The configured channels in start order (the 群机器人 first: the others push through it)."""
        candidates: list[Channel | None] = [self.webhook, self.telegram, self.wecom_bot, self.wecom_app]
        return [c for c in candidates if c is not None]


def build_channels(
    config: Config,
    handler: Handler,
    plan: Plan,
    clock: Callable[[], float] = time.time,
    shared: SharedState | None = None,
) -> Channels:
    """Create the adapters for the plan (inside a running event loop); `shared`: the replicas' state."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    channels = Channels(plan, session)
    client = _app_client(config, session) if plan.wecom_app else None
    window = config.wecom_callback_window
    if plan.wecom_webhook:
        channels.webhook = WeComWebhook(
            session,
            config.wecom_api_base,
            config.wecom_webhook_key,
            config.wecom_webhook_per_minute,
            shared=shared,
        )
    if plan.telegram:
        channels.telegram = TelegramChannel(config, handler, shared=shared)
    if plan.wecom_bot:
        guard = CallbackGuard(
            WeComCrypto(config.wecom_bot_token, config.wecom_bot_aes_key, ""),
            window,
            clock,
            shared=shared,
            scope="wecom_bot",
        )
        budget = config.wecom_reply_budget_ms / 1000
        backlog = Backlog(wecom_workers(config), config.wecom_queue_limit)
        channels.wecom_bot = WeComBotChannel(
            guard,
            handler,
            session,
            config.wecom_bot_name,
            budget,
            client,
            channels.webhook,
            backlog,
        )
    if client is not None:
        guard = CallbackGuard(
            WeComCrypto(config.wecom_token, config.wecom_aes_key, config.wecom_corp_id),
            window,
            clock,
            shared=shared,
            scope="wecom_app",
        )
        channels.wecom_app = WeComAppChannel(guard, handler, client, channels.webhook)
    return channels


def _app_client(config: Config, session: aiohttp.ClientSession) -> WeComAppClient:
    return WeComAppClient(
        session,
        config.wecom_api_base,
        config.wecom_corp_id,
        config.wecom_secret,
        config.wecom_agent_id,
    )


def web_app(channels: Channels, storage: Storage | None = None) -> web.Application:
    """The aiohttp application: /healthz, /metrics, /wecom/bot, /wecom/app, the Telegram webhook."""
    app = web.Application(client_max_size=1024 * 1024, middlewares=[_count_requests(channels)])

    async def health(request: web.Request) -> web.Response:
        return await _health(channels, storage)

    async def scrape(request: web.Request) -> web.Response:
        metrics.set_queue_depths(_queue_depths(channels))
        body, content_type = metrics.exposition(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    app.router.add_get("/healthz", health)
    app.router.add_get("/metrics", scrape)
    for channel in channels.running:
        for method, path, endpoint in channel.routes():
            app.router.add_route(method, path, endpoint)
    return app


async def _health(channels: Channels, storage: Storage | None) -> web.Response:
    status: dict[str, Any] = {
        "status": "ok",
        "channels": channels.plan.names,
        "uptime_s": round(time.monotonic() - channels.started, 1),
    }
    if channels.webhook is not None:
        status["webhook_queue"] = channels.webhook.depth()
    if storage is not None:
        problem = await _database_problem(storage)
        if problem:
            return web.json_response({**status, "status": "error", "database": problem}, status=503)
        status["database"] = "ok"
    return web.json_response(status)


async def _database_problem(storage: Storage) -> str:
    """Why the database does not answer a `select 1` (logged), or "" when it does."""
    try:
        await asyncio.wait_for(storage.ping(), HEALTH_DB_SECONDS)
        return ""
    except StorageError as exc:
        problem = str(exc)
    except TimeoutError:
        problem = f"数据库 {HEALTH_DB_SECONDS:g} 秒内没有响应"
    log.error("health check: %s", problem, extra={"event": "health_database_failed"})
    return problem


def _count_requests(channels: Channels) -> Middleware:
    """Middleware counting each request by route pattern and status (the Telegram path is secret)."""
    telegram = channels.telegram.webhook_path if channels.telegram is not None else None

    @web.middleware
    async def middleware(request: web.Request, handler: Endpoint) -> web.StreamResponse:
        resource = request.match_info.route.resource
        route = "unmatched" if resource is None else resource.canonical
        route = "telegram_webhook" if route == telegram else route
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            metrics.count_request(route, exc.status)
            raise
        except Exception:
            metrics.count_request(route, 500)
            raise
        metrics.count_request(route, response.status)
        return response

    return middleware


def _queue_depths(channels: Channels) -> dict[str, int]:
    """How much each running channel still has to do: webhook sends, answers, Telegram updates."""
    return {_DEPTH_NAMES.get(c.name, c.name): c.depth() for c in channels.running}


_DEPTH_NAMES = {"wecom_webhook": "webhook"}  # the metric's label, as first published


async def start_channels(channels: Channels) -> None:
    """Start every configured channel (Telegram connects and polls or registers its webhook)."""
    for channel in channels.running:
        await channel.start()


async def stop_channels(channels: Channels, drain_seconds: float = DRAIN_SECONDS) -> None:
    """Stop the channels in reverse order within one shared budget; close the client.

    Each channel gets what the ones before it left of `drain_seconds` (at least a moment, so
    that it can log what it drops), so the whole stop fits inside Docker's default 10 s.
    """
    deadline = time.monotonic() + drain_seconds
    for channel in reversed(channels.running):
        await _logged(channel.stop(max(deadline - time.monotonic(), 0.1)))
    await channels.session.close()


async def _logged(step: Any) -> None:
    try:
        await step
    except Exception:
        log.exception("shutdown step failed", extra={"event": "shutdown_error"})


# --- the process --------------------------------------------------------------------------


def register_pushes(outbox: Outbox, channels: Channels) -> None:
    """Let the reminder scheduler push through every running channel that can send unprompted."""
    for channel in channels.running:
        if channel.can_push:
            outbox.register(channel.name, channel.push)


async def serve(config: Config, plan: Plan, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set (SIGTERM/SIGINT set it), then shut down in order."""
    from bot.app import create_app  # lazy: the app (core flows, storage) is wired elsewhere

    stop = stop or _stop_on_signals()
    app = await create_app(config)
    channels = build_channels(config, app.handler, plan, shared=app.storage)
    register_pushes(app.outbox, channels)
    runner = web.AppRunner(
        web_app(channels, app.storage), access_log=None, handle_signals=False, shutdown_timeout=10
    )
    try:
        await runner.setup()
        await _listen(runner, config)
        await start_channels(channels)
        app.start_scheduler()
        log.info(
            "serving",
            extra={
                "event": "serve_started",
                "host": config.host,
                "port": config.port,
                "channels": plan.names,
            },
        )
        await stop.wait()
        log.info("stopping", extra={"event": "serve_stopping"})
    finally:
        await runner.cleanup()
        await stop_channels(channels)
        await app.close()
        log.info("stopped", extra={"event": "serve_stopped"})


class ListenError(Exception):
    """The HTTP port cannot be listened on (taken, or not allowed); the message is one line."""


async def _listen(runner: web.AppRunner, config: Config) -> None:
    try:
        await web.TCPSite(runner, config.host, config.port).start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(
                f"端口 {config.port} 已被占用：请换一个 QCBOT_PORT 或 --port"
            ) from None
        raise ListenError(f"无法在 {config.host}:{config.port} 监听：{exc.strerror or exc}") from None


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


def run(config: Config, telegram: bool = False, wecom: bool = False) -> int:
    """Check the configuration, set up logging, serve until stopped; the exit code."""
    try:
        plan = plan_channels(config, telegram, wecom)
    except ConfigError as exc:
        print(f"无法启动 qcbot serve：{exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(config.log_level, secrets_of(config))
    if not plan.names:
        log.warning(NO_CHANNEL, extra={"event": "serve_no_channel"})
    try:
        asyncio.run(serve(config, plan))
    except ListenError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    except ConfigError as exc:  # found while building the app: the counties or holidays file
        print(f"无法启动 qcbot serve：{exc}", file=sys.stderr)
        return EXIT_CONFIG
    return 0


def wecom_workers(config: Config) -> int:
    """智能机器人 answers worked out at once: QCBOT_WECOM_WORKERS, or 8 on SQLite and 32 on PostgreSQL.

    On PostgreSQL an answer mostly waits on the server, so more of them keep replies passive
    (bench/bench_replicas.py); on SQLite the answers compete for this process's CPU, and more
    workers starve the acknowledgements under overload (bench/bench_wecom.py).
    """
    if config.wecom_workers > 0:
        return config.wecom_workers
    return 32 if config.database_url else 8

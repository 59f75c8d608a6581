"""One `qcbot serve` replica for tests/test_replicas.py: the real server, channels and Storage.

    python -m tests.replica_runner NAME HANDLED [SLOW_SECONDS]
    python -m tests.replica_runner NAME SENDING GAP_SECONDS reminders NOW GO_FILE FIRST_TICK LEASE

Configuration comes from QCBOT_* variables as for `qcbot serve`. The app is the real Storage
on QCBOT_DB_PATH with a recording handler in place of the knowledge base: every message it
handles is one JSON line in HANDLED (replica, channel, message id, text, payload), fsynced.
It answers "答：<text>" with one button whose payload is too long for Telegram's
callback_data (so it travels through the shared state), "按了：<payload>" to a press, and a
message mentioning 群通知 also posts two notices to the 群机器人 group; one mentioning 慢 is
answered after SLOW_SECONDS (beyond the reply budget: its answer is pushed to response_url).
Storage is PostgreSQL when QCBOT_DATABASE_URL names one.

`reminders`: the real App instead (knowledge base, handlers, reminder scheduler) with its clock
fixed at NOW (ISO, Asia/Shanghai). Its scheduler starts FIRST_TICK seconds after GO_FILE appears
(the test creates it once every replica is up), ticks every half second, and leaves a claim in
flight on another replica for LEASE seconds (REPLICA_LEASE in production) before retrying it.
Every push is first one fsynced JSON line in SENDING (replica, channel, chat, reminder keys),
then GAP_SECONDS pass (the point to SIGKILL it: claimed, not yet sent), then the real channel sends.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import bot.app
from bot.app import App
from bot.channels.wecom_webhook import WEBHOOK_CHAT
from bot.config import Config
from bot.logs import configure_logging
from bot.scheduler import Outbox, Push
from bot.serve import plan_channels, secrets_of, serve
from bot.storage import Storage
from handlers.core import Choice, Incoming, Reply

REAL_CREATE_APP = bot.app.create_app
LONG_PAYLOAD = "detail:" + "质量强县评价指标说明" * 4  # > 64 bytes: a short id on Telegram


@dataclass
class Recorder:
    """Answers and appends one line per handled message to the HANDLED file."""

    replica: str
    path: str
    slow: float = 0.0

    async def handle(self, message: Incoming) -> list[Reply]:
        """Record the message; answer it."""
        line = json.dumps(
            {"replica": self.replica, "channel": message.channel, "id": message.message_id,
             "text": message.text, "payload": message.payload},
            ensure_ascii=False,
        )
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
        if "慢" in message.text:
            await asyncio.sleep(self.slow)
        if message.payload is not None:
            return [Reply(text=f"按了：{message.payload}")]
        replies = [Reply(text=f"答：{message.text}", choices=(Choice("详细说明", LONG_PAYLOAD),))]
        if "群通知" in message.text:
            replies += [Reply(text=f"通知 {self.replica}{i}", to_chat=WEBHOOK_CHAT) for i in range(2)]
        return replies


@dataclass
class ReplicaApp:
    """What `serve` needs of bot.app.App: the handler, the outbox, the storage, close()."""

    handler: Recorder
    storage: Storage
    outbox: Outbox = field(default_factory=Outbox)

    def start_scheduler(self) -> None:
        """No reminders here."""

    async def close(self) -> None:
        """Release the database."""
        await self.storage.close()


async def main(replica: str, handled: str, slow: float = 0.0) -> int:
    """Serve until SIGTERM."""
    config = Config.load()
    storage = await Storage.open(config.db_path, database_url=config.database_url, replicas=config.replicas)
    app = ReplicaApp(Recorder(replica, handled, slow), storage)

    async def create_app(config: Config) -> ReplicaApp:
        return app

    bot.app.create_app = create_app  # type: ignore[assignment]
    configure_logging(config.log_level, secrets_of(config))
    await serve(config, plan_channels(config))
    return 0


@dataclass
class Reminders:
    """The `reminders` mode: how the real App's scheduler is started and its pushes recorded."""

    replica: str
    sending: str
    gap: float
    now: datetime
    go: Path
    first_tick: float
    lease: float
    starter: asyncio.Task[None] | None = None

    async def create_app(self, config: Config) -> App:
        """The real App, its clock fixed, its pushes gapped, its scheduler started by GO_FILE."""
        app = await REAL_CREATE_APP(config, now=lambda: self.now)
        app.scheduler.interval, app.scheduler.lease = 0.5, self.lease
        outbox = app.outbox
        register = outbox.register
        outbox.register = lambda channel, push: register(channel, self._gapped(channel, push))  # type: ignore[method-assign]
        app.start_scheduler = lambda: self._start_later(app)  # type: ignore[method-assign]
        return app

    def _gapped(self, channel: str, push: Push) -> Push:
        async def gapped(reply: Reply) -> None:
            line = json.dumps({"replica": self.replica, "channel": channel, "chat": reply.to_chat,
                               "keys": reply.meta.get("reminders", "").split("\n")}, ensure_ascii=False)
            with open(self.sending, "a", encoding="utf-8") as out:
                out.write(line + "\n")
                out.flush()
                os.fsync(out.fileno())
            await asyncio.sleep(self.gap)
            await push(reply)

        return gapped

    def _start_later(self, app: App) -> None:
        async def later() -> None:
            while not self.go.exists():
                await asyncio.sleep(0.05)
            await asyncio.sleep(self.first_tick)
            app.scheduler.start()

        self.starter = asyncio.get_running_loop().create_task(later())


async def main_reminders(replica: str, sending: str, gap: float, args: list[str]) -> int:
    """Serve the real App until SIGTERM (see the module docstring)."""
    now = datetime.fromisoformat(args[0]).replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    mode = Reminders(replica, sending, gap, now, Path(args[1]), float(args[2]), float(args[3]))
    config = Config.load()
    bot.app.create_app = mode.create_app  # type: ignore[assignment]
    configure_logging(config.log_level, secrets_of(config))
    await serve(config, plan_channels(config))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 4 and sys.argv[4] == "reminders":
        sys.exit(asyncio.run(main_reminders(sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[5:])))
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)))

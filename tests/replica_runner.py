"""One `qcbot serve` replica for tests/test_replicas.py: the real server, channels and Storage.

    python -m tests.replica_runner NAME HANDLED [SLOW_SECONDS]

Configuration comes from QCBOT_* variables as for `qcbot serve`. The app is the real Storage
on QCBOT_DB_PATH with a recording handler in place of the knowledge base: every message it
handles is one JSON line in HANDLED (replica, channel, message id, text, payload), fsynced.
It answers "答：<text>" with one button whose payload is too long for Telegram's
callback_data (so it travels through the shared state), "按了：<payload>" to a press, and a
message mentioning 群通知 also posts two notices to the 群机器人 group; one mentioning 慢 is
answered after SLOW_SECONDS (beyond the reply budget: its answer is pushed to response_url).
Storage is PostgreSQL when QCBOT_DATABASE_URL names one.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass, field

from bot.channels.wecom_webhook import WEBHOOK_CHAT
from bot.config import Config
from bot.logs import configure_logging
from bot.scheduler import Outbox
from bot.serve import plan_channels, secrets_of, serve
from bot.storage import Storage
from handlers.core import Choice, Incoming, Reply

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

    import bot.app

    bot.app.create_app = create_app  # type: ignore[assignment]
    configure_logging(config.log_level, secrets_of(config))
    await serve(config, plan_channels(config))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)))

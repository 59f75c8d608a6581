"""The real reminder scheduler on a SQLite file, for the kill test (tests/test_reminders_once.py).

    python -m tests.reminder_kill_runner DB OUTBOX NOW [SECONDS_PER_SEND]

Runs the real App and Storage with the clock fixed at NOW (ISO, Asia/Shanghai). Its console
channel is a fake outbox that waits SECONDS_PER_SEND (default 0.3: the request in flight), then
appends one JSON line per delivered message (the reminder keys it carries, the chat) and fsyncs.
Ticks until a tick does nothing, then exits 0. The test SIGKILLs it at random points.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.app import create_app
from bot.config import Config
from handlers.core import Reply


async def main(db: str, outbox: str, now_text: str, seconds: float) -> int:
    """Send every due reminder through the fake outbox, then exit."""
    now = datetime.fromisoformat(now_text).replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    config = Config.from_mapping({"plan": "pingyin", "db_path": db, "admins": "console:boss"})
    app = await create_app(config, now=lambda: now)

    async def push(reply: Reply) -> None:
        await asyncio.sleep(seconds)
        line = json.dumps({"keys": reply.meta["reminders"].split("\n"), "chat": reply.to_chat}, ensure_ascii=False)
        with open(outbox, "a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())

    app.outbox.register("console", push)
    try:
        while await app.scheduler.tick():
            pass
    finally:
        await app.close()
    return 0


if __name__ == "__main__":
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 0.3
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], seconds)))

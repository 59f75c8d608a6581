"""The one composition point: configuration, knowledge base, librarian, storage, handlers, scheduler."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import metrics
from bot.config import Config, ConfigError
from bot.scheduler import Outbox, Scheduler
from bot.storage import Storage
from handlers import evidence
from handlers.ask import ABSTAINED
from handlers.core import Incoming, Reply
from handlers.dialogues import Conversations
from handlers.dispatch import Dispatcher
from handlers.reminders.calendar import HolidayError, OfficeCalendar, WorkingTime, read_holiday_file
from handlers.reminders.schedule import Rules
from handlers.services import Services, utc_now
from knowledge.cache import load_librarian
from knowledge.model import KnowledgeBase
from knowledge.qa import Librarian


@dataclass
class App:
    """Everything a channel needs: call `handler.handle(incoming)`; `await close()` at the end.

    Reminders: a channel that can push registers `outbox.register(channel, push)`, where
    `push(reply)` sends `reply` to `reply.to_chat`; then `start_scheduler()` ticks every minute.
    """

    config: Config
    kb: KnowledgeBase
    librarian: Librarian
    storage: Storage
    handler: Dispatcher
    outbox: Outbox
    scheduler: Scheduler

    def start_scheduler(self) -> None:
        """Start sending reminders through the registered channels."""
        self.scheduler.start()

    async def close(self) -> None:
        """Stop the reminders, then release the database."""
        await self.scheduler.stop()
        await self.storage.close()


class MeteredDispatcher(Dispatcher):
    """The dispatcher, counting its replies, 没找到 answers and answer time for /metrics."""

    async def handle(self, message: Incoming) -> list[Reply]:
        """Route one message (see Dispatcher.handle) and record what came out."""
        started = time.perf_counter()
        replies = await super().handle(message)
        abstained = sum(1 for reply in replies if reply.meta.get(ABSTAINED))
        seconds = time.perf_counter() - started
        metrics.count_answer(message.channel, len(replies), abstained, seconds)
        return replies


def _librarian(config: Config, kb: KnowledgeBase | None) -> Librarian:
    """The packaged knowledge base's librarian from the index cache (built and cached when stale), or `kb`'s."""
    if kb is not None:
        return Librarian(kb, config.plan)
    directory = Path(config.cache_dir).expanduser() if config.cache_dir else None
    plans = Path(config.plans_dir).expanduser() if config.plans_dir else None
    return load_librarian(default_plan=config.plan, directory=directory, plans_dir=plans)


def reminder_rules(config: Config) -> Rules:
    """The reminder rules the configuration asks for."""
    try:
        zone = ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"配置项 QCBOT_TIMEZONE 无效：{config.timezone!r}") from None
    start, end = config.office_hours
    if not 0 <= start < end <= 24:
        raise ConfigError(f"配置项 QCBOT_OFFICE_HOURS 无效：{start}-{end}")
    office = OfficeCalendar()
    if config.holidays_file:
        try:
            office.from_file = {d.day: d for d in read_holiday_file(config.holidays_file)}
        except HolidayError as problem:
            raise ConfigError(f"配置项 QCBOT_HOLIDAYS_FILE：{problem}") from None
    calendar = WorkingTime(zone, start, end, office)
    return Rules(
        calendar,
        remind_days=config.remind_days,
        nudge_weekday=config.nudge_weekday % 7,
        nudge_hour=min(start + 1, end - 1),
        digest_weekday=config.digest_weekday % 7,
        digest_hour=max(start, min(16, end - 2)),
    )


async def create_app(
    config: Config,
    *,
    kb: KnowledgeBase | None = None,
    librarian: Librarian | None = None,
    now: Callable[[], datetime] = utc_now,
) -> App:
    """Load the librarian for config.plan (from the prebuilt index cache), open storage, wire handlers.

    `kb` and `librarian` may be passed in when already built (tests, several apps in one process);
    a `kb` without a librarian is indexed afresh. `now` is the clock (tests pass a fake one).
    """
    if librarian is None:
        librarian = await asyncio.to_thread(_librarian, config, kb)
    kb = kb if kb is not None else librarian.kb
    plan = kb.plan(config.plan)
    rules = reminder_rules(config)
    storage = await Storage.open(config.db_path, database_url=config.database_url)
    services = Services(
        kb, plan, librarian, storage,
        is_admin=config.is_admin,
        today=lambda: rules.calendar.local(now()).date(),
        now=now,
        rules=rules,
        export_dir=Path(config.export_dir).expanduser().resolve(),
        campaign_year=config.campaign_year,
        evidence_max_bytes=max(config.evidence_max_mb, 1) * 1024 * 1024,
        conversations=Conversations(shared=storage if config.replicas > 1 else None),
    )
    await evidence.check_store(services)  # files stored but never recorded → 未登记材料
    outbox = Outbox()
    app = App(config, kb, librarian, storage, MeteredDispatcher(services), outbox, Scheduler(services, outbox, now))
    # The knowledge base and index are built once and never freed: move them out of the
    # garbage collector's sight so full collections stay short under load.
    gc.collect()
    gc.freeze()
    return app

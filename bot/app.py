"""The one composition point: configuration, knowledge base, librarian, storage, counties, handlers, scheduler."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import metrics
from bot.config import Config, ConfigError
from bot.counties import read_counties
from bot.scheduler import REPLICA_LEASE, Outbox, Scheduler
from bot.storage import Storage
from handlers import evidence
from handlers.ask import ABSTAINED
from handlers.core import Incoming, Reply
from handlers.dialogues import Conversations
from handlers.dispatch import Dispatcher
from handlers.reminders.calendar import HolidayError, OfficeCalendar, WorkingTime, read_holiday_file
from handlers.reminders.schedule import Rules
from handlers.services import Services, utc_now
from handlers.tenants import CountySettings, Tenants
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


def county_rules(rules: Rules) -> Rules:
    """The reminder rules for one county of several: the file's holidays, its own /holiday days."""
    office = OfficeCalendar(from_file=dict(rules.calendar.office.from_file))
    return replace(rules, calendar=replace(rules.calendar, office=office))


def counties_of(config: Config, kb: KnowledgeBase) -> dict[str, CountySettings]:
    """The counties the deployment serves: the counties file's, else QCBOT_PLAN alone."""
    if not config.counties_file:
        kb.plan(config.plan)  # an unknown plan fails here, naming the choices
        return {config.plan: CountySettings(config.plan)}
    return read_counties(config.counties_file, kb.plans)


async def create_app(
    config: Config,
    *,
    kb: KnowledgeBase | None = None,
    librarian: Librarian | None = None,
    now: Callable[[], datetime] = utc_now,
) -> App:
    """Load the librarian (from the prebuilt index cache), open storage, wire one Services per county.

    Without a counties file the one county is config.plan and its admins QCBOT_ADMINS; with one,
    QCBOT_ADMINS are the city or province admins over every county the file names.
    `kb` and `librarian` may be passed in when already built (tests, several apps in one process);
    a `kb` without a librarian is indexed afresh. `now` is the clock (tests pass a fake one).
    """
    if librarian is None:
        librarian = await asyncio.to_thread(_librarian, config, kb)
    kb = kb if kb is not None else librarian.kb
    settings = counties_of(config, kb)
    rules = reminder_rules(config)
    storage = await Storage.open(config.db_path, database_url=config.database_url, default_county=config.plan,
                                 replicas=config.replicas)
    tenants = Tenants(settings, city_admin=config.is_admin, home=storage)
    single = not config.counties_file
    for plan_id in settings:
        view = storage if single else storage.scoped(plan_id)
        tenants.add(Services(
            kb, kb.plan(plan_id), librarian, view,
            is_admin=partial(tenants.is_admin, plan_id),
            today=partial(_today, rules, now),
            now=now,
            rules=rules if single else county_rules(rules),
            export_dir=Path(config.export_dir).expanduser().resolve(),
            campaign_year=config.campaign_year,
            evidence_max_bytes=max(config.evidence_max_mb, 1) * 1024 * 1024,
            conversations=Conversations(shared=view if config.replicas > 1 else None),
            region=tenants.region,
        ))
    await evidence.check_store(tenants.default)  # files stored but never recorded → 未登记材料
    outbox = Outbox()
    counties = list(tenants.counties.values())
    app = App(
        config, kb, librarian, storage, MeteredDispatcher(tenants), outbox,
        Scheduler(counties, outbox, now, lease=REPLICA_LEASE if config.replicas > 1 else 0.0),
    )
    # The knowledge base and index are built once and never freed: move them out of the
    # garbage collector's sight so full collections stay short under load.
    gc.collect()
    gc.freeze()
    return app


def _today(rules: Rules, now: Callable[[], datetime]) -> date:
    return rules.calendar.local(now()).date()

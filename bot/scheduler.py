"""The reminder runner: every minute, claim the due reminders in SQLite, push them out, record it.

Claimed → sent: a claim is recorded before the message is composed and `sent` after the channel
accepted it; a claim left unsent (killed, or the channel failed) is retried once within its
useful window, and every claim given up is logged as lost, naming its key.

The rules live in `handlers.reminders.schedule`; this module only loops, claims and sends. The
clock is passed in (`now`), and tests call `tick(now)` directly instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot import metrics
from handlers.core import Reply
from handlers.reminders.messages import compose, due
from handlers.reminders.schedule import MAX_ATTEMPTS, Occurrence
from handlers.services import Services
from handlers.store import ReminderClaim

log = logging.getLogger("qcbot.scheduler")
Push = Callable[[Reply], Awaitable[None]]  # sends a reply to reply.to_chat on one channel
Clock = Callable[[], datetime]
INTERVAL = 60.0
REPLICA_LEASE = 120.0  # with several replicas: an unsent claim younger than this may still be in flight


class Outbox:
    """Where pushes go: one send function per channel, registered by whoever runs the channel."""

    def __init__(self) -> None:
        self._push: dict[str, Push] = {}

    def register(self, channel: str, push: Push) -> None:
        """Deliver this channel's reminders through `push` (reply.to_chat names the chat)."""
        self._push[channel] = push

    @property
    def channels(self) -> frozenset[str]:
        """The channels reminders can go out on."""
        return frozenset(self._push)

    async def send(self, channel: str, reply: Reply) -> None:
        """Push one reply; KeyError when the channel has no sender."""
        await self._push[channel](reply)


@dataclass(frozen=True)
class Delivery:
    """What one tick did with one occurrence: sent, failed or dropped."""

    key: str
    status: str
    reply: Reply | None = None
    county: str = ""  # the plan id of the county whose reminder it is


class Scheduler:
    """Claims due reminders (exactly once, per county) and sends them through the outbox.

    `services` is one county's, or every county's: each tick goes through them all, each county's
    reminders claimed in its own store view.
    """

    def __init__(
        self,
        services: Services | Sequence[Services],
        outbox: Outbox,
        now: Clock | None = None,
        interval: float = INTERVAL,
        lease: float = 0.0,
    ) -> None:
        self.counties = [services] if isinstance(services, Services) else list(services)
        self.services = self.counties[0]
        self.outbox = outbox
        self.now = now or self.services.now
        self.interval = interval
        self.lease = lease  # seconds a claim in flight is left to its runner (another replica) before a retry
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._tick_lock = asyncio.Lock()

    async def tick(self, now: datetime | None = None) -> list[Delivery]:
        """Retry unsent claims, send what is due at `now` (default: the clock), drop and give up
        what is stale; return what happened."""
        now = now or self.now()
        done: list[Delivery] = []
        async with self._tick_lock:
            for services in self.counties:
                try:
                    done += await self._tick_county(services, now)
                except Exception:  # one county's failure does not stop the others' reminders
                    log.exception("reminder tick failed for %s", services.plan.id)
            return done

    def _named(self, services: Services, key: str) -> str:
        """A reminder key as logged: prefixed with its county where there are several."""
        return key if len(self.counties) == 1 else f"{services.plan.id}/{key}"

    async def _tick_county(self, services: Services, now: datetime) -> list[Delivery]:
        decision = await due(services, now, self.outbox.channels)
        done = [await self._drop(services, o, reason) for o, reason in decision.drop]
        await self._give_up(services, decision.lost)
        for batch in _batches(decision.retry):
            done += await self._send(services, batch, now, retry=True)
        for batch in _batches(decision.send):
            done += await self._send(services, batch, now)
        return [d for d in done if d is not None]

    async def _drop(self, services: Services, occurrence: Occurrence, reason: str) -> Delivery | None:
        if not await services.storage.claim([_claim(occurrence, "dropped", reason)]):
            return None
        log.info("reminder dropped (%s): %s", reason, self._named(services, occurrence.key))
        metrics.count_reminder("dropped")
        return Delivery(occurrence.key, "dropped", county=services.plan.id)

    async def _give_up(self, services: Services, lost: Sequence[tuple[str, str]]) -> None:
        for key, reason in lost:
            await services.storage.settle_claims([key], "lost", reason)
            log.warning("reminder lost (%s): %s", reason, self._named(services, key))
            metrics.count_reminder("lost")

    async def _send(
        self, services: Services, batch: list[Occurrence], now: datetime, retry: bool = False
    ) -> list[Delivery]:
        """Claim (or take the retry of) the batch's keys, compose one message, send, record it."""
        storage = services.storage
        keys = [o.key for o in batch]
        if retry:
            won = await storage.retry_claims(keys, MAX_ATTEMPTS, self.lease)
        else:
            won = await storage.claim([_claim(o, "claimed") for o in batch])
        batch = [o for o in batch if o.key in won]  # the rest: another runner (or tick) has them
        if not batch:
            return []
        keys = [o.key for o in batch]
        try:
            reply = await compose(services, batch, now)
            await self.outbox.send(batch[0].recipient.channel, reply)
        except Exception as exc:
            status = "lost" if retry else "failed"
            await storage.settle_claims(keys, status, repr(exc))
            for key in keys:  # one line per key: a lost one names its key
                log.warning("reminder %s (%r): %s", "lost (retry failed)" if retry else "failed", exc,
                            self._named(services, key))
                metrics.count_reminder("failed")
            return [Delivery(key, "failed", county=services.plan.id) for key in keys]
        await storage.settle_claims(keys, "sent")
        for _ in keys:
            metrics.count_reminder("sent")
        return [Delivery(key, "sent", reply, services.plan.id) for key in keys]

    def start(self) -> None:
        """Tick now and then every `interval` seconds until stop() (idempotent)."""
        if self._task is None or self._task.done():
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="qcbot-reminders")

    async def stop(self) -> None:
        """Stop the loop after the current tick."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("reminder tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.interval)


def _batches(occurrences: Sequence[Occurrence]) -> list[list[Occurrence]]:
    """Occurrences grouped by delivery: a group's deadline reminder to several people is one message."""
    groups: dict[tuple[str, ...], list[Occurrence]] = {}
    for occurrence in occurrences:
        groups.setdefault(occurrence.delivery, []).append(occurrence)
    return list(groups.values())


def _claim(occurrence: Occurrence, status: str, detail: str = "") -> ReminderClaim:
    r = occurrence.recipient
    return ReminderClaim(
        key=occurrence.key,
        kind=occurrence.kind,
        channel=r.channel,
        chat_id=r.chat_id,
        target=r.target,
        deadline_id=occurrence.deadline.id if occurrence.deadline is not None else "",
        offset_days=occurrence.offset,
        day=occurrence.day.isoformat(),
        due_at=occurrence.due_at.isoformat(),
        status=status,
        detail=detail,
    )

"""The reminder runner: every minute, claim the due reminders in SQLite and push them out.

The rules live in `handlers.reminders.schedule`; this module only loops, claims and sends. The
clock is passed in (`now`), and tests call `tick(now)` directly instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot import metrics
from handlers.core import Reply
from handlers.reminders.messages import compose, due
from handlers.reminders.schedule import Occurrence
from handlers.services import Services
from handlers.store import ReminderClaim

log = logging.getLogger("qcbot.scheduler")
Push = Callable[[Reply], Awaitable[None]]  # sends a reply to reply.to_chat on one channel
Clock = Callable[[], datetime]
INTERVAL = 60.0


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


class Scheduler:
    """Claims due reminders (exactly once) and sends them through the outbox."""

    def __init__(
        self, services: Services, outbox: Outbox, now: Clock | None = None, interval: float = INTERVAL
    ) -> None:
        self.services = services
        self.outbox = outbox
        self.now = now or services.now
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._tick_lock = asyncio.Lock()

    async def tick(self, now: datetime | None = None) -> list[Delivery]:
        """Send what is due at `now` (default: the clock), drop what is stale; return what happened."""
        now = now or self.now()
        async with self._tick_lock:
            decision = await due(self.services, now, self.outbox.channels)
            done = [await self._drop(o, reason) for o, reason in decision.drop]
            for occurrence in decision.send:
                delivery = await self._send(occurrence, now)
                if delivery is not None:
                    done.append(delivery)
            return [d for d in done if d is not None]

    async def _drop(self, occurrence: Occurrence, reason: str) -> Delivery | None:
        if not await self.services.storage.claim(_claim(occurrence, "dropped", reason)):
            return None
        log.info("reminder dropped (%s): %s", reason, occurrence.key)
        metrics.count_reminder("dropped")
        return Delivery(occurrence.key, "dropped")

    async def _send(self, occurrence: Occurrence, now: datetime) -> Delivery | None:
        storage = self.services.storage
        if not await storage.claim(_claim(occurrence, "claimed")):
            return None  # another runner (or an earlier tick) has it
        try:
            reply = await compose(self.services, occurrence, now)
            await self.outbox.send(occurrence.recipient.channel, reply)
        except Exception as exc:
            log.exception("reminder %s failed", occurrence.key)
            await storage.settle_claim(occurrence.key, "failed", repr(exc))
            metrics.count_reminder("failed")
            return Delivery(occurrence.key, "failed")
        await storage.settle_claim(occurrence.key, "sent")
        metrics.count_reminder("sent")
        return Delivery(occurrence.key, "sent", reply)

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

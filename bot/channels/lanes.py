"""Per-chat lanes: jobs of one chat run in arrival order, different chats run side by side.

A chat with work waiting sits once in a ready queue; a fixed pool of workers takes the next
ready chat, runs its oldest job and, if more are waiting, puts the chat back at the end. So one
slow chat (a group held by Telegram's rate limit) occupies at most one worker, never delays
another chat, and the number of jobs running at once is bounded by the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass

log = logging.getLogger("qcbot.lanes")

Job = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Ticket:
    """One queued job and the id it is reported by when it is dropped (e.g. a Telegram update_id)."""

    ident: int | str
    job: Job


class ChatLanes:
    """At most `limit` queued jobs, run in order per chat by `workers` tasks."""

    def __init__(self, workers: int = 32, limit: int = 10_000) -> None:
        self.workers = max(1, workers)
        self.limit = max(1, limit)
        self._lanes: dict[Hashable, deque[Ticket]] = {}
        self._ready: asyncio.Queue[Hashable] = asyncio.Queue()
        self._running: dict[Hashable, Ticket] = {}
        self._pending = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._room = asyncio.Event()
        self._room.set()
        self._bounded = True
        self.closed = False

    @property
    def pending(self) -> int:
        """Jobs accepted and not finished (running ones included)."""
        return self._pending

    @property
    def has_room(self) -> bool:
        """True when `offer` would accept a job now."""
        return not self.closed and (self._pending < self.limit or not self._bounded)

    def offer(self, chat: Hashable, ident: int | str, job: Job) -> bool:
        """Queue a job behind the chat's earlier ones; False (nothing queued) when full or closed."""
        if not self.has_room:
            return False
        self._start()
        lane = self._lanes.get(chat)
        if lane is None:
            lane = self._lanes[chat] = deque()
            if chat not in self._running:
                self._ready.put_nowait(chat)
        lane.append(Ticket(ident, job))
        self._pending += 1
        self._idle.clear()
        return True

    async def wait_for_room(self) -> None:
        """Return once a job may be offered (at once when not full, closed or unbounded)."""
        while not self.has_room and not self.closed:
            self._room.clear()
            await self._room.wait()

    def unbound(self) -> None:
        """Accept beyond `limit` from now on: at shutdown, what is already acknowledged must queue."""
        self._bounded = False
        self._room.set()

    async def drain(self, seconds: float) -> list[int | str]:
        """Refuse new jobs, run the queued ones for at most `seconds`; the ids left undone."""
        self.closed = True
        self._room.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), seconds)
        left = [t.ident for t in self._running.values()]
        left += [t.ident for lane in self._lanes.values() for t in lane]
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._lanes.clear()
        self._running.clear()
        self._pending = 0
        return left

    # --- workers ---------------------------------------------------------------------------

    def _start(self) -> None:
        while len(self._tasks) < self.workers:
            task = asyncio.ensure_future(self._work())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _work(self) -> None:
        while True:
            chat = await self._ready.get()
            lane = self._lanes[chat]
            ticket = lane.popleft()
            if not lane:
                del self._lanes[chat]
            self._running[chat] = ticket
            try:
                await ticket.job()
            except Exception as exc:  # a job must not stop the worker or the other chats
                log.error(
                    "job %s failed: %r", ticket.ident, exc, extra={"event": "lane_job_failed"}
                )
            finally:
                del self._running[chat]
                self._finished(chat)

    def _finished(self, chat: Hashable) -> None:
        self._pending -= 1
        if chat in self._lanes:
            self._ready.put_nowait(chat)
        if self._pending < self.limit:
            self._room.set()
        if self._pending == 0:
            self._idle.set()


def id_ranges(idents: Iterable[int | str]) -> str:
    """Compact ids for one log line: 5,7,8,9,12 → "5,7-9,12" (non-numbers listed as they are)."""
    given = list(idents)
    runs: list[list[int]] = []
    for number in sorted({i for i in given if isinstance(i, int)}):
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    parts = [str(a) if a == b else f"{a}-{b}" for a, b in runs]
    return ",".join(parts + [str(i) for i in given if not isinstance(i, int)])

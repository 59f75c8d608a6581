"""Answers still to be worked out: a bounded queue drained by a fixed pool of workers.

A callback channel hands each message to a `Backlog` instead of starting a task per request, so
overload queues up to `limit` answers (a known amount of memory) and is refused beyond that.
Workers yield to the event loop after every job, so a deep backlog never starves the requests
that are only being acknowledged. Delivery of a finished answer (an HTTP push) runs as a
follow-up with its own concurrency bound and still counts against the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("qcbot.backlog")

Job = Callable[[], Awaitable[None]]


class Backlog:
    """At most `limit` accepted jobs not yet finished, run in arrival order by `workers` tasks."""

    def __init__(self, workers: int = 8, limit: int = 20_000, outlets: int = 32) -> None:
        self.workers = max(1, workers)
        self.limit = max(1, limit)
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._outlets = asyncio.Semaphore(max(1, outlets))
        self._busy = 0
        self._pending = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._follow_ups: set[asyncio.Task[None]] = set()
        self._settled = asyncio.Event()
        self._settled.set()
        self.closed = False

    @property
    def pending(self) -> int:
        """Jobs accepted and not finished, follow-ups included."""
        return self._pending

    @property
    def free(self) -> bool:
        """True when a worker is idle, i.e. a job offered now would start at once."""
        return self._busy + self._queue.qsize() < self.workers

    def offer(self, job: Job) -> bool:
        """Queue a job; False (nothing queued) when `limit` jobs are pending or after `drain`."""
        if self.closed or self._pending >= self.limit:
            return False
        self._start()
        self._hold()
        self._queue.put_nowait(job)
        return True

    def follow_up(self, job: Job) -> None:
        """Finish an accepted job with I/O (at most `outlets` at a time); never refused."""
        self._hold()
        task = asyncio.ensure_future(self._outlet(job))
        self._follow_ups.add(task)
        task.add_done_callback(self._follow_ups.discard)

    async def drain(self) -> None:
        """Refuse new jobs, wait for every pending one, stop the workers (shutdown).

        When cancelled (a shutdown deadline), the answers still pending are logged as lost.
        """
        self.closed = True
        try:
            await self._settled.wait()
        except asyncio.CancelledError:
            log.error(
                "answers not delivered at shutdown: %d",
                self._pending,
                extra={"event": "backlog_lost", "left": self._pending},
            )
            raise
        finally:
            await self._stop()

    # --- inside ---------------------------------------------------------------------------

    def _start(self) -> None:
        if self._tasks:
            return
        for _ in range(self.workers):
            task = asyncio.ensure_future(self._work())
            self._tasks.add(task)

    def _hold(self) -> None:
        self._pending += 1
        self._settled.clear()

    def _release(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self._settled.set()

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            self._busy += 1
            try:
                await job()
            except Exception:
                log.exception("background job failed", extra={"event": "backlog_job_failed"})
            finally:
                self._busy -= 1
                self._release()
            await asyncio.sleep(0)  # a full queue never blocks get(): let requests in

    async def _outlet(self, job: Job) -> None:
        try:
            async with self._outlets:
                await job()
        except Exception:
            log.exception("background delivery failed", extra={"event": "backlog_job_failed"})
        finally:
            self._release()

    async def _stop(self) -> None:
        tasks = [*self._tasks, *self._follow_ups]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        while not self._queue.empty():
            self._queue.get_nowait()

"""WeCom 群机器人 webhook: outbound group messages through one queue, 20 per minute.

Replies become markdown parts of at most 4096 bytes; a worker sends them in order, never
more than `per_minute` in any 60 s window (failed sends count too, to be safe), and retries
45009 (rate limited) and -1 (busy) with back-off. Clock and sleep are injectable for tests.

Given a `SharedState` (the Store), the limit is counted there, so that every `serve` replica
sending to the same robot together stays within it. The queue itself is this process's: what
is queued when the process is killed (not stopped) is lost, and logged nowhere.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from bot.channels.base import Route
from bot.channels.errors import ChannelError, WeComApiError
from bot.channels.render import WECOM_WEBHOOK_LIMIT, wecom_parts
from bot.channels.wecom_api import fetch_json, media_form
from handlers.core import FileAttachment, Reply
from handlers.store import SharedState

log = logging.getLogger("qcbot.wecom")

WEBHOOK_CHAT = "wecom:webhook"  # Reply.to_chat that means "the 群机器人's group"
WINDOW = 60.0
IMAGE_LIMIT = 2 * 1024 * 1024
RETRY_DELAYS = {45009: 10.0, -1: 1.0}

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
Message = dict[str, Any]


class WeComWebhook:
    """Queue and send messages to the one group a webhook robot belongs to."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base: str,
        key: str,
        per_minute: int = 20,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        attempts: int = 5,
        shared: SharedState | None = None,
    ) -> None:
        self.session = session
        self.url = base.rstrip("/") + "/cgi-bin/webhook"
        self.key = key
        self.shared = shared
        self.bucket = "wecom.webhook:" + hashlib.sha256(key.encode()).hexdigest()[:16]  # not the key
        self.per_minute = per_minute
        self.clock = clock
        self.sleep = sleep
        self.attempts = attempts
        self.queue: asyncio.Queue[Message] = asyncio.Queue()
        self.sent_at: deque[float] = deque()
        self.failed = 0
        self.sending = 0  # messages taken from the queue and not yet sent (0 or 1)
        self._worker: asyncio.Task[None] | None = None

    name = "wecom_webhook"

    # --- the Channel seam (bot/channels/base.py): outbound only -------------------------------

    def routes(self) -> Sequence[Route]:
        """None: the 群机器人 only sends."""
        return []

    async def start(self) -> None:
        """Start the sending worker."""
        self._ensure_worker()

    async def stop(self, seconds: float) -> None:
        """Send what is queued within `seconds`, then stop; log what was not sent."""
        left = await self.close(seconds)
        if left:
            log.error(
                "webhook messages not sent at shutdown",
                extra={"event": "webhook_lost", "left": left},
            )

    @property
    def can_push(self) -> bool:
        """The group the webhook belongs to can always be reached."""
        return True

    async def push(self, reply: Reply) -> None:
        """Queue a reply for the webhook's group."""
        await self.send(reply)

    def depth(self) -> int:
        """Messages queued and not yet sent (the one being sent included)."""
        return self.queue.qsize() + self.sending

    def _ensure_worker(self) -> None:
        """Start the sending worker (idempotent)."""
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="wecom-webhook")

    async def send(self, reply: Reply) -> None:
        """Queue a reply: its markdown parts, then its files (uploaded when their turn comes)."""
        self._ensure_worker()
        for part in wecom_parts(reply, WECOM_WEBHOOK_LIMIT, markdown=True):
            self.queue.put_nowait({"msgtype": "markdown", "markdown": {"content": part}})
        for attachment in reply.files:
            self.queue.put_nowait({"msgtype": "_file", "_file": attachment})

    async def drain(self, timeout: float | None = None) -> int:
        """Wait until everything queued was sent; returns how many were left unsent."""
        if self._worker is not None and self.depth():
            try:
                await asyncio.wait_for(self.queue.join(), timeout)
            except TimeoutError:
                log.error(
                    "webhook queue not drained",
                    extra={"event": "webhook_undrained", "left": self.depth()},
                )
        return self.depth()

    async def close(self, timeout: float | None = None) -> int:
        """Drain, then stop the worker."""
        left = await self.drain(timeout)
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        return left

    # --- worker ---------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            message = await self.queue.get()
            self.sending = 1
            try:
                await self._deliver(message)
            except (ChannelError, OSError) as exc:
                self.failed += 1
                log.error("webhook message dropped: %s", exc, extra={"event": "webhook_dropped"})
            finally:
                self.sending = 0
                self.queue.task_done()

    async def _deliver(self, message: Message) -> None:
        if message["msgtype"] == "_file":
            message = await self._file_message(message["_file"])
        for attempt in range(self.attempts):
            await self._throttle()
            code, errmsg = await self._post("send", message)
            if code == 0:
                return
            if code not in RETRY_DELAYS or attempt + 1 == self.attempts:
                raise WeComApiError(code, errmsg, "webhook/send")
            delay = RETRY_DELAYS[code] * 2**attempt
            log.warning(
                "webhook errcode %s, retrying in %.0fs",
                code,
                delay,
                extra={"event": "webhook_retry", "errcode": code},
            )
            await self.sleep(delay)

    async def _throttle(self) -> None:
        """Wait until fewer than `per_minute` sends happened in the last 60 s (on every replica)."""
        while self.shared is not None:
            try:
                wait = await self.shared.take_slot(self.bucket, self.per_minute, WINDOW)
            except Exception as exc:  # the store is down: count in this process meanwhile
                log.warning("webhook: shared limit unavailable: %s", exc, extra={"event": "shared_unavailable"})
                break
            if not wait:
                return
            await self.sleep(wait)
        while True:
            now = self.clock()
            while self.sent_at and now - self.sent_at[0] >= WINDOW:
                self.sent_at.popleft()
            if len(self.sent_at) < self.per_minute:
                self.sent_at.append(now)
                return
            await self.sleep(WINDOW - (now - self.sent_at[0]))

    async def _file_message(self, attachment: FileAttachment) -> Message:
        data = await asyncio.to_thread(Path(attachment.path).read_bytes)
        if attachment.kind == "image" and len(data) <= IMAGE_LIMIT:
            image = {
                "base64": base64.b64encode(data).decode(),
                "md5": hashlib.md5(data).hexdigest(),
            }
            return {"msgtype": "image", "image": image}
        media_id = await self._upload(data, Path(attachment.path).name)
        return {"msgtype": "file", "file": {"media_id": media_id}}

    async def _upload(self, data: bytes, filename: str) -> str:
        answer = await self._request(
            "upload_media", {"key": self.key, "type": "file"}, data=media_form(data, filename)
        )
        if int(answer.get("errcode", 0)) != 0:
            raise WeComApiError(
                int(answer["errcode"]), str(answer.get("errmsg", "")), "webhook/upload_media"
            )
        return str(answer["media_id"])

    async def _post(self, api: str, message: Message) -> tuple[int, str]:
        answer = await self._request(api, {"key": self.key}, json=message)
        return int(answer.get("errcode", 0)), str(answer.get("errmsg", ""))

    async def _request(self, api: str, params: dict[str, str], **body: Any) -> dict[str, Any]:
        return await fetch_json(self.session, "POST", f"{self.url}/{api}", f"webhook/{api}", params=params, **body)

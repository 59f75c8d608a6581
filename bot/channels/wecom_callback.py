"""What every WeCom callback needs: query parsing, timestamp window, signature, de-duplication.

Errors become HTTP answers with one log line each: malformed → 400, forged or stale → 403,
authentic but unusable (a field of the wrong type) → an empty 200, which WeCom does not retry.
WeCom retries a callback it got no answer to (up to three times), so message ids are remembered
and a replay is answered with the first answer (or an empty 200), never handled twice. With a
`SharedState` (the Store) the id is claimed there and the answer kept there, so a retry that
reaches another `serve` replica is recognised too; this process's copy is only the fast check.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.channels.backlog import Backlog
from bot.channels.base import Route
from bot.channels.errors import (
    ChannelError,
    MalformedRequest,
    RejectedRequest,
    StaleTimestamp,
    UnusableMessage,
)
from bot.channels.memory import ChoiceMemory, LocalState, LruDict, SeenIds
from bot.channels.wecom_crypto import WeComCrypto
from handlers.core import Handler, Reply
from handlers.store import Lease, SharedState

log = logging.getLogger("qcbot.wecom")

Clock = Callable[[], float]
NOT_ANSWERED = b""
SEEN_SECONDS = 3600.0  # a message id is claimed this long (WeCom retries within seconds)


@dataclass(frozen=True)
class CallbackQuery:
    """The signed query string of a callback."""

    msg_signature: str
    timestamp: str
    nonce: str
    echostr: str = ""

    @classmethod
    def parse(cls, request: web.Request) -> CallbackQuery:
        query = request.query
        missing = [k for k in ("msg_signature", "timestamp", "nonce") if k not in query]
        if missing:
            raise MalformedRequest(f"missing query parameter {missing[0]}")
        # yarl turns a literal "+" into a space; WeCom's base64 never contains spaces
        echostr = query.get("echostr", "").replace(" ", "+")
        return cls(query["msg_signature"], query["timestamp"], query["nonce"], echostr)


class CallbackGuard:
    """Checks and opens callbacks for one receiveid; remembers what was already answered."""

    def __init__(
        self,
        crypto: WeComCrypto,
        window: int = 300,
        clock: Clock = time.time,
        remember: int = 20_000,
        keep_answers: int = 1_000,
        shared: SharedState | None = None,
        scope: str = "wecom",
    ) -> None:
        self.crypto = crypto
        self.window = window
        self.clock = clock
        self.seen: SeenIds[str] = SeenIds(
            remember
        )  # ids outlive bodies: retries come within seconds
        self.answers: LruDict[str, bytes] = LruDict(keep_answers)
        self.shared: SharedState = shared if shared is not None else LocalState()
        self.scope = scope
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"  # this replica

    def check_time(self, timestamp: str) -> None:
        """Reject timestamps outside ±window seconds of our clock."""
        try:
            stamp = int(timestamp)
        except ValueError:
            raise MalformedRequest("timestamp is not an integer") from None
        if abs(self.clock() - stamp) > self.window:
            raise StaleTimestamp(f"timestamp {stamp} is outside ±{self.window}s")

    def echo(self, query: CallbackQuery) -> str:
        """URL verification: the decrypted echostr, to be returned as the plain body."""
        if not query.echostr:
            raise MalformedRequest("missing echostr")
        self.check_time(query.timestamp)
        plain = self.crypto.verify_and_decrypt(
            query.msg_signature, query.timestamp, query.nonce, query.echostr
        )
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedRequest("echostr is not UTF-8") from None

    def open(self, query: CallbackQuery, encrypted: str) -> bytes:
        """Check the window and signature, then decrypt the message."""
        self.check_time(query.timestamp)
        return self.crypto.verify_and_decrypt(
            query.msg_signature, query.timestamp, query.nonce, encrypted
        )

    def seal(self, plaintext: str, nonce: str) -> tuple[str, str, str]:
        """Encrypt a passive reply: (encrypt, signature, timestamp)."""
        timestamp = str(int(self.clock()))
        encrypted = self.crypto.encrypt(plaintext)
        return encrypted, self.crypto.sign(timestamp, nonce, encrypted), timestamp

    async def claim(self, key: str) -> bytes | None:
        """None the first time a message is seen (by any replica); afterwards the answer given then."""
        if self.seen.first(key):
            try:
                if await self.shared.first_time(self.scope, key, SEEN_SECONDS):
                    return None
            except Exception as exc:  # the store is down: this process alone decides
                log.warning("%s: shared state unavailable: %s", self.scope, exc,
                            extra={"event": "shared_unavailable"})
                return None
        return self.answers.get(key) or await self._shared_answer(key)

    async def record(self, key: str, body: bytes) -> None:
        """Keep the answer given to a message, for a retry (on any replica) to get it again."""
        self.answers.put(key, body)
        try:
            await self.shared.share_values(self.scope, {key: body.decode("utf-8")}, SEEN_SECONDS)
        except Exception as exc:
            log.warning("%s: answer not shared: %s", self.scope, exc, extra={"event": "shared_unavailable"})

    # --- leases: the claim of a message, final once answered (see bot/storage/shared.py) -------

    async def lease(self, key: str, seconds: float, work: str = "") -> Lease:
        """Claim a message for this replica for `seconds` (or take over a lapsed claim); the lease now.

        When the store is down this process alone decides, as `claim` does.
        """
        try:
            return await self.shared.lease(self.scope, key, self.owner, seconds, work)
        except Exception as exc:
            log.warning("%s: shared state unavailable: %s", self.scope, exc,
                        extra={"event": "shared_unavailable"})
            return Lease(self.seen.first(key), self.owner, self.clock() + seconds,
                         answer=(self.answers.get(key) or b"").decode("utf-8"))

    async def renew(self, key: str, seconds: float) -> bool:
        """Keep this replica's claim `seconds` longer; False when another replica took it over."""
        try:
            return await self.shared.renew_lease(self.scope, key, self.owner, seconds)
        except Exception as exc:
            log.warning("%s: shared state unavailable: %s", self.scope, exc,
                        extra={"event": "shared_unavailable"})
            return True

    async def settle(self, key: str, body: bytes) -> bool:
        """Record the answer to a message (final); False when another replica took it over meanwhile."""
        self.answers.put(key, body)
        try:
            return await self.shared.settle_lease(self.scope, key, self.owner, body.decode("utf-8"),
                                                  SEEN_SECONDS)
        except Exception as exc:
            log.warning("%s: answer not shared: %s", self.scope, exc, extra={"event": "shared_unavailable"})
            return True

    async def detach(self, key: str) -> bool:
        """A retry is acknowledged without the answer: the owner must push it; False when it is final already."""
        try:
            return await self.shared.detach_lease(self.scope, key)
        except Exception as exc:
            log.warning("%s: shared state unavailable: %s", self.scope, exc,
                        extra={"event": "shared_unavailable"})
            return True

    async def _shared_answer(self, key: str) -> bytes:
        try:
            stored = await self.shared.shared_value(self.scope, key)
        except Exception:
            return NOT_ANSWERED
        return stored.encode("utf-8") if stored else NOT_ANSWERED


async def guarded(
    name: str, handle: Callable[[], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Run a callback handler; turn channel errors into 400/403 (or an ignored 200) with one log line."""
    try:
        return await handle()
    except UnusableMessage as exc:
        log.warning(
            "%s message ignored: %s",
            name,
            exc,
            extra={"event": "wecom_unusable", "channel": name, "reason": type(exc).__name__},
        )
        return web.Response(status=200, body=NOT_ANSWERED)
    except RejectedRequest as exc:
        log.warning(
            "%s callback rejected: %s",
            name,
            exc,
            extra={"event": "wecom_rejected", "channel": name, "reason": type(exc).__name__},
        )
        return web.Response(status=403)
    except (ChannelError, web.RequestPayloadError) as exc:  # the latter: a body aiohttp can't read
        log.warning(
            "%s callback malformed: %s",
            name,
            " ".join(str(exc).split()),
            extra={"event": "wecom_malformed", "channel": name, "reason": type(exc).__name__},
        )
        return web.Response(status=400)


class CallbackChannel:
    """What the two WeCom callback channels share: verification, guarded receipt, background answers."""

    name = "wecom"

    def __init__(
        self, guard: CallbackGuard, handler: Handler, backlog: Backlog | None = None
    ) -> None:
        self.guard = guard
        self.handler = handler
        self.choices = ChoiceMemory(shared=guard.shared, scope=f"{guard.scope}.choices")
        self.tasks: set[asyncio.Task[Any]] = set()
        self.backlog = backlog or Backlog()

    async def verify(self, request: web.Request) -> web.StreamResponse:
        """GET: echo the decrypted echostr (plain, no quotes, no newline)."""
        return await guarded(self.name, lambda: self._verify(request))

    async def receive(self, request: web.Request) -> web.StreamResponse:
        """POST: one encrypted message or event."""
        return await guarded(self.name, lambda: self._receive(request))

    async def drain(self) -> None:
        """Wait for answers still being worked on or delivered (shutdown)."""
        await self.backlog.drain()
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    # --- the Channel seam (bot/channels/base.py) -------------------------------------------

    @property
    def path(self) -> str:
        """Where WeCom calls us: /wecom/bot or /wecom/app."""
        return "/wecom/" + self.name.removeprefix("wecom_")

    def routes(self) -> Sequence[Route]:
        """GET for URL verification, POST for messages."""
        return [("GET", self.path, self.verify), ("POST", self.path, self.receive)]

    async def start(self) -> None:
        """Nothing to connect: WeCom calls us."""

    async def stop(self, seconds: float) -> None:
        """Finish the answers in flight within `seconds`; log how many were not delivered."""
        try:
            await asyncio.wait_for(self.drain(), seconds)
        except TimeoutError:
            log.error(
                "%s answers not delivered at shutdown: %d",
                self.name, self.depth(), extra={"event": "wecom_undelivered", "channel": self.name},
            )

    def depth(self) -> int:
        """Answers accepted and not yet delivered."""
        return self.backlog.pending + len(self.tasks)

    @property
    def can_push(self) -> bool:
        """Whether `push` can reach a chat unprompted (subclasses say)."""
        return False

    async def push(self, reply: Reply) -> None:
        """Send unprompted; this part of WeCom cannot."""
        raise ChannelError(f"{self.name} 不能主动推送消息")

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run an answer in the background, kept until it finishes (drain waits for it)."""
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _verify(self, request: web.Request) -> web.Response:
        return web.Response(text=self.guard.echo(CallbackQuery.parse(request)))

    async def _receive(self, request: web.Request) -> web.Response:
        raise NotImplementedError

"""WeCom 智能机器人 (AI bot) HTTP callback: encrypted JSON, receiveid "".

Group @-mentions and direct chats arrive here and are answered by a bounded pool of workers
(`Backlog`). The answer goes back passively (an encrypted `stream` reply with finish=true) when
a worker was free and finished within the reply budget, counted from the request's arrival;
otherwise the callback is acknowledged with an empty 200 at once and the answer is POSTed to
`response_url` when ready (the 自建应用 sends it when there is none or WeCom refuses it).
Beyond the backlog's bound a message gets a short busy reply: a 503 would only make WeCom
retry the same message while we are overloaded, and the user would see nothing.
WeCom has no buttons here, so choices are numbered and a bare digit is turned into the press.

Several replicas: a message is claimed as a lease (this replica, until the budget plus a margin,
with the message itself) that becomes final when its answer is recorded. A retry while the
lease is live waits for that answer; one after it lapsed (the replica died) is answered here; a
lapsed lease nobody retries (it was acknowledged, the push never came) is found by a scan every
second and answered through response_url, which WeCom accepts once: answered once, never lost.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import math
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels.backlog import Backlog
from bot.channels.errors import ChannelError, MalformedRequest
from bot.channels.payload import json_object, object_of, objects_of, text_of
from bot.channels.render import wecom_single
from bot.channels.wecom_api import WeComAppClient
from bot.channels.wecom_callback import CallbackChannel, CallbackGuard, CallbackQuery
from bot.channels.wecom_media import encrypted_url
from bot.channels.wecom_webhook import WEBHOOK_CHAT, WeComWebhook
from handlers.core import Attachment, Handler, Incoming, Reply
from handlers.store import Lease

log = logging.getLogger("qcbot.wecom")

FAILED = "抱歉，处理时出错了，请稍后再试。"
BUSY = "当前提问较多，请稍后再问。"
GO_PRIVATE = "（这部分内容需要单聊进行：请单聊机器人继续。）"
FILE_NOTE = "（附件无法在此发送，请在企业微信应用中查看。）"
MAX_IMAGES = 10
IMAGE_LIMIT = 10 * 1024 * 1024
LEADING_MENTION = re.compile(r"^\s*@\S+\s*")
SPACES = re.compile(r"[ \t\u3000]{2,}")
PUSH_TIMEOUT = aiohttp.ClientTimeout(total=10)
PUSH_EXCERPT = 200  # bytes of a refused push's body kept in the log line
LEASE_MARGIN = 3.0  # a claim outlives the reply budget by this much before another replica may take it
LATE_LEASE = 10.0  # once acknowledged, the answer is pushed within this long, or another replica pushes it
PUSH_LEASE = 15.0  # held for one push (its timeout is 10 s)
RECOVER_SECONDS = 1.0  # how often lapsed claims are looked for
MAX_ATTEMPTS = 3  # replicas that may try one message before it is given up (logged)
FOLLOW_POLL = 0.05  # how often a retry looks for the answer of the replica holding the message


class PushRefused(ChannelError):
    """response_url answered, but not with success (HTTP status or errcode)."""


@dataclass(slots=True)
class Pending:
    """A message whose answer is being worked out: who asked, where a late answer goes, who waits."""

    key: str
    incoming: Incoming
    event: bool
    response_url: str
    waiter: asyncio.Future[list[Reply] | None] | None = None
    recovered: bool = False  # taken over from a replica that stopped: its push may have gone out

    def detach(self) -> None:
        """Nobody waits for the passive reply any more (WeCom retried): push it instead."""
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


class RefusalLog:
    """Busy refusals as at most one warning line a second, with how many there were."""

    def __init__(self, every: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self.count = 0
        self.last = -math.inf

    def note(self, pending: int) -> None:
        """Count one refusal; log the count when the last line is old enough."""
        self.count += 1
        now = self.clock()
        if now - self.last >= self.every:
            log.warning(
                "wecom_bot busy: %d refused, %d answers pending",
                self.count,
                pending,
                extra={"event": "wecom_bot_busy", "refused": self.count, "pending": pending},
            )
            self.count, self.last = 0, now


class WeComBotChannel(CallbackChannel):
    """Serves /wecom/bot: URL verification (GET) and message callbacks (POST)."""

    name = "wecom_bot"

    def __init__(
        self,
        guard: CallbackGuard,
        handler: Handler,
        session: aiohttp.ClientSession,
        bot_name: str = "",
        budget: float = 2.0,
        app: WeComAppClient | None = None,
        webhook: WeComWebhook | None = None,
        backlog: Backlog | None = None,
    ) -> None:
        super().__init__(guard, handler, backlog)
        self.session = session
        self.bot_name = bot_name
        self.budget = budget
        self.app = app
        self.webhook = webhook
        self.inflight: dict[str, Pending] = {}  # msgid → its answer in the backlog (≤ limit)
        self.refusals = RefusalLog()
        self._recovery: asyncio.Task[None] | None = None

    # --- callback -------------------------------------------------------------------------

    @property
    def can_push(self) -> bool:
        """The 智能机器人 cannot push itself: it pushes through the 自建应用 or the 群机器人."""
        return self.app is not None or self.webhook is not None

    async def push(self, reply: Reply) -> None:
        """Private reminders through the 自建应用, group ones through the 群机器人."""
        if reply.private and self.app is not None:
            await self.app.send_reply(reply.to_chat or "", reply)
        elif self.webhook is not None:
            await self.webhook.send(reply)
        else:
            raise ChannelError("企业微信没有可用于主动推送的通道（需配置自建应用或群机器人）")

    async def start(self) -> None:
        """Look for messages another replica claimed and never answered, every second."""
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.create_task(self._recover(), name="qcbot-wecom-bot-recovery")

    async def stop(self, seconds: float) -> None:
        """Stop looking for lapsed claims, then finish the answers in flight within `seconds`."""
        if self._recovery is not None:
            self._recovery.cancel()
            await asyncio.gather(self._recovery, return_exceptions=True)
            self._recovery = None
        await super().stop(seconds)

    async def _receive(self, request: web.Request) -> web.Response:
        arrived = asyncio.get_running_loop().time()  # the reply budget starts here
        query = CallbackQuery.parse(request)
        encrypted = _field(json_object(await request.read()), "encrypt")
        message = json_object(self.guard.open(query, encrypted))
        key = text_of(message, "msgid") or f"{query.nonce}:{query.timestamp}:{query.msg_signature}"
        work = json.dumps(message, ensure_ascii=False)
        lease = await self.guard.lease(key, self.budget + LEASE_MARGIN, work)
        if not lease.won:
            lease = await self._follow(key, lease, work, arrived)
            if not lease.won:
                return _body(lease.answer.encode("utf-8") if lease.final else b"")
        incoming = await self._incoming(message)
        if incoming is None:
            await self.guard.settle(key, b"")
            return _body(b"")
        pending = Pending(key, incoming, _is_event(message), text_of(message, "response_url"))
        return _body(await self._answer(pending, query.nonce, arrived))

    async def _follow(self, key: str, lease: Lease, work: str, arrived: float) -> Lease:
        """A retry of a claimed message: the answer once recorded, or the claim once it lapses (within the budget)."""
        mine = lease.owner == self.guard.owner
        if not lease.final and not mine:
            loop = asyncio.get_running_loop()
            while not (lease.won or lease.final) and loop.time() - arrived < self.budget:
                await asyncio.sleep(FOLLOW_POLL)
                lease = await self.guard.lease(key, self.budget + LEASE_MARGIN, work)
        if not (lease.won or lease.final) and not await self.guard.detach(key):
            lease = await self.guard.lease(key, self.budget + LEASE_MARGIN, work)  # final meanwhile
        if not lease.won:
            self._replayed(key, lease)
        return lease

    def _replayed(self, key: str, lease: Lease) -> None:
        """A retry answered with the first answer; one still being worked out is pushed instead
        (here: the waiting request lets go; on another replica: the detached lease refuses a passive answer)."""
        pending = self.inflight.get(key)
        if pending is not None:
            pending.detach()
        log.info(
            "wecom_bot replay answered once",
            extra={"event": "wecom_replay", "channel": "wecom_bot", "pending": not lease.final},
        )

    async def _recover(self) -> None:
        """Every second: answer the messages whose claim lapsed unanswered (their replica stopped)."""
        while True:
            await asyncio.sleep(RECOVER_SECONDS)
            try:
                for key, work, _ in await self.guard.shared.lapsed_leases(self.guard.scope):
                    await self._take_over(key, work)
            except Exception as exc:  # the store is down: try again in a second
                log.warning("wecom_bot recovery: %s", exc, extra={"event": "shared_unavailable"})

    async def _take_over(self, key: str, work: str) -> None:
        """Claim a lapsed message and answer it through response_url (given up after MAX_ATTEMPTS)."""
        lease = await self.guard.lease(key, LATE_LEASE, work)
        if not lease.won:
            return
        try:
            message = json_object(work) if work else {}
            incoming = await self._incoming(message) if message else None
        except ChannelError:
            incoming = None
        if incoming is None or lease.attempts > MAX_ATTEMPTS:
            await self.guard.settle(key, b"")
            log.error("wecom_bot message given up after %d attempts", lease.attempts,
                      extra={"event": "wecom_bot_lost", "channel": "wecom_bot"})
            return
        url = text_of(message, "response_url")
        pending = Pending(key, incoming, _is_event(message), url, recovered=True)
        if self.backlog.offer(lambda: self._work(pending)):  # else it lapses again: the next scan
            log.warning("wecom_bot answering a message its replica left unanswered",
                        extra={"event": "wecom_bot_recovered", "channel": "wecom_bot"})

    async def _answer(self, pending: Pending, nonce: str, arrived: float) -> bytes:
        """The HTTP answer: passive, an empty 200 (answer pushed later) or a short busy reply.

        Passive only when a worker is free and the replies come within the budget, which is
        counted from the request's arrival; beyond the backlog's bound the message is refused.
        """
        loop = asyncio.get_running_loop()
        left = self.budget - (loop.time() - arrived)
        if left > 0 and self.backlog.free:
            pending.waiter = loop.create_future()
        if not self.backlog.offer(lambda: self._work(pending)):
            self.refusals.note(self.backlog.pending)
            return await self._settled(pending, [Reply(text=BUSY)], nonce)
        self.inflight[pending.key] = pending
        replies = None
        if pending.waiter is not None:
            try:
                replies = await asyncio.wait_for(pending.waiter, left)
            except TimeoutError:
                pass  # wait_for cancelled the waiter: the worker pushes the answer
            finally:
                self.inflight.pop(pending.key, None)
        if replies is None:  # acknowledged: the claim lasts until the push
            await self.guard.renew(pending.key, LATE_LEASE)
            return b""
        return await self._settled(pending, replies, nonce)

    async def _settled(self, pending: Pending, replies: list[Reply], nonce: str) -> bytes:
        """The passive answer, once recorded as final; else (a retry was acknowledged meanwhile,
        so WeCom no longer reads this connection) nothing, and the answer is pushed."""
        body = await self._passive(replies, pending.event, nonce)
        if await self.guard.settle(pending.key, body):
            return body
        if replies:  # left alone when another replica took the message over (the renew fails)
            self.backlog.follow_up(lambda: self._answer_later(pending, replies))
        return b""

    async def _work(self, pending: Pending) -> None:
        """A worker's job: the replies, handed to the waiting request or else pushed."""
        try:
            replies = await self._replies(pending.incoming)
        finally:
            waited = pending.waiter is not None and not pending.waiter.done()
            if not waited:
                self.inflight.pop(pending.key, None)
        if waited and pending.waiter is not None:
            pending.waiter.set_result(replies)
        elif replies:
            self.backlog.follow_up(lambda: self._answer_later(pending, replies))
        else:
            await self.guard.settle(pending.key, b"")

    async def _passive(self, replies: Sequence[Reply], event: bool, nonce: str) -> bytes:
        """The encrypted passive reply: text for an event, a finished stream otherwise."""
        if not replies:
            return b""  # nothing to say: an empty 200 is a valid answer
        if event:
            return self._seal(
                {"msgtype": "text", "text": {"content": wecom_single(replies)}}, nonce
            )
        return self._seal(await self._stream(replies), nonce)

    async def _replies(self, incoming: Incoming) -> list[Reply]:
        try:
            replies = await self.handler.handle(incoming)
        except Exception:
            log.exception(
                "handler failed", extra={"event": "handler_error", "channel": "wecom_bot"}
            )
            replies = [Reply(text=FAILED)]
        self.choices.remember(incoming.chat_id, incoming.user_id, _last_choices(replies))
        return await self._keep_in_place(incoming, replies)

    async def _answer_later(self, pending: Pending, replies: list[Reply]) -> None:
        """Push a late answer (unless another replica took the message over), then record it as final."""
        if not await self.guard.renew(pending.key, PUSH_LEASE):
            log.info("wecom_bot late answer left to the replica that took it over",
                     extra={"event": "wecom_bot_taken_over", "channel": "wecom_bot"})
            return
        try:
            await self._deliver_later(pending, replies)
        finally:
            await self.guard.settle(pending.key, b"")

    async def _deliver_later(self, pending: Pending, replies: list[Reply]) -> None:
        """Push a late answer to response_url; the 自建应用 sends it when that is refused or absent."""
        content = wecom_single(replies)
        app = self.app
        if pending.response_url:
            try:
                await self._push(pending.response_url, content)
                return
            except PushRefused as exc:
                reason, kind, maybe_arrived = str(exc), "refused", False
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                reason, kind, maybe_arrived = (
                    f"{type(exc).__name__} {exc!r}",
                    type(exc).__name__,
                    True,
                )
            # after a lost connection it may have arrived: sending it elsewhere could answer twice;
            # so may the push of a replica that stopped (WeCom refuses a second one)
            app = None if maybe_arrived or pending.recovered else app
            log.error(
                "response_url failed: %s%s",
                reason,
                "; sending it through the 自建应用" if app is not None else "",
                extra={"event": "wecom_bot_response_failed", "reason": kind},
            )
        elif app is None:
            log.error(
                "late answer not delivered: no response_url and no 自建应用",
                extra={"event": "wecom_bot_dropped"},
            )
        if app is None:
            return
        try:
            await app.send_reply(pending.incoming.user_id, Reply(text=content))
        except ChannelError as exc:
            log.error(
                "late answer via 自建应用 failed: %s", exc, extra={"event": "wecom_bot_dropped"}
            )

    async def _push(self, url: str, content: str) -> None:
        """POST one markdown answer to a response_url; PushRefused when WeCom says no."""
        payload = {"msgtype": "markdown", "markdown": {"content": content}}
        async with self.session.post(url, json=payload, timeout=PUSH_TIMEOUT) as response:
            raw = await response.read()
        excerpt = raw[:PUSH_EXCERPT].decode("utf-8", "replace")
        if response.status != 200:
            raise PushRefused(f"HTTP {response.status}: {excerpt!r}")
        try:
            data = json.loads(raw) if raw else {}
            code = int(data.get("errcode", 0)) if isinstance(data, dict) else -1
        except (ValueError, TypeError):
            raise PushRefused(f"HTTP 200, not a JSON object: {excerpt!r}") from None
        if code != 0:
            raise PushRefused(f"errcode {code}: {excerpt!r}")

    # --- replies --------------------------------------------------------------------------

    async def _keep_in_place(self, incoming: Incoming, replies: Sequence[Reply]) -> list[Reply]:
        """Replies that go elsewhere: private ones via the app, the webhook group via its queue."""
        kept: list[Reply] = []
        for reply in replies:
            if reply.to_chat == WEBHOOK_CHAT and self.webhook is not None:
                await self.webhook.send(reply)
            elif reply.to_chat:
                log.warning(
                    "wecom_bot cannot send to another chat", extra={"event": "wecom_bot_to_chat"}
                )
            elif reply.private and incoming.chat_type == "group":
                kept.append(await self._private(incoming, reply))
            else:
                kept.append(reply)
        return kept

    async def _private(self, incoming: Incoming, reply: Reply) -> Reply:
        if self.app is None:
            return Reply(text=GO_PRIVATE)
        try:
            await self.app.send_reply(incoming.user_id, reply)
            return Reply(text="已通过应用消息单独发给你。")
        except ChannelError as exc:
            log.error("private delivery failed: %s", exc, extra={"event": "wecom_private_failed"})
            return Reply(text=GO_PRIVATE)

    async def _stream(self, replies: Sequence[Reply]) -> dict[str, Any]:
        images = [f for r in replies for f in r.files if f.kind == "image"][:MAX_IMAGES]
        others = any(f.kind != "image" for r in replies for f in r.files)
        content = wecom_single([*replies, Reply(text=FILE_NOTE)] if others else replies)
        stream: dict[str, Any] = {"id": secrets.token_hex(8), "finish": True, "content": content}
        items = [item for item in [await _image_item(f.path) for f in images] if item]
        if items:
            stream["msg_item"] = items
        return {"msgtype": "stream", "stream": stream}

    def _seal(self, reply: dict[str, Any], nonce: str) -> bytes:
        encrypted, signature, timestamp = self.guard.seal(
            json.dumps(reply, ensure_ascii=False), nonce
        )
        return json.dumps(
            {
                "encrypt": encrypted,
                "msgsignature": signature,
                "timestamp": int(timestamp),
                "nonce": nonce,
            }
        ).encode()

    # --- parsing --------------------------------------------------------------------------

    async def _incoming(self, message: dict[str, Any]) -> Incoming | None:
        """The channel-neutral message; None for what needs no answer (stream refresh, …).

        A field of the wrong type raises UnusableMessage (an ignored 200, see `guarded`).
        """
        group = text_of(message, "chattype") == "group"
        user = text_of(object_of(message, "from"), "userid")
        chat_id = (text_of(message, "chatid") or user) if group else user
        text_of(message, "response_url")  # checked here: the slow path posts to it
        attachment = self._attachment(message)
        text = self._text(message, group)
        if attachment is not None:
            text = text or ""
        if text is None or not user:
            return None
        choice = None if attachment else await self.choices.lookup(chat_id, user, text)
        return Incoming(
            channel="wecom_bot",
            chat_id=chat_id,
            chat_type="group" if group else "private",
            user_id=user,
            text=choice.label if choice else text,
            payload=choice.payload if choice else None,
            message_id=text_of(message, "msgid"),
            mentioned=True,  # in groups the bot only receives @-mentions
            attachment=attachment,
            bot=text_of(message, "aibotid"),
        )

    def _attachment(self, message: dict[str, Any]) -> Attachment | None:
        """An image or file (also the first image of a mixed message): its encrypted 5-minute URL."""
        kind = text_of(message, "msgtype")
        if kind in ("image", "file"):
            part = object_of(message, kind)
        elif kind == "mixed":
            items = objects_of(object_of(message, "mixed"), "msg_item")
            part = next((object_of(i, "image") for i in items if text_of(i, "msgtype") == "image"), {})
        else:
            return None
        url = text_of(part, "url")
        if not url:
            return None
        name = text_of(part, "filename") or text_of(part, "name") or ("企业微信文件" if kind == "file" else "企业微信图片")
        fetch = encrypted_url(self.session, url, self.guard.crypto.key)
        return Attachment(name=name, media_type="file" if kind == "file" else "image", fetch=fetch)

    def _text(self, message: dict[str, Any], group: bool) -> str | None:
        kind = text_of(message, "msgtype")
        if kind in ("text", "voice"):
            raw = _content(message, kind)
        elif kind == "mixed":
            items = objects_of(object_of(message, "mixed"), "msg_item")
            raw = " ".join(_content(i, "text") for i in items if text_of(i, "msgtype") == "text")
        elif kind == "event" and text_of(object_of(message, "event"), "eventtype") == "enter_chat":
            return "/start"
        else:
            return None
        return self._strip_mention(raw, group)

    def _strip_mention(self, text: str, group: bool) -> str:
        if self.bot_name:
            text = text.replace(f"@{self.bot_name}", " ")
        elif group:
            text = LEADING_MENTION.sub("", text, count=1)
        return SPACES.sub(" ", text).strip()


def _content(message: dict[str, Any], kind: str) -> str:
    """The `content` string of a text or voice part ("" when absent)."""
    return text_of(object_of(message, kind), "content")


def _is_event(message: dict[str, Any]) -> bool:
    return message.get("msgtype") == "event"


def _last_choices(replies: Sequence[Reply]) -> tuple[Any, ...]:
    for reply in reversed(replies):
        if reply.choices:
            return reply.choices
    return ()


async def _image_item(path: Path) -> dict[str, Any] | None:
    data = await asyncio.to_thread(Path(path).read_bytes)
    if len(data) > IMAGE_LIMIT:
        return None
    return {
        "msgtype": "image",
        "image": {"base64": base64.b64encode(data).decode(), "md5": hashlib.md5(data).hexdigest()},
    }


def _field(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedRequest(f"missing {name}")
    return value


def _body(body: bytes) -> web.Response:
    if not body:
        return web.Response(status=200, body=b"")
    return web.Response(status=200, body=body, content_type="application/json")

"""Telegram adapter (python-telegram-bot v22): updates → Incoming, Reply → HTML messages and buttons.

Long polling, or a webhook served by our own aiohttp server (`webhook` is the route handler).
In groups only commands, @-mentions and replies to the bot reach the core — which is exactly
what Telegram delivers with privacy mode on — so the bot stays quiet otherwise.

Updates of one chat are handled in order, different chats side by side (`WORKERS` at once,
`ChatLanes`); a group held by Telegram's send limits (20/min, a 429 pauses only that chat)
does not delay anybody else. At most `QUEUE_LIMIT` updates wait; beyond that the webhook
answers 503 (Telegram sends again later) and polling pauses. `stop()` works off the queued
updates for at most `SHUTDOWN_SECONDS` (less if the caller gives less), then logs in one
error line the count and update ids of those it drops. A webhook body that is not a JSON
object gets 400; a well-authenticated but unusable update gets 200 and one warning line (a
non-2xx would make Telegram send it again and again).

Several `serve` replicas share one bot through the Store (`shared`), and long button payloads
are written there before the message carrying them is sent, so a button made on one replica works
on another. Replicas receive updates by webhook only: polling is for a single process (`qcbot
serve` refuses it when QCBOT_REPLICAS > 1). A webhook update is claimed as a lease (this replica,
`LEASE_SECONDS`, the update's JSON with it) before Telegram gets its 200; the claim is renewed
while the update waits or runs and becomes final once the replies are sent. A replica that dies
leaves its leases to lapse: every replica scans for lapsed ones each `RECOVER_SECONDS` and
handles them (at most `MAX_ATTEMPTS` replicas try one update), so an acknowledged update is
never lost and, but for a replica killed between a send and its record, answered once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import re
import secrets
import socket
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter, ContextTypes, TypeHandler

from bot.channels.base import Route
from bot.channels.errors import ChannelError
from bot.channels.lanes import ChatLanes, id_ranges
from bot.channels.memory import CallbackPayloads, LocalState, SeenIds
from bot.channels.render import telegram_caption, telegram_html, telegram_keyboard
from bot.channels.telegram_limits import ChatRateLimiter
from bot.config import Config
from handlers.core import (
    Attachment,
    AttachmentUnavailable,
    ChatType,
    FileAttachment,
    Handler,
    Incoming,
    Reply,
)
from handlers.store import SharedState

# Opt in to PTB's timedelta durations: without it PTB's own RetryAfter handling emits a
# PTBDeprecationWarning on every 429 (and our tests treat warnings as errors).
os.environ.setdefault("PTB_TIMEDELTA", "1")

log = logging.getLogger("qcbot.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]
FAILED = "抱歉，处理时出错了，请稍后再试。"
EXPIRED = "这个按钮已过期，请重新发起。"
GO_PRIVATE = "这部分内容需要私聊进行，请点击下方按钮到私聊继续。"
DEEP_LINK = re.compile(r"^/start(?:@\w+)?\s+([A-Za-z0-9_-]{1,64})$")
COMMAND = re.compile(r"^/(\w+)(?:@(\w+))?")
WORKERS = 32  # updates handled at once, across chats; one chat never has more than one
QUEUE_LIMIT = 10_000  # updates accepted and not yet handled
SHUTDOWN_SECONDS = 8.0  # stop() finishes queued updates for this long (Docker waits 10 s)
SEEN_SECONDS = 2 * 24 * 3600.0  # an update_id is claimed this long (Telegram keeps updates 24 h)
LEASE_SECONDS = 10.0  # an acknowledged update is this replica's until then (renewed while held)
RENEW_SECONDS = 3.0  # how often the held leases are renewed
RECOVER_SECONDS = 1.0  # how often leases lapsed on another replica are looked for
MAX_ATTEMPTS = 3  # replicas that may try one update before it is given up (logged)


class TelegramChannel:
    """Runs one bot: receives updates, calls the handler, sends the replies."""

    def __init__(
        self,
        config: Config,
        handler: Handler,
        limiter: BaseRateLimiter[int] | None = None,
        shutdown_seconds: float = SHUTDOWN_SECONDS,
        shared: SharedState | None = None,
    ) -> None:
        self.config = config
        self.handler = handler
        self.webhook_mode = config.telegram_mode == "webhook"
        self.seen: SeenIds[int] = SeenIds(maxsize=5_000)
        self.shared: SharedState = shared if shared is not None else LocalState()
        self.payloads = CallbackPayloads(shared=self.shared)
        self.lanes = ChatLanes(workers=WORKERS, limit=QUEUE_LIMIT)
        self.shutdown_seconds = shutdown_seconds
        self.application = self._build(limiter or ChatRateLimiter())
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"  # this replica
        self.scope = "telegram.update." + config.telegram_token.partition(":")[0]  # update_ids are per bot
        self.held: set[str] = set()  # update_ids leased here and not final yet
        self._keeper: asyncio.Task[None] | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def _build(self, limiter: BaseRateLimiter[int]) -> Application[Any, Any, Any, Any, Any, Any]:
        builder = (
            ApplicationBuilder()
            .token(self.config.telegram_token)
            .base_url(self.config.telegram_base_url)
            .base_file_url(_file_url(self.config.telegram_base_url))
            .rate_limiter(limiter)
            .get_updates_read_timeout(self.config.telegram_poll_timeout + 10)
        )
        if self.webhook_mode:
            builder = builder.updater(None)
        application = builder.build()
        application.add_handler(TypeHandler(Update, self._on_update))
        application.add_error_handler(self._on_error)
        return application

    @property
    def webhook_path(self) -> str:
        """The route our web server serves the webhook on (the path of the public URL)."""
        return urlsplit(self.config.telegram_webhook_url).path or "/telegram/"

    async def start(self) -> None:
        """Connect (getMe), then start polling or register the webhook."""
        await self.application.initialize()
        await self.application.start()
        if self.webhook_mode:
            await self.application.bot.set_webhook(
                self.config.telegram_webhook_url,
                secret_token=self.config.telegram_secret_token,
                allowed_updates=ALLOWED_UPDATES,
            )
            self._keeper = asyncio.create_task(self._keep_leases(), name="qcbot-telegram-leases")
        elif self.application.updater is not None:
            await self.application.updater.start_polling(
                timeout=timedelta(seconds=self.config.telegram_poll_timeout),
                allowed_updates=ALLOWED_UPDATES,
            )
        log.info(
            "telegram started",
            extra={
                "event": "telegram_started",
                "bot": self.username,
                "mode": self.config.telegram_mode,
            },
        )

    async def stop(self, seconds: float | None = None) -> None:
        """Stop fetching, handle what is queued for ≤ `seconds` and ≤ SHUTDOWN_SECONDS, log the rest."""
        budget = self.shutdown_seconds if seconds is None else min(seconds, self.shutdown_seconds)
        deadline = asyncio.get_running_loop().time() + budget
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()  # its last getUpdates acknowledges what was fetched
        self.lanes.unbound()  # every acknowledged update gets queued, so it is counted
        if self.application.running:
            await self.application.stop()
        left = await self.lanes.drain(max(0.0, deadline - asyncio.get_running_loop().time()))
        if self._keeper is not None:  # what is left lapses and is taken over by another replica
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
            self._keeper = None
        if left:
            log.error(
                "telegram stopped with %d updates not handled: update_id %s",
                len(left),
                id_ranges(left),
                extra={"event": "telegram_dropped", "count": len(left)},
            )
        await self.application.shutdown()
        log.info("telegram stopped", extra={"event": "telegram_stopped"})

    # --- the Channel seam (bot/channels/base.py) -------------------------------------------

    name = "telegram"

    def routes(self) -> Sequence[Route]:
        """The webhook route in webhook mode; none when polling."""
        return [("POST", self.webhook_path, self.webhook)] if self.webhook_mode else []

    @property
    def can_push(self) -> bool:
        """A bot can message any chat that talked to it."""
        return True

    async def push(self, reply: Reply) -> None:
        """Send a reply to `reply.to_chat`."""
        await self.send(reply.to_chat or "", reply)

    def depth(self) -> int:
        """Updates received and not yet handled."""
        return self.lanes.pending + self.application.update_queue.qsize()

    @property
    def username(self) -> str:
        bot = self.application.bot
        try:
            return bot.username
        except RuntimeError:  # not initialised yet
            return self.config.telegram_username

    # --- webhook (served by our aiohttp app) ----------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        """POST /telegram/<secret path>: check the secret header, queue the update."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.config.telegram_secret_token.encode()):
            log.warning("telegram webhook: bad secret token", extra={"event": "telegram_forbidden"})
            return web.Response(status=403)
        try:
            data = json.loads(await request.read())
        except (ValueError, RecursionError) as exc:
            log.warning(
                "telegram webhook: malformed body: %s",
                _reason(exc),
                extra={"event": "telegram_malformed"},
            )
            return web.Response(status=400)
        if not isinstance(data, dict):
            log.warning("telegram webhook: not an object", extra={"event": "telegram_malformed"})
            return web.Response(status=400)
        update = self._parse(data)
        if update is not None and not await self._claim(update, data):
            log.warning(
                "telegram webhook: busy or stopping, update %s refused",
                update.update_id,
                extra={"event": "telegram_busy"},
            )
            return web.Response(status=503)  # not acknowledged: Telegram sends it again
        return web.Response(status=200)

    async def _claim(self, update: Update, data: dict[str, Any]) -> bool:
        """Lease a webhook update (stored with its JSON) and queue it; False when full or stopping.

        Held by another replica or final already: a duplicate, acknowledged and dropped. The
        store unavailable: this process's memory decides, as without replicas.
        """
        if not self.lanes.has_room:
            return False
        if not self.seen.first(update.update_id):
            _duplicate(update.update_id)
            return True
        key = str(update.update_id)
        try:
            lease = await self.shared.lease(self.scope, key, self.owner, LEASE_SECONDS,
                                            json.dumps(data, ensure_ascii=False))
        except Exception as exc:
            log.warning("telegram: shared state unavailable: %s", exc, extra={"event": "shared_unavailable"})
            return self.lanes.offer(_lane(update), update.update_id, lambda: self._handle(update))
        if not lease.won:
            _duplicate(update.update_id)
            return True
        self.held.add(key)
        if self.lanes.offer(_lane(update), update.update_id, lambda: self._handle_leased(update)):
            return True
        self.held.discard(key)  # the lease lapses: another replica (or this one restarted) takes it
        return False

    async def _handle_leased(self, update: Update) -> None:
        """Handle a leased update unless another replica took it over, then make the lease final."""
        key = str(update.update_id)
        if key not in self.held:
            log.warning("telegram update %s left to the replica that took it over", key,
                        extra={"event": "telegram_taken_over", "update_id": update.update_id})
            return
        try:
            await self._handle(update)
        finally:  # a cancelled one (stop) is not final: another replica handles it
            self.held.discard(key)
        await self._settle(key)

    async def _settle(self, key: str) -> None:
        try:
            if not await self.shared.settle_lease(self.scope, key, self.owner, "", SEEN_SECONDS):
                log.warning("telegram update %s was taken over while handled here", key,
                            extra={"event": "telegram_taken_over"})
        except Exception as exc:
            log.warning("telegram: lease of update %s not settled: %s", key, exc,
                        extra={"event": "shared_unavailable"})

    async def _keep_leases(self) -> None:
        """Renew the leases held here; take over the ones lapsed elsewhere (their replica died)."""
        renewed = asyncio.get_running_loop().time()
        while True:
            await asyncio.sleep(RECOVER_SECONDS)
            try:
                if asyncio.get_running_loop().time() - renewed >= RENEW_SECONDS:
                    renewed = asyncio.get_running_loop().time()
                    await self._renew_held()
                for key, work, _ in await self.shared.lapsed_leases(self.scope):
                    await self._take_over(key, work)
            except Exception as exc:  # the store is down: try again in a second
                log.warning("telegram leases: %s", exc, extra={"event": "shared_unavailable"})

    async def _renew_held(self) -> None:
        """Extend every lease held here; one taken over meanwhile is dropped here."""
        keys = list(self.held)
        kept = await asyncio.gather(*(self.shared.renew_lease(self.scope, k, self.owner, LEASE_SECONDS)
                                      for k in keys))
        self.held.difference_update(k for k, ok in zip(keys, kept, strict=True) if not ok)

    async def _take_over(self, key: str, work: str) -> None:
        """Claim an update whose lease lapsed and queue it (given up after MAX_ATTEMPTS)."""
        if not self.lanes.has_room:
            return  # it stays lapsed: the next scan, here or elsewhere
        lease = await self.shared.lease(self.scope, key, self.owner, LEASE_SECONDS, work)
        if not lease.won:
            return
        update = None
        with contextlib.suppress(ValueError, RecursionError):
            data = json.loads(work) if work else None
            update = self._parse(data) if isinstance(data, dict) else None
        if update is None or lease.attempts > MAX_ATTEMPTS:
            await self._settle(key)
            log.error("telegram update %s given up after %d attempts", key, lease.attempts,
                      extra={"event": "telegram_lost", "update_id": key})
            return
        self.seen.first(update.update_id)
        self.held.add(key)
        if self.lanes.offer(_lane(update), update.update_id, lambda: self._handle_leased(update)):
            log.warning("telegram update %s taken over from a replica that left it", key,
                        extra={"event": "telegram_recovered", "update_id": update.update_id})
        else:
            self.held.discard(key)

    def _parse(self, data: dict[str, Any]) -> Update | None:
        """The update, or None (with one warning line) when it cannot be used."""
        update_id = data.get("update_id")
        try:
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                raise ValueError("update_id is not an integer")
            return Update.de_json(data, self.application.bot)
        except Exception as exc:  # any shape PTB cannot read: ignored, never a 500
            log.warning(
                "telegram webhook: unusable update %s ignored: %s",
                update_id if isinstance(update_id, int) else "?",
                _reason(exc),
                extra={"event": "telegram_unusable"},
            )
            return None

    # --- inbound --------------------------------------------------------------------------

    def _accept(self, update: Update) -> bool:
        """Queue a polled update in its chat's lane, once per update_id; False when full or stopping."""
        if not self.lanes.has_room:
            return False
        if not self.seen.first(update.update_id):
            _duplicate(update.update_id)
            return True
        return self.lanes.offer(_lane(update), update.update_id, lambda: self._handle_once(update))

    async def _handle_once(self, update: Update) -> None:
        """Handle the update unless another replica claimed its update_id first."""
        try:
            first = await self.shared.first_time("telegram.update", str(update.update_id), SEEN_SECONDS)
        except Exception as exc:  # the store is down: this process's memory decided already
            log.warning("telegram: shared state unavailable: %s", exc, extra={"event": "shared_unavailable"})
            first = True
        if first:
            await self._handle(update)
        else:
            _duplicate(update.update_id)

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A polled update: wait while the lanes are full, then queue it."""
        await self.lanes.wait_for_room()
        if not self._accept(update):  # only once drain began; stop() drains after this
            log.error(
                "telegram update %s not queued: stopping",
                update.update_id,
                extra={"event": "telegram_dropped", "count": 1},
            )

    async def _handle(self, update: Update) -> None:
        """Route a message or a button press; an update we cannot read is one warning line."""
        try:
            if update.callback_query is not None:
                await self._on_press(update.callback_query)
            elif update.message is not None:
                await self._on_message(update.message)
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            log.warning(
                "telegram update %s unusable: %s",
                update.update_id,
                _reason(exc),
                extra={"event": "telegram_unusable"},
            )

    async def _on_message(self, message: Message) -> None:
        incoming = message_to_incoming(message, self.username, self.application.bot.id)
        if incoming is None:
            return
        await self._dispatch(incoming, reply_to=message.message_id)

    async def _on_press(self, query: CallbackQuery) -> None:
        payload = await self.payloads.recall(query.data or "")
        if payload is None or query.message is None:
            await _quietly(query.answer(EXPIRED, show_alert=True))
            return
        await _quietly(query.answer())
        chat_type = _chat_type(query.message.chat.type)
        if chat_type is None:
            return
        incoming = Incoming(
            channel="telegram",
            chat_id=str(query.message.chat.id),
            chat_type=chat_type,
            user_id=str(query.from_user.id),
            user_name=query.from_user.full_name,
            text=_button_label(query.message, query.data or ""),
            payload=payload,
            message_id=query.id,
            mentioned=True,
            bot=self.username,
        )
        await self._dispatch(incoming, reply_to=None)

    async def _dispatch(self, incoming: Incoming, reply_to: int | None) -> None:
        try:
            replies = await self.handler.handle(incoming)
        except Exception:
            log.exception("handler failed", extra={"event": "handler_error", "channel": "telegram"})
            replies = [Reply(text=FAILED)]
        await self.deliver(incoming, replies, reply_to)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error(
            "telegram error: %s",
            context.error,
            exc_info=context.error,
            extra={"event": "telegram_error"},
        )

    # --- outbound -------------------------------------------------------------------------

    async def deliver(
        self, incoming: Incoming, replies: Sequence[Reply], reply_to: int | None = None
    ) -> None:
        """Send each reply where it belongs: in place, privately, or to another chat."""
        for reply in replies:
            try:
                await self._deliver_one(incoming, reply, reply_to)
            except (TelegramError, ChannelError, OSError):
                log.exception("telegram delivery failed", extra={"event": "telegram_send_failed"})

    async def _deliver_one(self, incoming: Incoming, reply: Reply, reply_to: int | None) -> None:
        if reply.to_chat:
            await self.send(reply.to_chat, reply)
        elif reply.private and incoming.chat_type == "group":
            await self._send_private(incoming, reply, reply_to)
        else:
            await self.send(incoming.chat_id, reply, reply_to)

    async def _send_private(self, incoming: Incoming, reply: Reply, reply_to: int | None) -> None:
        """Private delivery; when the user has never opened the bot, point them there."""
        try:
            await self.send(incoming.user_id, reply)
        except Forbidden:
            start = reply.meta.get("start", "assess")
            hint = Reply(text=GO_PRIVATE, meta={"start": start})
            await self.send(incoming.chat_id, hint, reply_to)

    async def send(self, chat_id: str | int, reply: Reply, reply_to: int | None = None) -> None:
        """Send one reply: its text parts (buttons under the last), then its files."""
        bot = self.application.bot
        parts = telegram_html(reply)
        markup = self._markup(reply)
        await self.payloads.save()  # before the buttons exist: any replica may get the press
        for index, part in enumerate(parts):
            await bot.send_message(
                chat_id,
                part,
                parse_mode=ParseMode.HTML,
                reply_markup=markup if index == len(parts) - 1 else None,
                reply_parameters=_reply_to(reply_to if index == 0 else None),
            )
        for attachment in reply.files:
            await self._send_file(chat_id, attachment)

    def _markup(self, reply: Reply) -> InlineKeyboardMarkup | None:
        keyboard = telegram_keyboard(reply.choices, self.payloads.encode)
        start = reply.meta.get("start")
        if not start or not self.username:
            return keyboard
        link = InlineKeyboardButton("到私聊继续", url=f"https://t.me/{self.username}?start={start}")
        rows = list(keyboard.inline_keyboard) if keyboard else []
        return InlineKeyboardMarkup([*rows, [link]])

    async def _send_file(self, chat_id: str | int, attachment: FileAttachment) -> None:
        bot = self.application.bot
        caption = telegram_caption(attachment.caption) if attachment.caption else None
        data = await asyncio.to_thread(Path(attachment.path).read_bytes)
        if attachment.kind == "image":
            await bot.send_photo(chat_id, data, caption=caption, parse_mode=ParseMode.HTML)
        else:
            await bot.send_document(
                chat_id,
                data,
                filename=Path(attachment.path).name,
                caption=caption,
                parse_mode=ParseMode.HTML,
            )


# --- parsing (pure) -----------------------------------------------------------------------


def message_to_incoming(message: Message, bot_username: str, bot_id: int) -> Incoming | None:
    """The channel-neutral message, or None when the bot should stay quiet."""
    chat_type = _chat_type(message.chat.type)
    user = message.from_user
    text = message.text or message.caption or ""
    if chat_type is None or user is None or user.is_bot:
        return None
    command = COMMAND.match(text)
    if command and command.group(2) and command.group(2).lower() != bot_username.lower():
        return None  # a command for another bot
    mentioned = bool(command) or _mentions(message, bot_username, bot_id)
    if chat_type == "group" and not mentioned:
        return None
    return Incoming(
        channel="telegram",
        chat_id=str(message.chat.id),
        chat_type=chat_type,
        user_id=str(user.id),
        user_name=user.full_name,
        text=_clean_text(text, bot_username, chat_type),
        message_id=str(message.message_id),
        mentioned=mentioned,
        attachment=_attachment(message),
        bot=bot_username,
    )


def _attachment(message: Message) -> Attachment | None:
    """A document or a photo (its largest size), fetched by getFile + download when the intake asks.

    The Bot API serves bots files of up to 20 MB, and PTB downloads them whole; the declared
    file_size lets the intake refuse a larger one before any download.
    """
    if message.document is not None:
        doc = message.document
        file_id, name, size, kind = doc.file_id, doc.file_name or "文件", doc.file_size, doc.mime_type or "file"
    elif message.photo:
        photo = message.photo[-1]
        file_id, name, size, kind = photo.file_id, "照片.jpg", photo.file_size, "image"
    else:
        return None
    try:
        bot = message.get_bot()
    except RuntimeError:
        return None

    async def chunks() -> AsyncIterator[bytes]:
        try:
            data = await (await bot.get_file(file_id)).download_as_bytearray()
        except TelegramError as exc:
            raise AttachmentUnavailable(f"telegram file download failed: {exc}") from None
        for start in range(0, len(data), 64 * 1024):
            yield bytes(data[start : start + 64 * 1024])

    return Attachment(name=name, size=size, media_type=kind, fetch=chunks)


def _mentions(message: Message, bot_username: str, bot_id: int) -> bool:
    """@botname in the text, a text_mention of the bot, or a reply to one of its messages."""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return True
    entities = message.parse_entities() or message.parse_caption_entities()
    for entity, value in entities.items():
        if entity.type == "mention" and value.lower() == f"@{bot_username}".lower():
            return True
        if entity.type == "text_mention" and entity.user is not None and entity.user.id == bot_id:
            return True
    return False


def _clean_text(text: str, bot_username: str, chat_type: ChatType) -> str:
    """Strip @botname; in private chats turn a deep link "/start assess" into "/assess"."""
    if bot_username:
        text = re.sub(rf"@{re.escape(bot_username)}\b", "", text, flags=re.IGNORECASE)
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    link = DEEP_LINK.match(text)
    if link and chat_type == "private":
        return "/" + link.group(1)
    return text


def _chat_type(kind: str) -> ChatType | None:
    if kind == "private":
        return "private"
    if kind in ("group", "supergroup"):
        return "group"
    return None


def _button_label(message: Any, data: str) -> str:
    markup = getattr(message, "reply_markup", None)
    for row in getattr(markup, "inline_keyboard", ()) or ():
        for button in row:
            if button.callback_data == data:
                return str(button.text)
    return ""


def _reply_to(message_id: int | None) -> ReplyParameters | None:
    return ReplyParameters(message_id, allow_sending_without_reply=True) if message_id else None


def _file_url(base_url: str) -> str:
    if base_url.endswith("/bot"):
        return base_url[: -len("bot")] + "file/bot"
    return base_url.replace("/bot{token}", "/file/bot{token}")


def _lane(update: Update) -> int | str:
    """Updates of one chat share a lane; one without a chat gets its own."""
    with contextlib.suppress(AttributeError, TypeError):
        chat = update.effective_chat
        if chat is not None and isinstance(chat.id, int | str):
            return chat.id
    return f"update:{update.update_id}"


def _duplicate(update_id: int) -> None:
    log.info("duplicate update ignored", extra={"event": "telegram_duplicate", "update_id": update_id})


def _reason(exc: BaseException) -> str:
    """One short line about a parse failure (no traceback; long messages cut)."""
    text = (str(exc).splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _quietly(call: Any) -> None:
    """Answering a callback query may fail (too old); that must not stop the press."""
    try:
        await call
    except TelegramError as exc:
        log.info("answerCallbackQuery failed: %s", exc, extra={"event": "telegram_answer_failed"})

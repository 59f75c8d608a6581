"""WeCom 智能机器人 (AI bot) HTTP callback: encrypted JSON, receiveid "".

Group @-mentions and direct chats arrive here. The answer goes back passively (an encrypted
`stream` reply with finish=true) when the handler is done within the reply budget; otherwise
the callback is acknowledged with an empty 200 and the answer is POSTed to `response_url`.
WeCom has no buttons here, so choices are numbered and a bare digit is turned into the press.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels.errors import ChannelError, MalformedRequest
from bot.channels.payload import json_object, object_of, objects_of, text_of
from bot.channels.render import wecom_single
from bot.channels.wecom_api import WeComAppClient
from bot.channels.wecom_callback import CallbackChannel, CallbackGuard, CallbackQuery
from bot.channels.wecom_webhook import WEBHOOK_CHAT, WeComWebhook
from handlers.core import Handler, Incoming, Reply

log = logging.getLogger("qcbot.wecom")

FAILED = "抱歉，处理时出错了，请稍后再试。"
GO_PRIVATE = "（这部分内容需要单聊进行：请单聊机器人继续。）"
FILE_NOTE = "（附件无法在此发送，请在企业微信应用中查看。）"
MAX_IMAGES = 10
IMAGE_LIMIT = 10 * 1024 * 1024
LEADING_MENTION = re.compile(r"^\s*@\S+\s*")
SPACES = re.compile(r"[ \t\u3000]{2,}")


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
    ) -> None:
        super().__init__(guard, handler)
        self.session = session
        self.bot_name = bot_name
        self.budget = budget
        self.app = app
        self.webhook = webhook

    # --- callback -------------------------------------------------------------------------

    async def _receive(self, request: web.Request) -> web.Response:
        query = CallbackQuery.parse(request)
        encrypted = _field(json_object(await request.read()), "encrypt")
        message = json_object(self.guard.open(query, encrypted))
        key = text_of(message, "msgid") or f"{query.nonce}:{query.timestamp}:{query.msg_signature}"
        previous = self.guard.claim(key)
        if previous is not None:
            log.info(
                "wecom_bot replay answered once",
                extra={"event": "wecom_replay", "channel": "wecom_bot"},
            )
            return _body(previous)
        incoming = self._incoming(message)
        if incoming is None:
            return _body(b"")
        body = await self._answer(incoming, message, query.nonce)
        self.guard.record(key, body)
        return _body(body)

    async def _answer(self, incoming: Incoming, message: dict[str, Any], nonce: str) -> bytes:
        """Passive reply when the handler is quick enough, else ack now and answer later."""
        task = self.spawn(self._replies(incoming))
        done, _ = await asyncio.wait({task}, timeout=self.budget)
        if not done:
            self.spawn(self._answer_later(task, str(message.get("response_url", ""))))
            return b""
        replies = task.result()
        if not replies:
            return b""  # nothing to say: an empty 200 is a valid answer
        if _is_event(message):
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

    async def _answer_later(self, task: asyncio.Task[list[Reply]], response_url: str) -> None:
        replies = await task
        if not replies:
            return
        if not response_url:
            log.error(
                "slow answer without response_url dropped", extra={"event": "wecom_bot_dropped"}
            )
            return
        payload = {"msgtype": "markdown", "markdown": {"content": wecom_single(replies)}}
        try:
            async with self.session.post(response_url, json=payload) as response:
                data = await response.json(content_type=None)
            if response.status != 200 or int(data.get("errcode", 0)) != 0:
                raise ChannelError(f"response_url: HTTP {response.status} {data}")
        except (aiohttp.ClientError, TimeoutError, ValueError, ChannelError) as exc:
            log.error("response_url failed: %s", exc, extra={"event": "wecom_bot_response_failed"})

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

    def _incoming(self, message: dict[str, Any]) -> Incoming | None:
        """The channel-neutral message; None for what needs no answer (stream refresh, …).

        A field of the wrong type raises UnusableMessage (an ignored 200, see `guarded`).
        """
        group = text_of(message, "chattype") == "group"
        user = text_of(object_of(message, "from"), "userid")
        chat_id = (text_of(message, "chatid") or user) if group else user
        text_of(message, "response_url")  # checked here: the slow path posts to it
        text = self._text(message, group)
        if text is None or not user:
            return None
        choice = self.choices.resolve(chat_id, user, text)
        return Incoming(
            channel="wecom_bot",
            chat_id=chat_id,
            chat_type="group" if group else "private",
            user_id=user,
            text=choice.label if choice else text,
            payload=choice.payload if choice else None,
            message_id=text_of(message, "msgid"),
            mentioned=True,  # in groups the bot only receives @-mentions
        )

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

"""WeCom 自建应用 callback: encrypted XML, receiveid = corpid; answers go out via message/send.

Users talk to the app one-to-one (apps can't join ordinary groups), so this is where the
self-assessment can run. The callback is acknowledged at once with an empty 200 and the
answer is sent asynchronously, so WeCom's 5-second deadline never matters.
"""

from __future__ import annotations

import logging
from xml.etree.ElementTree import ParseError

from aiohttp import web
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.channels.errors import ChannelError, MalformedRequest
from bot.channels.wecom_api import WeComAppClient
from bot.channels.wecom_callback import CallbackChannel, CallbackGuard, CallbackQuery
from bot.channels.wecom_media import media_chunks
from bot.channels.wecom_webhook import WEBHOOK_CHAT, WeComWebhook
from handlers.core import Attachment, Handler, Incoming, Reply

log = logging.getLogger("qcbot.wecom")

FAILED = "抱歉，处理时出错了，请稍后再试。"


class WeComAppChannel(CallbackChannel):
    """Serves /wecom/app: URL verification (GET) and message callbacks (POST, answered via message/send)."""

    name = "wecom_app"

    def __init__(
        self,
        guard: CallbackGuard,
        handler: Handler,
        client: WeComAppClient,
        webhook: WeComWebhook | None = None,
    ) -> None:
        super().__init__(guard, handler)
        self.client = client
        self.webhook = webhook

    @property
    def can_push(self) -> bool:
        """The 自建应用 sends to any user through message/send."""
        return True

    async def push(self, reply: Reply) -> None:
        """Send to the user named by `reply.to_chat`."""
        await self.client.send_reply(reply.to_chat or "", reply)

    async def _receive(self, request: web.Request) -> web.Response:
        query = CallbackQuery.parse(request)
        envelope = parse_xml(await request.read())
        if not envelope.get("Encrypt"):
            raise MalformedRequest("missing Encrypt")
        message = parse_xml(self.guard.open(query, envelope["Encrypt"]))
        key = message.get("MsgId") or f"{message.get('FromUserName')}:{message.get('CreateTime')}"
        if await self.guard.claim(key) is not None:
            log.info(
                "wecom_app replay answered once",
                extra={"event": "wecom_replay", "channel": "wecom_app"},
            )
            return web.Response(status=200, body=b"")
        incoming = await self._incoming(message)
        if incoming is not None:
            self.spawn(self._answer(incoming))
        return web.Response(status=200, body=b"")

    async def _answer(self, incoming: Incoming) -> None:
        try:
            replies = await self.handler.handle(incoming)
        except Exception:
            log.exception(
                "handler failed", extra={"event": "handler_error", "channel": "wecom_app"}
            )
            replies = [Reply(text=FAILED)]
        choices = next((r.choices for r in reversed(replies) if r.choices), ())
        self.choices.remember(incoming.chat_id, incoming.user_id, choices)
        for reply in replies:
            if reply.to_chat == WEBHOOK_CHAT and self.webhook is not None:
                await self.webhook.send(reply)
                continue
            try:
                await self.client.send_reply(reply.to_chat or incoming.user_id, reply)
            except ChannelError as exc:
                log.error(
                    "wecom_app send failed: %s", exc, extra={"event": "wecom_app_send_failed"}
                )

    async def _incoming(self, message: dict[str, str]) -> Incoming | None:
        user = message.get("FromUserName", "")
        kind = message.get("MsgType")
        text = (
            message.get("Content")
            if kind == "text"
            else message.get("Recognition")
            if kind == "voice"
            else None
        )
        attachment = self._attachment(message)
        if attachment is not None:
            text = text or ""
        if not user or text is None:
            return None
        choice = None if attachment else await self.choices.lookup(user, user, text)
        return Incoming(
            channel="wecom_app",
            chat_id=user,
            chat_type="private",
            user_id=user,
            text=choice.label if choice else text.strip(),
            payload=choice.payload if choice else None,
            message_id=message.get("MsgId", ""),
            mentioned=True,
            attachment=attachment,
            bot=message.get("AgentID", ""),
        )

    def _attachment(self, message: dict[str, str]) -> Attachment | None:
        """An image (or file) message: its MediaId, fetched through media/get."""
        kind = message.get("MsgType")
        media_id = message.get("MediaId", "")
        if kind not in ("image", "file") or not media_id:
            return None
        name = message.get("FileName") or message.get("Title") or ("企业微信文件" if kind == "file" else "企业微信图片")
        return Attachment(
            name=name, media_type=kind, fetch=media_chunks(lambda: self.client.media(media_id)),
        )


def parse_xml(raw: bytes | str) -> dict[str, str]:
    """The child elements of a flat WeCom XML document as a dict; UTF-8 only, no DTDs, no entities.

    The bytes are decoded first, so the parser never sees (or honours) a declared encoding:
    a UTF-16 body is refused here instead of slipping past a byte match on "<!DOCTYPE".
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise MalformedRequest("XML is not UTF-8") from None
    if "\x00" in text:  # never in XML; a BOM-less UTF-16 body is valid UTF-8 full of NULs
        raise MalformedRequest("XML is not UTF-8 (NUL characters)")
    try:
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise MalformedRequest(f"XML with a DTD or entities is not accepted: {exc!r}") from None
    except ParseError as exc:
        raise MalformedRequest(f"bad XML: {exc}") from None
    return {child.tag: (child.text or "").strip() for child in root}

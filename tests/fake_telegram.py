"""A fake Telegram Bot API server (aiohttp) that python-telegram-bot is pointed at with base_url."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TOKEN = "123456:TEST-token-never-logged"
BOT = {"id": 999, "is_bot": True, "first_name": "质量强县助手", "username": "qc_test_bot"}
JSON_FIELDS = ("reply_markup", "reply_parameters", "allowed_updates", "link_preview_options")


@dataclass
class Call:
    """One Bot API request the library made."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class FakeBotApi:
    """Serves getMe, getUpdates (long poll), sendMessage, sendDocument, sendPhoto, answerCallbackQuery…"""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.failures: dict[str, list[dict[str, Any]]] = {}
        self.forbidden_chats: set[str] = set()
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(500)
        self.server: TestServer | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/{path:.*}", self._route)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return f"http://127.0.0.1:{self.server.port}/bot"

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    # --- test controls -----------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates; assigns an update_id unless it has one."""
        update.setdefault("update_id", next(self._update_ids))
        self.updates.put_nowait(update)
        return update

    def fail_next(
        self, method: str, status: int, description: str, retry_after: int | None = None
    ) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        self.failures.setdefault(method, []).append(body)

    def sent(self, method: str = "sendMessage") -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # --- the API ------------------------------------------------------------------------

    async def _route(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        token, _, method = path.partition("/")
        if token != f"bot{TOKEN}":
            return _json({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        params = await _params(request)
        self.calls.append(Call(method, params))
        if self.failures.get(method):
            body = self.failures[method].pop(0)
            return _json(body, body["error_code"])
        if method == "sendMessage" and str(params.get("chat_id")) in self.forbidden_chats:
            return _json(
                {
                    "ok": False,
                    "error_code": 403,
                    "description": "Forbidden: bot can't initiate conversation with a user",
                },
                403,
            )
        handler = getattr(self, f"_{method}", None)
        result = await handler(params) if handler else True
        return _json({"ok": True, "result": result})

    async def _getMe(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return BOT

    async def _getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:  # noqa: N802
        wait = min(float(params.get("timeout", 0) or 0), 0.3)
        batch: list[dict[str, Any]] = []
        try:
            batch.append(
                await asyncio.wait_for(self.updates.get(), wait)
                if wait
                else self.updates.get_nowait()
            )
        except (TimeoutError, asyncio.QueueEmpty):
            return []
        while not self.updates.empty():
            batch.append(self.updates.get_nowait())
        return batch

    async def _sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return self._message(params, text=params["text"])

    async def _sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return self._message(
            params,
            document={
                "file_id": "doc1",
                "file_unique_id": "d1",
                "file_name": params.get("document_name", ""),
            },
        )

    async def _sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return self._message(
            params, photo=[{"file_id": "ph1", "file_unique_id": "p1", "width": 10, "height": 10}]
        )

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup", "title": "群"}
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT,
            **content,
        }


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        return dict(await request.json())
    params: dict[str, Any] = {}
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            name = getattr(part, "name", None) or ""
            data = await part.read()  # type: ignore[union-attr]
            filename = getattr(part, "filename", None)
            params[name] = data if filename else data.decode()
            if filename:
                params[f"{name}_name"] = filename
    else:
        params = dict(await request.post())
    for key in JSON_FIELDS:
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


# --- update factories ---------------------------------------------------------------------

_msg_ids = itertools.count(1)


def utf16_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


def message(
    text: str,
    chat_id: int = -100,
    user_id: int = 42,
    reply_to_bot: bool = False,
    name: str = "张科长",
) -> dict[str, Any]:
    """An update carrying a text message; @mentions and /commands get their entities."""
    chat = {
        "id": chat_id,
        "type": "private" if chat_id > 0 else "supergroup",
        "title": "质量强县工作群",
    }
    msg: dict[str, Any] = {
        "message_id": next(_msg_ids),
        "date": int(time.time()),
        "chat": chat,
        "from": {"id": user_id, "is_bot": False, "first_name": name},
        "text": text,
    }
    entities = _entities(text)
    if entities:
        msg["entities"] = entities
    if reply_to_bot:
        msg["reply_to_message"] = {
            "message_id": 1,
            "date": int(time.time()),
            "chat": chat,
            "from": BOT,
            "text": "上一条回答",
        }
    return {"message": msg}


def _entities(text: str) -> list[dict[str, Any]]:
    found = []
    mention = "@" + BOT["username"]
    at = text.find(mention)
    if at >= 0:
        found.append({"type": "mention", "offset": utf16_offset(text, at), "length": len(mention)})
    if text.startswith("/"):
        found.append(
            {"type": "bot_command", "offset": 0, "length": utf16_offset(text, len(text.split()[0]))}
        )
    return found


def press(sent: Call, label: str, user_id: int = 42) -> dict[str, Any]:
    """An update for pressing the button `label` under a message the bot sent."""
    markup = sent.params["reply_markup"]["inline_keyboard"]
    button = next(b for row in markup for b in row if b["text"] == label)
    chat_id = int(sent.params["chat_id"])
    chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup", "title": "群"}
    bot_message = {
        "message_id": 77,
        "date": int(time.time()),
        "chat": chat,
        "from": BOT,
        "text": sent.params["text"],
        "reply_markup": sent.params["reply_markup"],
    }
    return {
        "callback_query": {
            "id": f"cq{next(_msg_ids)}",
            "from": {"id": user_id, "is_bot": False, "first_name": "张科长"},
            "chat_instance": "ci",
            "data": button["callback_data"],
            "message": bot_message,
        }
    }

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
    status: int = 200


class FakeBotApi:
    """Serves getMe, getUpdates (long poll), sendMessage, sendDocument, sendPhoto, answerCallbackQuery…"""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.failures: dict[str, list[dict[str, Any]]] = {}
        self.forbidden_chats: set[str] = set()
        self.throttled: dict[str, tuple[int, int]] = {}  # chat id -> (429s left, retry_after)
        self.send_delay = 0.0  # seconds each sendMessage takes (a slow Bot API)
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(500)
        self.server: TestServer | None = None
        self.files: dict[str, bytes] = {}  # file_id → the bytes getFile + download serve
        self.truncate_files: set[str] = set()  # file ids whose download is cut off midway

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/file/{path:.*}", self._download)
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

    def throttle(self, chat_id: int | str, times: int, retry_after: int = 1) -> None:
        """Answer the next `times` sendMessage calls to this chat with 429 and retry_after."""
        self.throttled[str(chat_id)] = (times, retry_after)

    def sent(self, method: str = "sendMessage") -> list[Call]:
        """Every call of `method`, refused ones included."""
        return [c for c in self.calls if c.method == method]

    def delivered(self, method: str = "sendMessage") -> list[Call]:
        """The calls of `method` that succeeded."""
        return [c for c in self.sent(method) if c.status == 200]

    # --- the API ------------------------------------------------------------------------

    async def _route(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        token, _, method = path.partition("/")
        if token != f"bot{TOKEN}":
            return _json({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        params = await _params(request)
        call = Call(method, params)
        self.calls.append(call)
        refusal = self._refusal(method, params)
        if refusal is not None:
            call.status = refusal["error_code"]
            return _json(refusal, call.status)
        if method == "sendMessage" and self.send_delay:
            await asyncio.sleep(self.send_delay)
        if method == "sendMessage" and str(params.get("chat_id")) in self.forbidden_chats:
            call.status = 403
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

    def _refusal(self, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The error body for a scripted failure or a throttled chat, else None."""
        if self.failures.get(method):
            return self.failures[method].pop(0)
        chat = str(params.get("chat_id"))
        left, retry_after = self.throttled.get(chat, (0, 0))
        if method != "sendMessage" or left <= 0:
            return None
        self.throttled[chat] = (left - 1, retry_after)
        return {
            "ok": False,
            "error_code": 429,
            "description": f"Too Many Requests: retry after {retry_after}",
            "parameters": {"retry_after": retry_after},
        }

    async def _getMe(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return BOT

    async def _getFile(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        file_id = str(params.get("file_id"))
        data = self.files.get(file_id, b"")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data),
                "file_path": f"documents/{file_id}"}

    async def _download(self, request: web.Request) -> web.StreamResponse:
        """GET /file/bot<token>/documents/<file_id>: the file, or a cut-off body (truncate_files)."""
        token, _, file_path = request.match_info["path"].partition("/")
        file_id = file_path.rsplit("/", 1)[-1]
        self.calls.append(Call("download", {"file_path": file_path}))
        if token != f"bot{TOKEN}" or file_id not in self.files:
            return web.Response(status=404)
        return await serve_bytes(request, self.files[file_id], file_id in self.truncate_files)

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


async def serve_bytes(request: web.Request, data: bytes, truncate: bool) -> web.StreamResponse:
    """Send `data`; when `truncate`, announce its full length but close after half of it."""
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    response.content_length = len(data)
    await response.prepare(request)
    if truncate:
        await response.write(data[: len(data) // 2])
        if request.transport is not None:
            request.transport.close()
        return response
    await response.write(data)
    await response.write_eof()
    return response


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
    mention = "@" + str(BOT["username"])
    at = text.find(mention)
    if at >= 0:
        found.append({"type": "mention", "offset": utf16_offset(text, at), "length": len(mention)})
    if text.startswith("/"):
        found.append(
            {"type": "bot_command", "offset": 0, "length": utf16_offset(text, len(text.split()[0]))}
        )
    return found


def document(
    file_id: str, name: str, size: int, caption: str = "", chat_id: int = 42, photo: bool = False
) -> dict[str, Any]:
    """An update carrying a document (or a photo) the user sent, with an optional caption."""
    chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup", "title": "质量强县工作群"}
    msg: dict[str, Any] = {
        "message_id": next(_msg_ids), "date": int(time.time()), "chat": chat,
        "from": {"id": 42, "is_bot": False, "first_name": "张科长"},
    }
    if photo:
        msg["photo"] = [{"file_id": f"{file_id}-small", "file_unique_id": "s", "width": 90, "height": 90},
                        {"file_id": file_id, "file_unique_id": "b", "width": 900, "height": 900, "file_size": size}]
    else:
        msg["document"] = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": name,
                           "mime_type": "application/pdf", "file_size": size}
    if caption:
        msg["caption"] = caption
        entities = _entities(caption)
        if entities:
            msg["caption_entities"] = entities
    return {"message": msg}


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

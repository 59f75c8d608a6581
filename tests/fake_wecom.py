"""A fake WeCom API server (gettoken, message/send, media/upload, webhook, aibot response_url)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.fake_telegram import serve_bytes


@dataclass
class ApiCall:
    """One request our client made."""

    path: str
    query: dict[str, str]
    body: Any
    at: float


class FakeClock:
    """Injectable time: `sleep` advances it at once, so rate limits are tested without waiting."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@dataclass
class FakeWeCom:
    """Scriptable stand-in for qyapi.weixin.qq.com."""

    clock: Callable[[], float] = time.monotonic
    calls: list[ApiCall] = field(default_factory=list)
    scripted: dict[str, list[int]] = field(default_factory=dict)  # path → errcodes to answer first
    expire_next: int = 0  # answer 42001 to this many message/send calls
    token: str = ""
    server: TestServer | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # /files/<name> (bot URLs) and media ids
    truncate_files: set[str] = field(default_factory=set)  # names served cut off midway
    _tokens: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        app.router.add_get("/files/{name}", self._file)
        app.router.add_post("/{path:.*}", self._post)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return f"http://127.0.0.1:{self.server.port}"

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def script(self, path: str, *codes: int) -> None:
        self.scripted.setdefault(path, []).extend(codes)

    def called(self, path: str) -> list[ApiCall]:
        return [c for c in self.calls if c.path == path]

    async def _gettoken(self, request: web.Request) -> web.Response:
        self.calls.append(ApiCall("/cgi-bin/gettoken", dict(request.query), None, self.clock()))
        if request.query.get("corpsecret") != "app-secret":
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        self.token = f"ACCESS_TOKEN_{next(self._tokens)}"
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": self.token, "expires_in": 7200}
        )

    async def _post(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        body = await _body(request)
        self.calls.append(ApiCall(path, dict(request.query), body, self.clock()))
        if "access_token" in request.query:
            if request.query["access_token"] != self.token:
                return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
            if path == "/cgi-bin/message/send" and self.expire_next:
                self.expire_next -= 1
                return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        if self.scripted.get(path):
            code = self.scripted[path].pop(0)
            return web.json_response({"errcode": code, "errmsg": "scripted"})
        if path.endswith("upload") or path.endswith("upload_media"):
            return web.json_response(
                {"errcode": 0, "errmsg": "ok", "type": "file", "media_id": "MEDIA_1"}
            )
        return web.json_response({"errcode": 0, "errmsg": "ok"})


    async def _file(self, request: web.Request) -> web.StreamResponse:
        """A 智能机器人 file URL: the (already encrypted) bytes stored under the name."""
        name = request.match_info["name"]
        self.calls.append(ApiCall(f"/files/{name}", dict(request.query), None, self.clock()))
        if name not in self.files:
            return web.Response(status=404)
        return await serve_bytes(request, self.files[name], name in self.truncate_files)

    async def _media_get(self, request: web.Request) -> web.StreamResponse:
        """media/get: the media's bytes with a file name, or WeCom's JSON error."""
        self.calls.append(ApiCall("/cgi-bin/media/get", dict(request.query), None, self.clock()))
        if request.query.get("access_token") != self.token:
            return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
        media_id = request.query.get("media_id", "")
        if media_id not in self.files:
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        return await serve_bytes(request, self.files[media_id], media_id in self.truncate_files)


async def _body(request: web.Request) -> Any:
    if request.content_type.startswith("multipart/"):
        parts = {}
        reader = await request.multipart()
        async for part in reader:
            parts[getattr(part, "name", "")] = (getattr(part, "filename", None), await part.read())  # type: ignore[union-attr]
        return parts
    raw = await request.read()
    return await request.json() if raw else None

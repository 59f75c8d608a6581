"""WeCom REST client for a 自建应用: cached access_token, message/send, media/upload.

The token is fetched once (single flight), reused until shortly before it expires, and
refreshed when WeCom says it is invalid or expired (40014, 42001, …). Busy (-1) and rate
limit (45009, 45033) answers are retried with exponential back-off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from bot.channels.errors import ChannelError, WeComApiError
from bot.channels.render import WECOM_TEXT_LIMIT, wecom_parts
from handlers.core import FileAttachment, Reply

log = logging.getLogger("qcbot.wecom")

TOKEN_INVALID = frozenset({40014, 42001, 42007, 42009})
RETRYABLE = frozenset({-1, 45009, 45033})
REFRESH_MARGIN = 300.0

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
FormFactory = Callable[[], aiohttp.FormData]


class WeComAppClient:
    """Calls the WeCom API on behalf of one app (corpid + secret + agentid)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base: str,
        corp_id: str,
        secret: str,
        agent_id: str,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        attempts: int = 4,
    ) -> None:
        self.session = session
        self.base = base.rstrip("/")
        self.corp_id = corp_id
        self.secret = secret
        self.agent_id = int(agent_id) if agent_id.isdigit() else agent_id
        self.clock = clock
        self.sleep = sleep
        self.attempts = attempts
        self._token = ""
        self._expires = 0.0
        self._lock = asyncio.Lock()

    # --- token ----------------------------------------------------------------------------

    async def token(self) -> str:
        """A valid access_token, fetched at most once at a time."""
        async with self._lock:
            if not self._token or self.clock() >= self._expires:
                data = await self._get(
                    "/cgi-bin/gettoken", {"corpid": self.corp_id, "corpsecret": self.secret}
                )
                _check(data, "gettoken")
                self._token = str(data["access_token"])
                self._expires = self.clock() + float(data.get("expires_in", 7200)) - REFRESH_MARGIN
                log.info("wecom access_token refreshed", extra={"event": "wecom_token_refreshed"})
            return self._token

    def _invalidate(self, token: str) -> None:
        if self._token == token:
            self._token = ""

    # --- calls ----------------------------------------------------------------------------

    async def call(
        self,
        path: str,
        payload: dict[str, Any] | None = None,
        form: FormFactory | None = None,
        **params: str,
    ) -> dict[str, Any]:
        """POST to an access_token API; refresh the token or back off as WeCom asks."""
        refreshed = False
        for attempt in range(self.attempts):
            token = await self.token()
            data = await self._post(
                path, {"access_token": token, **params}, payload, form() if form else None
            )
            code = int(data.get("errcode", 0))
            if code in TOKEN_INVALID and not refreshed:
                self._invalidate(token)
                refreshed = True
                continue
            if code in RETRYABLE and attempt + 1 < self.attempts:
                await self.sleep(2.0**attempt)
                continue
            _check(data, path)
            return data
        raise WeComApiError(-1, "gave up after retries", path)

    async def send_reply(self, user_id: str, reply: Reply) -> None:
        """Send one reply to a user as text message(s), then its files."""
        for part in wecom_parts(reply, WECOM_TEXT_LIMIT):
            await self.send_message(user_id, "text", {"content": part})
        for attachment in reply.files:
            await self.send_file(user_id, attachment)

    async def send_message(
        self, user_id: str, msgtype: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """message/send to one user."""
        payload = {"touser": user_id, "msgtype": msgtype, "agentid": self.agent_id, msgtype: body}
        return await self.call("/cgi-bin/message/send", payload)

    async def send_file(self, user_id: str, attachment: FileAttachment) -> None:
        """Upload the file (media/upload), then send it as a file or image message."""
        kind = "image" if attachment.kind == "image" else "file"
        media_id = await self.upload(attachment.path, kind)
        await self.send_message(user_id, kind, {"media_id": media_id})

    async def upload(self, path: Path, kind: str) -> str:
        """media/upload: a temporary media_id (valid three days)."""
        data = await asyncio.to_thread(Path(path).read_bytes)
        answer = await self.call(
            "/cgi-bin/media/upload", form=lambda: media_form(data, Path(path).name), type=kind
        )
        return str(answer["media_id"])

    async def media(self, media_id: str, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
        """media/get: a received message's media, chunk by chunk (the token refreshed once).

        WeCom answers the bytes, or a JSON error (40007 invalid media_id) with a JSON/text type.
        """
        for attempt in range(2):
            token = await self.token()
            params = {"access_token": token, "media_id": media_id}
            async with self.session.get(self.base + "/cgi-bin/media/get", params=params) as response:
                if response.status != 200:
                    raise ChannelError(f"media/get: HTTP {response.status}")
                if response.content_type in ("application/json", "text/plain"):
                    data = await response.json(content_type=None)
                    code = int(data.get("errcode", -1)) if isinstance(data, dict) else -1
                    if code in TOKEN_INVALID and attempt == 0:
                        self._invalidate(token)
                        continue
                    raise WeComApiError(code, str(data.get("errmsg", "")) if isinstance(data, dict) else "", "media/get")
                async for data in response.content.iter_chunked(chunk):
                    yield data
                return

    # --- HTTP -----------------------------------------------------------------------------

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        return await self._request("GET", path, params)

    async def _post(
        self,
        path: str,
        params: dict[str, str],
        payload: dict[str, Any] | None,
        form: aiohttp.FormData | None,
    ) -> dict[str, Any]:
        return await self._request("POST", path, params, payload, form)

    async def _request(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        payload: dict[str, Any] | None = None,
        form: aiohttp.FormData | None = None,
    ) -> dict[str, Any]:
        return await fetch_json(
            self.session, method, self.base + path, path, params=params, json=payload, data=form
        )


def media_form(data: bytes, filename: str) -> aiohttp.FormData:
    """The multipart body WeCom's upload APIs expect (field "media", with a filename).

    Filenames go as raw UTF-8 the way browsers send them (quote_fields=False), not
    percent-encoded, so a Chinese file name shows as such in the chat.
    """
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("media", data, filename=filename, content_type="application/octet-stream")
    return form


def _check(data: dict[str, Any], api: str) -> None:
    code = int(data.get("errcode", 0))
    if code != 0:
        raise WeComApiError(code, str(data.get("errmsg", "")), api)


async def fetch_json(
    session: aiohttp.ClientSession, method: str, url: str, label: str, **kwargs: Any
) -> dict[str, Any]:
    """One WeCom API call: the JSON object it answers, or ChannelError naming `label`."""
    try:
        async with session.request(method, url, **kwargs) as response:
            if response.status != 200:
                raise ChannelError(f"{label}: HTTP {response.status}")
            data = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise ChannelError(f"{label}: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise ChannelError(f"{label}: unexpected answer")
    return data

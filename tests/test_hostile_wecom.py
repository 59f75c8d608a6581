"""Hostile requests to the WeCom callbacks: a 4xx or an ignored 200, one log line, never a 500.

Everything goes over real HTTP to the `qcbot serve` routes on 127.0.0.1; WeCom's side (signing
and encrypting) is played by wechatpy.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.config import Config
from bot.logs import configure_logging
from bot.serve import Channels, build_channels, plan_channels, stop_channels, web_app
from tests import wecom_vectors as v
from tests.fakes import RecordingHandler
from tests.test_wecom_callbacks import BOT_TOKEN, group_text, opened, sealed

SETTINGS = {
    "wecom_bot_token": BOT_TOKEN,
    "wecom_bot_aes_key": v.V1_KEY,
    "wecom_corp_id": v.V1_CORP,
    "wecom_agent_id": "1000002",
    "wecom_secret": "app-secret",
    "wecom_token": v.V1_TOKEN,
    "wecom_aes_key": v.V1_KEY,
    "wecom_api_base": "http://127.0.0.1:9",  # never reached: answers here are passive
    "wecom_reply_budget_ms": 60_000,  # so the response_url path (a hostile URL) never runs
}
APP_QUERY = {"msg_signature": "0" * 40, "timestamp": str(int(time.time())), "nonce": "1"}


@dataclass
class Server:
    """Both WeCom callbacks behind the real routes, with a recording handler."""

    client: TestClient[Any, Any]
    channels: Channels
    handler: RecordingHandler

    async def post_bot(self, plain: dict[str, Any] | str, nonce: str = "1") -> Any:
        """Sign and encrypt `plain` as WeCom would and post it to /wecom/bot."""
        text = plain if isinstance(plain, str) else json.dumps(plain)  # \uXXXX for surrogates
        query, encrypted = sealed(WeChatCrypto(BOT_TOKEN, v.V1_KEY, ""), text, None, nonce)
        return await self.client.post("/wecom/bot", params=query, json={"encrypt": encrypted})

    async def close(self) -> None:
        await self.client.close()
        await stop_channels(self.channels)


async def start_server() -> Server:
    config = Config.from_mapping(SETTINGS)
    handler = RecordingHandler()
    channels = build_channels(config, handler, plan_channels(config, wecom=True))
    client: TestClient[Any, Any] = TestClient(TestServer(web_app(channels), host="127.0.0.1"))
    await client.start_server()
    return Server(client, channels, handler)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    running = await start_server()
    yield running
    await running.close()


def warnings_and_worse(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def assert_one_quiet_warning(caplog: pytest.LogCaptureFixture, words: str) -> None:
    """Exactly one log line at warning level, naming `words`, without a traceback."""
    (record,) = warnings_and_worse(caplog)
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert words in record.getMessage()


# --- deeply nested JSON -------------------------------------------------------------------

DEEP = [b"[" * 100_000, b'{"a":' * 100_000, b"[" * 500 + b"{" * 500 + b"]" * 500]


@pytest.mark.parametrize("body", DEEP, ids=["lists", "objects", "mixed"])
async def test_deeply_nested_body_gets_400_and_one_line(
    server: Server, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    query = {"msg_signature": "0" * 40, "timestamp": str(int(time.time())), "nonce": "1"}
    with caplog.at_level(logging.INFO):
        answer = await server.client.post("/wecom/bot", params=query, data=body)
    assert answer.status == 400
    assert_one_quiet_warning(caplog, "wecom_bot callback malformed")


async def test_deeply_nested_signed_plaintext_gets_400_and_one_line(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        answer = await server.post_bot("[" * 50_000)
    assert answer.status == 400
    assert_one_quiet_warning(caplog, "nested too deeply")


# --- signed 智能机器人 messages of the wrong shape ----------------------------------------

WRONG_SHAPES = {
    "from is a string": {"from": "USERID"},
    "from is a list": {"from": ["USERID"]},
    "userid is a number": {"from": {"userid": 7}},
    "text is a string": {"text": "你好"},
    "text is a list": {"text": [{"content": "你好"}]},
    "content is a number": {"text": {"content": 5}},
    "msgid is a number": {"msgid": 12345},
    "msgtype is a list": {"msgtype": ["text"]},
    "chattype is a number": {"chattype": 1},
    "chatid is an object": {"chatid": {"id": "CHATID"}},
    "response_url is a list": {"response_url": ["http://127.0.0.1:9/"]},
    "voice is a string": {"msgtype": "voice", "voice": "你好"},
    "event is a string": {"msgtype": "event", "event": "enter_chat"},
    "eventtype is a list": {"msgtype": "event", "event": {"eventtype": ["enter_chat"]}},
    "mixed is a list": {"msgtype": "mixed", "mixed": [{"msgtype": "text"}]},
    "msg_item is an object": {"msgtype": "mixed", "mixed": {"msg_item": {"msgtype": "text"}}},
    "msg_item is a string": {"msgtype": "mixed", "mixed": {"msg_item": "你好"}},
    "msg_item holds a string": {"msgtype": "mixed", "mixed": {"msg_item": ["你好"]}},
    "msg_item holds null": {"msgtype": "mixed", "mixed": {"msg_item": [None]}},
    "msg_item text is a string": {
        "msgtype": "mixed",
        "mixed": {"msg_item": [{"msgtype": "text", "text": "你好"}]},
    },
}


@pytest.mark.parametrize("change", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
async def test_signed_message_of_the_wrong_shape_is_ignored_with_one_warning(
    server: Server, caplog: pytest.LogCaptureFixture, change: dict[str, Any]
) -> None:
    with caplog.at_level(logging.INFO):
        answer = await server.post_bot({**group_text("@RobotA 你好"), **change})
    # authentic but unusable: an empty 200, which WeCom does not retry
    assert answer.status == 200 and await answer.read() == b""
    assert_one_quiet_warning(caplog, "wecom_bot message ignored")
    assert server.handler.received == []


async def test_signed_non_object_plaintext_gets_400(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        answers = [
            await server.post_bot(plain, nonce=str(i))
            for i, plain in enumerate(["5", "[1]", '"x"', "null"])
        ]
    assert [a.status for a in answers] == [400] * 4
    assert len(warnings_and_worse(caplog)) == 4
    assert all(r.exc_info is None for r in caplog.records)


async def test_null_fields_and_a_lone_surrogate_are_still_answered(server: Server) -> None:
    message = {**group_text("@RobotA 你好\ud800"), "chatid": None}
    answer = await server.post_bot(message)
    assert answer.status == 200
    assert opened(await answer.read())["stream"]["content"] == "答：你好\ufffd"
    (incoming,) = server.handler.received
    assert incoming.chat_id == "USERID"  # no chat id: the user's own conversation


async def test_mixed_message_text_parts_are_joined(server: Server) -> None:
    message = {
        **group_text(""),
        "msgtype": "mixed",
        "mixed": {
            "msg_item": [
                {"msgtype": "text", "text": {"content": "@RobotA 计量"}},
                {"msgtype": "image", "image": {"url": "http://127.0.0.1:9/x.png"}},
                {"msgtype": "text", "text": {"content": "怎么得分"}},
            ]
        },
    }
    answer = await server.post_bot(message)
    assert opened(await answer.read())["stream"]["content"] == "答：计量 怎么得分"


# --- fuzzing the signed path --------------------------------------------------------------

KEYS = [
    "msgid",
    "from",
    "userid",
    "chattype",
    "chatid",
    "msgtype",
    "text",
    "content",
    "voice",
    "mixed",
    "msg_item",
    "event",
    "eventtype",
    "response_url",
    "aibotid",
]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(
        ["text", "voice", "mixed", "event", "enter_chat", "group", "single", "\ud800"]
    )
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=24,
)
PART = st.fixed_dictionaries({}, optional={"msgtype": VALUES, "text": VALUES})
MESSAGES = st.fixed_dictionaries(
    {},
    optional={
        "msgid": VALUES,
        "from": st.fixed_dictionaries({"userid": VALUES}) | VALUES,
        "chattype": VALUES,
        "chatid": VALUES,
        "msgtype": st.sampled_from(["text", "voice", "mixed", "event"]) | VALUES,
        "text": st.fixed_dictionaries({"content": VALUES}) | VALUES,
        "voice": st.fixed_dictionaries({"content": VALUES}) | VALUES,
        "mixed": st.fixed_dictionaries({"msg_item": st.lists(PART | VALUES, max_size=3)}) | VALUES,
        "event": st.fixed_dictionaries({"eventtype": VALUES}) | VALUES,
        "response_url": VALUES,
    },
)


def test_random_signed_plaintexts_never_give_500(caplog: pytest.LogCaptureFixture) -> None:
    with asyncio.Runner() as runner, caplog.at_level(logging.INFO):
        running = runner.run(start_server())
        sent = iter(range(10**9))

        @settings(
            max_examples=200,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(MESSAGES | VALUES)
        def check(plain: Any) -> None:
            answer = runner.run(running.post_bot(json.dumps(plain), nonce=str(next(sent))))
            assert answer.status == (200 if isinstance(plain, dict) else 400)
            answer.release()

        try:
            check()
        finally:
            runner.run(running.close())
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert all(r.exc_info is None for r in caplog.records)


# --- 自建应用 XML ----------------------------------------------------------------------------

DTD = '<!DOCTYPE x [<!ENTITY a "{}">]><xml><Encrypt>&a;</Encrypt></xml>'
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><Encrypt>&c;</Encrypt></xml>'
)
HOSTILE_XML = {
    "utf-16 with a DTD": (
        '<?xml version="1.0" encoding="UTF-16"?>' + DTD.format("A" * 2000)
    ).encode("utf-16"),
    "utf-16 without a BOM": "<xml><Encrypt>abc</Encrypt></xml>".encode("utf-16-le"),
    "latin-1": "<xml><Encrypt>é</Encrypt></xml>".encode("latin-1"),
    "a DTD": DTD.format("b").encode(),
    "a doctype without entities": b"<!DOCTYPE xml><xml><Encrypt>abc</Encrypt></xml>",
    "entity expansion": LAUGHS.encode(),
    "an external entity": b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>',
    "deep nesting": b"<a>" * 100_000,
}


@pytest.mark.parametrize("body", HOSTILE_XML.values(), ids=HOSTILE_XML.keys())
async def test_hostile_app_xml_gets_400_before_any_decryption(
    server: Server, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    with caplog.at_level(logging.INFO):
        answer = await server.client.post("/wecom/app", params=APP_QUERY, data=body)
    assert answer.status == 400  # refused by the parser: a forged signature would be 403
    assert_one_quiet_warning(caplog, "wecom_app callback malformed")


async def test_signed_app_plaintext_with_a_dtd_gets_400(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    plain = DTD.format("b").replace("Encrypt", "Content")
    query, encrypted = sealed(WeChatCrypto(v.V1_TOKEN, v.V1_KEY, v.V1_CORP), plain, None, "3")
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
    with caplog.at_level(logging.INFO):
        answer = await server.client.post("/wecom/app", params=query, data=body)
    assert answer.status == 400
    assert_one_quiet_warning(caplog, "DTD")
    assert server.handler.received == []


# --- requests aiohttp itself refuses ------------------------------------------------------


@pytest.fixture
def json_logs(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """configure_logging as `qcbot serve` does, writing to a buffer; caplog still sees records."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    root.addHandler(caplog.handler)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


async def raw_exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes over a socket and read the whole answer (aiohttp closes after an error)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()


OVERSIZED = {
    "a 20 KB header line": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
    + b"a" * 20_000
    + b"\r\n\r\n",
    "a 10 KB URL": b"GET /wecom/bot?echostr=" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "a broken header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
    "a broken chunk": b"POST /wecom/bot HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"zz\r\nabc\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("request_bytes", OVERSIZED.values(), ids=OVERSIZED.keys())
async def test_requests_aiohttp_refuses_log_one_warning_without_traceback(
    server: Server,
    json_logs: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    request_bytes: bytes,
) -> None:
    port = server.client.server.port
    assert port is not None
    answer = await raw_exchange(port, request_bytes)
    assert answer.split(b" ", 2)[1] == b"400"  # aiohttp's own answer, unchanged
    (record,) = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert record.levelno == logging.WARNING and record.exc_info is None
    (line,) = [json.loads(s) for s in json_logs.getvalue().splitlines() if "aiohttp.server" in s]
    assert line["level"] == "warning" and line["event"] == "http_bad_request"
    assert "exc" not in line and "Traceback" not in json_logs.getvalue()
    assert len(json_logs.getvalue()) < 1000  # one short line, not the 20 KB header echoed back
    healthy = await server.client.get("/healthz")  # and the server goes on serving
    assert healthy.status == 200


async def test_a_body_that_does_not_decompress_gets_400_and_one_line(
    server: Server, json_logs: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    query = {"msg_signature": "0" * 40, "timestamp": str(int(time.time())), "nonce": "1"}
    headers = {"Content-Encoding": "gzip"}
    answer = await server.client.post("/wecom/bot", params=query, data=b"not gzip", headers=headers)
    assert answer.status == 400
    await answer.read()
    assert_one_quiet_warning(caplog, "Can not decode content-encoding")
    assert "Traceback" not in json_logs.getvalue()


def test_errors_that_are_ours_keep_their_traceback(json_logs: io.StringIO) -> None:
    try:
        raise RuntimeError("a bug in a handler")
    except RuntimeError:
        logging.getLogger("aiohttp.server").exception("Error handling request from %s", "1.2.3.4")
    (line,) = [json.loads(s) for s in json_logs.getvalue().splitlines()]
    assert line["level"] == "error" and "RuntimeError: a bug in a handler" in line["exc"]

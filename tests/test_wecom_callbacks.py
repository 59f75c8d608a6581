"""WeCom callbacks over real HTTP on 127.0.0.1; WeCom's side is played by wechatpy's crypto."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from wechatpy.enterprise.crypto import WeChatCrypto
from yarl import URL

from bot.config import Config
from bot.serve import Channels, build_channels, plan_channels, stop_channels, web_app
from handlers.core import Incoming, Reply
from tests import wecom_vectors as v
from tests.fake_wecom import FakeWeCom
from tests.fakes import Assessment, RecordingHandler, echo, eventually, settle

BOT_TOKEN = "botToken123"


@dataclass
class WeCom:
    """A running server with both callbacks, the fake API behind it and the recording handler."""

    client: TestClient[Any, Any]
    channels: Channels
    handler: RecordingHandler
    api: FakeWeCom
    base: str

    async def post_bot(
        self, plain: dict[str, Any] | str, timestamp: int | None = None, nonce: str = "1372623149"
    ) -> Any:
        query, encrypted = sealed(WeChatCrypto(BOT_TOKEN, v.V1_KEY, ""), plain, timestamp, nonce)
        return await self.client.post("/wecom/bot", params=query, json={"encrypt": encrypted})


def sealed(
    theirs: WeChatCrypto, plain: dict[str, Any] | str, timestamp: int | None, nonce: str
) -> tuple[dict[str, str], str]:
    """What WeCom would send: the signed query and the ciphertext (made by wechatpy)."""
    text = plain if isinstance(plain, str) else json.dumps(plain, ensure_ascii=False)
    stamp = str(timestamp or int(time.time()))
    fields = dict(
        re.findall(
            r"<(\w+)>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</\1>",
            theirs.encrypt_message(text, nonce, stamp),
        )
    )
    return {"msg_signature": fields["MsgSignature"], "timestamp": stamp, "nonce": nonce}, fields[
        "Encrypt"
    ]


def opened(body: bytes) -> dict[str, Any]:
    """Check our passive reply's signature and decrypt it with wechatpy."""
    reply = json.loads(body)
    envelope = f"<xml><Encrypt><![CDATA[{reply['encrypt']}]]></Encrypt></xml>"
    theirs = WeChatCrypto(BOT_TOKEN, v.V1_KEY, "")
    return dict(
        json.loads(
            theirs.decrypt_message(
                envelope, reply["msgsignature"], str(reply["timestamp"]), reply["nonce"]
            )
        )
    )


def group_text(
    content: str, msgid: str = "MSGID1", base: str = "", user: str = "USERID"
) -> dict[str, Any]:
    return {
        "msgid": msgid,
        "aibotid": "AIBOTID",
        "chatid": "CHATID",
        "chattype": "group",
        "from": {"userid": user},
        "response_url": f"{base}/cgi-bin/aibot/response?response_code=RC_{msgid}",
        "msgtype": "text",
        "text": {"content": content},
    }


Make = Callable[..., Awaitable[WeCom]]


@pytest.fixture
async def wecom() -> AsyncIterator[Make]:
    running: list[WeCom] = []

    async def make(
        respond: Callable[[Incoming], list[Reply]] = echo,
        delay: float = 0.0,
        clock: Callable[[], float] = time.time,
        **extra: Any,
    ) -> WeCom:
        api = FakeWeCom()
        base = await api.start()
        settings = {
            "wecom_bot_token": BOT_TOKEN,
            "wecom_bot_aes_key": v.V1_KEY,
            "wecom_corp_id": v.V1_CORP,
            "wecom_agent_id": "1000002",
            "wecom_secret": "app-secret",
            "wecom_token": v.V1_TOKEN,
            "wecom_aes_key": v.V1_KEY,
            "wecom_api_base": base,
            **extra,
        }
        config = Config.from_mapping(settings)
        handler = RecordingHandler(respond, delay)
        channels = build_channels(config, handler, plan_channels(config, wecom=True), clock=clock)
        client: TestClient[Any, Any] = TestClient(TestServer(web_app(channels), host="127.0.0.1"))
        await client.start_server()
        running.append(WeCom(client, channels, handler, api, base))
        return running[-1]

    yield make
    for item in running:
        await item.client.close()
        await stop_channels(item.channels)
        await item.api.close()


# --- URL verification ---------------------------------------------------------------------


async def test_url_verification_with_published_vectors(wecom: Make) -> None:
    bot = await wecom(
        clock=lambda: 1703041184, wecom_bot_token=v.V4_TOKEN, wecom_bot_aes_key=v.V4_KEY
    )
    answer = await bot.client.get(URL(f"/wecom/bot?{v.V4_QUERY}", encoded=True))
    assert answer.status == 200 and await answer.text() == v.V4_PLAIN

    app = await wecom(clock=lambda: 1476416373)
    answer = await app.client.get("/wecom/app", params=v.V1A)  # "+" and "/" travel URL-encoded
    assert answer.status == 200 and await answer.read() == v.V1A_PLAIN.encode()
    raw = "&".join(f"{k}={val}" for k, val in v.V1A.items())  # a literal "+" arrives as a space
    answer = await app.client.get(URL(f"/wecom/app?{raw}", encoded=True))
    assert await answer.text() == v.V1A_PLAIN


async def test_url_verification_rejects_a_forged_signature(wecom: Make) -> None:
    app = await wecom(clock=lambda: 1476416373)
    answer = await app.client.get("/wecom/app", params={**v.V1A, "msg_signature": "f" * 40})
    assert answer.status == 403


# --- 智能机器人 ------------------------------------------------------------------------------


async def test_group_mention_is_answered_passively(wecom: Make) -> None:
    bot = await wecom()
    answer = await bot.post_bot(group_text("@RobotA 计量怎么得分？"))
    assert answer.status == 200
    reply = opened(await answer.read())
    assert reply["msgtype"] == "stream" and reply["stream"]["finish"] is True
    assert reply["stream"]["content"] == "答：计量怎么得分？"
    (incoming,) = bot.handler.received
    assert (incoming.channel, incoming.chat_type, incoming.chat_id, incoming.user_id) == (
        "wecom_bot",
        "group",
        "CHATID",
        "USERID",
    )
    assert incoming.text == "计量怎么得分？" and incoming.mentioned


async def test_bot_name_is_stripped_anywhere_when_configured(wecom: Make) -> None:
    bot = await wecom(wecom_bot_name="质量助手")
    await bot.post_bot({**group_text("请问 @质量助手 标准化怎么评？"), "chattype": "single"})
    assert bot.handler.received[0].text == "请问 标准化怎么评？"
    assert (
        bot.handler.received[0].chat_type == "private"
        and bot.handler.received[0].chat_id == "USERID"
    )


async def test_forged_signature_is_rejected(wecom: Make) -> None:
    bot = await wecom()
    query, encrypted = sealed(
        WeChatCrypto("not-our-token", v.V1_KEY, ""), group_text("@RobotA 你好"), None, "1"
    )
    answer = await bot.client.post("/wecom/bot", params=query, json={"encrypt": encrypted})
    assert answer.status == 403 and bot.handler.received == []


async def test_replayed_message_is_answered_once(wecom: Make) -> None:
    bot = await wecom()
    message = group_text("@RobotA 你好", msgid="REPLAY1")
    query, encrypted = sealed(WeChatCrypto(BOT_TOKEN, v.V1_KEY, ""), message, None, "555")
    bodies = []
    for _ in range(3):  # WeCom retries up to three times
        answer = await bot.client.post("/wecom/bot", params=query, json={"encrypt": encrypted})
        assert answer.status == 200
        bodies.append(await answer.read())
    assert len(bot.handler.received) == 1
    assert bodies[0] == bodies[1] == bodies[2]  # the retry gets the same (single) answer


async def test_stale_timestamp_is_rejected(wecom: Make) -> None:
    bot = await wecom(wecom_callback_window=300)
    for skew in (-301, 400):
        answer = await bot.post_bot(
            group_text("@RobotA 你好", msgid=f"S{skew}"), timestamp=int(time.time()) + skew
        )
        assert answer.status == 403
    assert bot.handler.received == []


async def test_malformed_bodies_get_400_and_a_log_line(
    wecom: Make, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await wecom()
    query, not_json = sealed(WeChatCrypto(BOT_TOKEN, v.V1_KEY, ""), "这不是 JSON", None, "9")
    cases: list[tuple[dict[str, str], bytes]] = [
        (query, b"{not json"),
        (query, b"[1, 2]"),
        (query, b'{"encrypt": 5}'),
        ({"timestamp": query["timestamp"]}, b'{"encrypt": "x"}'),
        ({**query, "timestamp": "soon"}, b'{"encrypt": "x"}'),
        (query, json.dumps({"encrypt": not_json}).encode()),
    ]
    with caplog.at_level(logging.WARNING, logger="qcbot.wecom"):
        for params, body in cases:
            answer = await bot.client.post("/wecom/bot", params=params, data=body)
            assert answer.status == 400, body
    assert len([r for r in caplog.records if "malformed" in r.getMessage()]) == len(cases)
    assert bot.handler.received == []


async def test_slow_answer_goes_to_response_url(wecom: Make) -> None:
    bot = await wecom(delay=0.3, wecom_reply_budget_ms=50)
    answer = await bot.post_bot(group_text("@RobotA 慢问题", msgid="SLOW1", base=bot.base))
    assert answer.status == 200 and await answer.read() == b""
    await eventually(lambda: bool(bot.api.called("/cgi-bin/aibot/response")))
    call = bot.api.called("/cgi-bin/aibot/response")[0]
    assert call.query == {"response_code": "RC_SLOW1"}
    assert call.body == {"msgtype": "markdown", "markdown": {"content": "答：慢问题"}}


async def test_numbered_choices_turn_a_digit_into_a_press(wecom: Make) -> None:
    bot = await wecom(respond=Assessment())
    first = opened(await (await bot.post_bot(group_text("@RobotA /assess", msgid="A1"))).read())
    assert first["stream"]["content"].endswith("回复数字选择：1. 是 2. 否")
    second = opened(await (await bot.post_bot(group_text("@RobotA 1", msgid="A2"))).read())
    assert "第2题" in second["stream"]["content"]
    other_user = await bot.post_bot(group_text("@RobotA 1", msgid="A3", user="OTHER"))
    assert opened(await other_user.read())["stream"]["content"] == "答：1"
    presses = [(m.text, m.payload) for m in bot.handler.received]
    assert presses == [("/assess", None), ("是", "assess:q1:yes"), ("1", None)]


async def test_enter_chat_event_gets_a_text_welcome(wecom: Make) -> None:
    bot = await wecom(respond=lambda m: [Reply(text="你好，我是质量强县助手。")])
    event = {
        "msgid": "E1",
        "create_time": int(time.time()),
        "aibotid": "AIBOTID",
        "from": {"userid": "U1"},
        "msgtype": "event",
        "event": {"eventtype": "enter_chat"},
    }
    reply = opened(await (await bot.post_bot(event)).read())
    assert reply == {"msgtype": "text", "text": {"content": "你好，我是质量强县助手。"}}
    assert bot.handler.received[0].text == "/start"


# --- 自建应用 -------------------------------------------------------------------------------


async def test_app_message_is_answered_through_message_send(wecom: Make) -> None:
    app = await wecom(clock=lambda: int(v.V1B["timestamp"]))
    answer = await app.client.post("/wecom/app", params=v.V1B, data=v.V1B_BODY.encode())
    assert answer.status == 200 and await answer.read() == b""
    await eventually(lambda: bool(app.api.called("/cgi-bin/message/send")))
    (sent,) = app.api.called("/cgi-bin/message/send")
    assert sent.body == {
        "touser": "ChenJiaShun",
        "msgtype": "text",
        "agentid": 1000002,
        "text": {"content": "答：你好"},
    }
    (incoming,) = app.handler.received
    assert (incoming.channel, incoming.chat_type, incoming.message_id) == (
        "wecom_app",
        "private",
        "1456453720",
    )
    again = await app.client.post("/wecom/app", params=v.V1B, data=v.V1B_BODY.encode())
    assert again.status == 200
    await settle()
    assert len(app.handler.received) == 1 and len(app.api.called("/cgi-bin/message/send")) == 1


async def test_app_rejects_bad_xml_dtd_and_missing_encrypt(wecom: Make) -> None:
    app = await wecom(clock=lambda: int(v.V1B["timestamp"]))
    bodies = [
        b"<xml><Encrypt>",
        b'<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>',
        b"<xml><ToUserName>x</ToUserName></xml>",
    ]
    for body in bodies:
        answer = await app.client.post("/wecom/app", params=v.V1B, data=body)
        assert answer.status == 400
    assert app.handler.received == []


async def test_healthz_reports_channels(wecom: Make) -> None:
    bot = await wecom(wecom_webhook_key="hook-key")
    answer = await bot.client.get("/healthz")
    status = await answer.json()
    assert status["status"] == "ok" and status["channels"] == [
        "wecom_bot",
        "wecom_app",
        "wecom_webhook",
    ]
    assert status["webhook_queue"] == 0

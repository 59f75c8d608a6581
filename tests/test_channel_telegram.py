"""Telegram adapter against a fake Bot API server: the real python-telegram-bot polls it over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot.channels.telegram import SECRET_HEADER, TelegramChannel
from bot.config import Config
from handlers.core import FileAttachment, Reply
from tests.fake_telegram import BOT, TOKEN, FakeBotApi, message, press
from tests.fakes import LONG_PAYLOAD, Assessment, RecordingHandler, eventually, settle

BOT_NAME = "@" + str(BOT["username"])


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi()
    yield fake
    await fake.close()


async def running(api: FakeBotApi, handler: RecordingHandler, **extra: object) -> TelegramChannel:
    base = await api.start()
    config = Config.from_mapping(
        {"telegram_token": TOKEN, "telegram_base_url": base, "telegram_poll_timeout": 1, **extra}
    )
    channel = TelegramChannel(config, handler)
    await channel.start()
    return channel


async def test_group_question_needs_a_mention(api: FakeBotApi) -> None:
    handler = RecordingHandler()
    channel = await running(api, handler)
    try:
        api.push(message("计量怎么得分？"))
        api.push(message(f"{BOT_NAME} 计量怎么得分？"))
        await eventually(lambda: len(api.sent()) == 1)
        await settle()
    finally:
        await channel.stop()
    assert [m.text for m in handler.received] == ["计量怎么得分？"]
    incoming = handler.received[0]
    assert incoming.mentioned and incoming.chat_type == "group" and incoming.channel == "telegram"
    sent = api.sent()[0].params
    assert sent["text"] == "答：计量怎么得分？" and sent["parse_mode"] == "HTML"
    assert sent["reply_parameters"]["message_id"]  # answers quote the question in groups


async def test_reply_to_the_bot_and_commands_are_answered(api: FakeBotApi) -> None:
    handler = RecordingHandler()
    channel = await running(api, handler)
    try:
        api.push(message("那标准化呢？", reply_to_bot=True))
        api.push(message(f"/help{BOT_NAME}"))
        api.push(message("/help@other_bot"))
        await eventually(lambda: len(api.sent()) == 2)
        await settle()
    finally:
        await channel.stop()
    assert [m.text for m in handler.received] == ["那标准化呢？", "/help"]


async def test_private_chat_needs_no_mention_and_deep_link_starts_assessment(
    api: FakeBotApi,
) -> None:
    handler = RecordingHandler()
    channel = await running(api, handler)
    try:
        api.push(message("你好", chat_id=42))
        api.push(message("/start assess", chat_id=42))
        await eventually(lambda: len(api.sent()) == 2)
    finally:
        await channel.stop()
    assert [(m.text, m.chat_type) for m in handler.received] == [
        ("你好", "private"),
        ("/assess", "private"),
    ]


async def test_full_exchange_with_inline_keyboard(api: FakeBotApi) -> None:
    handler = RecordingHandler(Assessment())
    channel = await running(api, handler)
    try:
        api.push(message(f"/assess{BOT_NAME}"))
        await eventually(lambda: len(api.sent()) == 1)
        first = api.sent()[0]
        assert first.params["text"].startswith("<b>自评</b>\n第1题")
        api.push(press(first, "是"))
        await eventually(lambda: len(api.sent()) == 2)
        second = api.sent()[1]
        datas = [
            b["callback_data"]
            for row in second.params["reply_markup"]["inline_keyboard"]
            for b in row
        ]
        assert all(len(d.encode()) <= 64 for d in datas)
        api.push(press(second, "需要说明"))
        await eventually(lambda: len(api.sent()) == 3)
    finally:
        await channel.stop()
    assert [m.payload for m in handler.received] == [None, "assess:q1:yes", LONG_PAYLOAD]
    assert handler.received[1].text == "是"
    assert len(api.sent("answerCallbackQuery")) == 2
    assert (
        "自评完成" in api.sent()[2].params["text"] and "得分 5 分" in api.sent()[2].params["text"]
    )


async def test_duplicate_update_is_handled_once(api: FakeBotApi) -> None:
    handler = RecordingHandler()
    channel = await running(api, handler)
    try:
        update = api.push(message(f"{BOT_NAME} 质量强县有几个体系？"))
        api.push(dict(update))
        await eventually(lambda: len(api.sent()) >= 1)
        await settle(0.3)
    finally:
        await channel.stop()
    assert len(handler.received) == 1 and len(api.sent()) == 1


async def test_429_retry_after_is_honoured(api: FakeBotApi) -> None:
    handler = RecordingHandler()
    channel = await running(api, handler)
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    try:
        api.push(message("限流测试", chat_id=43))
        await eventually(lambda: len(api.sent()) == 2, timeout=8)
    finally:
        await channel.stop()
    first, second = api.sent()
    assert second.at - first.at >= 1.0
    assert second.params["text"] == "答：限流测试"


async def test_long_answer_is_split_under_4096_at_lines(api: FakeBotApi) -> None:
    lines = [f"第{i}条：{'计量、标准、认证认可、检验检测' * 3} & <细则>" for i in range(200)]
    handler = RecordingHandler(lambda m: [Reply(title="长回答", text="\n".join(lines))])
    channel = await running(api, handler)
    try:
        api.push(message("长回答", chat_id=44))
        await eventually(lambda: len(api.sent()) >= 3)
        await settle()
    finally:
        await channel.stop()
    texts = [c.params["text"] for c in api.sent()]
    assert len(texts) > 1 and all(len(t.encode("utf-16-le")) // 2 <= 4096 for t in texts)
    assert texts[0].startswith("<b>长回答</b>")
    body = "\n".join(texts).removeprefix("<b>长回答</b>\n")
    assert body == "\n".join(lines).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def test_files_go_as_document_and_photo(api: FakeBotApi, tmp_path: Path) -> None:
    sheet, chart = tmp_path / "自评表.xlsx", tmp_path / "chart.png"
    sheet.write_bytes(b"PK\x03\x04 fake xlsx")
    chart.write_bytes(b"\x89PNG fake")
    files = (FileAttachment(sheet, "document", "自评表"), FileAttachment(chart, "image"))
    handler = RecordingHandler(lambda m: [Reply(text="附件如下", files=files)])
    channel = await running(api, handler)
    try:
        api.push(message("导出", chat_id=45))
        await eventually(lambda: len(api.sent("sendPhoto")) == 1)
    finally:
        await channel.stop()
    document = api.sent("sendDocument")[0].params
    assert document["document"] == sheet.read_bytes() and document["document_name"] == "自评表.xlsx"
    assert api.sent("sendPhoto")[0].params["photo"] == chart.read_bytes()


async def test_private_reply_falls_back_to_deep_link(api: FakeBotApi) -> None:
    handler = RecordingHandler(lambda m: [Reply(text="第1题……", private=True)])
    channel = await running(api, handler)
    api.forbidden_chats.add("42")
    try:
        api.push(message(f"/assess{BOT_NAME}"))
        await eventually(lambda: len([c for c in api.sent() if c.params["chat_id"] == "-100"]) == 1)
    finally:
        await channel.stop()
    hint = [c for c in api.sent() if c.params["chat_id"] == "-100"][0].params
    button = hint["reply_markup"]["inline_keyboard"][-1][0]
    assert button["url"] == f"https://t.me/{BOT['username']}?start=assess"


async def test_webhook_checks_the_secret_and_dedupes(api: FakeBotApi) -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    handler = RecordingHandler()
    channel = await running(
        api,
        handler,
        telegram_mode="webhook",
        telegram_secret_token="s3cret-Token_1",
        telegram_webhook_url="https://bot.example.cn/telegram/abc123",
    )
    app = web.Application()
    app.router.add_post(channel.webhook_path, channel.webhook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = f"http://127.0.0.1:{server.port}/telegram/abc123"
    update = {"update_id": 7, **message(f"{BOT_NAME} 你好")}
    try:
        async with ClientSession() as http:
            bad = await http.post(url, json=update, headers={SECRET_HEADER: "wrong"})
            garbage = await http.post(
                url, data=b"{not json", headers={SECRET_HEADER: "s3cret-Token_1"}
            )
            for _ in range(2):
                ok = await http.post(url, json=update, headers={SECRET_HEADER: "s3cret-Token_1"})
                assert ok.status == 200
        await eventually(lambda: len(api.sent()) == 1)
        await settle()
    finally:
        await server.close()
        await channel.stop()
    assert bad.status == 403 and garbage.status == 400
    assert len(handler.received) == 1
    assert api.sent("setWebhook")[0].params["secret_token"] == "s3cret-Token_1"

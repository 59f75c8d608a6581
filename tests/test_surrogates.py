"""Text no encoder can hold (lone surrogates, NUL, controls) from one user never breaks another.

Issue #10 item 4: a `\\ud800` in one message made the write-behind batch raise, every user's
question-log and last-seen rows were lost and the next user's /remind got 抱歉，处理出错了.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st
from telegram import Update
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.channels.telegram import message_to_incoming
from bot.config import Config
from bot.serve import Channels, build_channels, plan_channels, stop_channels, web_app
from bot.storage import Actor, QuestionLogEntry, Storage
from handlers.core import KEY_LIMIT, TEXT_LIMIT, Incoming, clean_key, clean_text
from handlers.dispatch import ERROR_TEXT
from tests import wecom_vectors as v
from tests.fake_telegram import BOT
from tests.fake_telegram import message as telegram_message
from tests.messages import message, text_of
from tests.test_wecom_callbacks import BOT_TOKEN, group_text, opened, sealed

HOSTILE = "计量怎么得分\ud800？\udfff\x00"
ANY_CHARACTER = st.characters(exclude_categories=())  # surrogates and controls included


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


# --- the edge: every Incoming is clean, whichever channel built it ------------------------------


def test_lone_surrogates_nul_and_controls_are_cleaned_from_text() -> None:
    assert clean_text(HOSTILE) == "计量怎么得分\ufffd？\ufffd"
    assert clean_text("\ud83d\ude00") == "😀"  # a surrogate pair is the character it stands for
    assert clean_text("一\r\n二\r三\x0b四\x07五\u202e六\ufeff\t七\n") == "一\n二\n三 四五六\t七\n"
    assert len(clean_text("问" * 100_000)) == TEXT_LIMIT
    assert clean_text(None) == "" and clean_text(42) == "42"


def test_ids_and_payloads_are_escaped_so_different_ids_stay_different() -> None:
    assert clean_key("alice\x00") == "alice\\x00" != clean_key("alice")
    assert clean_key("u\ud800") == "u\\ud800" != clean_key("u\udfff")
    assert clean_key("a\nb") == "a\\nb" and clean_key("统计局") == "统计局"
    assert len(clean_key("x" * 10_000)) == KEY_LIMIT


def test_incoming_cleans_every_field_as_it_is_built() -> None:
    incoming = Incoming(
        "console\x00",
        "chat\ud800",
        "group",
        cast(str, 12345),
        user_name="张\udfff三\x00",
        text=HOSTILE,
        payload="p\ud800",
        message_id="m\x00",
    )
    assert (incoming.channel, incoming.chat_id, incoming.user_id) == (
        "console\\x00",
        "chat\\ud800",
        "12345",
    )
    assert (incoming.user_name, incoming.text) == ("张\ufffd三", "计量怎么得分\ufffd？\ufffd")
    assert (incoming.payload, incoming.message_id) == ("p\\ud800", "m\\x00")


@given(st.text(ANY_CHARACTER))
def test_any_text_comes_out_encodable_without_nul_and_stays_put(raw: str) -> None:
    text, key = clean_text(raw), clean_key(raw)
    for cleaned in (text, key):
        cleaned.encode("utf-8")  # never raises
        assert "\x00" not in cleaned and "\r" not in cleaned
    assert clean_text(text) == text and clean_key(key) == key


@given(
    st.text(ANY_CHARACTER.filter(lambda c: c != "\\"), max_size=20),
    st.text(ANY_CHARACTER.filter(lambda c: c != "\\"), max_size=20),
)
def test_distinct_ids_stay_distinct(one: str, other: str) -> None:
    assert (clean_key(one) == clean_key(other)) == (one == other)


# --- the real core and storage, through the console ---------------------------------------------


async def test_a_surrogate_from_one_user_does_not_break_another(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    evil = ConsoleChannel(app.handler, user="evil\ud800", out=io.StringIO())
    alice = ConsoleChannel(app.handler, user="alice", out=io.StringIO())
    assert "计量" in text_of(await evil.send(HOSTILE))
    assert "/bind" in text_of(await evil.send("/remind\x00"))
    await alice.send("/bind 统计局")
    assert "计量" in text_of(await alice.send("计量怎么得分？"))
    reminders = text_of(await alice.send("/remind"))  # reads the contacts: flushes the batch now
    assert reminders and ERROR_TEXT not in reminders
    assert not errors(caplog)

    logged = {row["user_id"]: row["question"] for row in await app.storage.questions()}
    assert logged == {"evil\\ud800": "计量怎么得分\ufffd？\ufffd", "alice": "计量怎么得分？"}
    seen = await app.storage.contacts()
    assert seen[("console", "evil\\ud800")].private_chat == "console-evil\\ud800"
    assert seen[("console", "alice")].private_chat == "console-alice"


async def test_a_hostile_button_payload_is_answered(app: App) -> None:
    for payload in ("x\ud800", "bind:\ud800\x00", "\udfff" * 10_000):
        replies = await app.handler.handle(message("1", user="evil", payload=payload))
        assert replies and ERROR_TEXT not in text_of(replies)


# --- the storage: one bad row in a batch never costs the others ---------------------------------


def entry(user: str, question: str) -> QuestionLogEntry:
    return QuestionLogEntry(
        "console", f"private-{user}", user, question, "question", "", (), False, "答"
    )


async def test_one_unwritable_row_leaves_the_rest_of_the_batch_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = await Storage.open(tmp_path / "q.db")
    try:
        await storage.log_question(entry("u1", "第一个问题"))
        await storage.log_question(entry("evil", "坏\ud800问题"))  # UTF-8 cannot hold it
        await storage.saw(Actor("console", "u1", "张三"), "private-u1", True)
        await storage.saw(Actor("console", "evil", cast(str, object())), "g", False)
        await storage.saw(Actor("console", "u2", "李四"), "group-1", False)
        await storage.log_question(entry("u2", "第二个问题"))
        seen = await storage.contacts()  # flushes the batch; must not raise
        logged = await storage.questions()
    finally:
        await storage.close()

    assert set(seen) == {("console", "u1"), ("console", "u2")}
    assert [row["question"] for row in logged] == ["第二个问题", "第一个问题"]
    lines = [r.getMessage() for r in errors(caplog)]
    assert len(lines) == 2 and all(r.exc_info is None for r in errors(caplog))
    assert any("question_log" in line and "UnicodeEncodeError" in line for line in lines)
    assert any("contacts" in line for line in lines)
    assert not any("坏" in line for line in lines)  # no user text


async def test_rows_deferred_after_a_bad_batch_are_written(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "q.db")
    try:
        await storage.log_question(entry("evil", "\udfff"))
        await storage.flush()
        await storage.log_question(entry("u1", "之后的问题"))
        assert [row["question"] for row in await storage.questions()] == ["之后的问题"]
    finally:
        await storage.close()


# --- the channels: their messages pass the same edge --------------------------------------------


@pytest.fixture
async def wecom_bot(app: App) -> AsyncIterator[TestClient[Any, Any]]:
    """The 智能机器人 callback in front of the real app (passive replies only)."""
    config = Config.from_mapping(
        {
            "wecom_bot_token": BOT_TOKEN,
            "wecom_bot_aes_key": v.V1_KEY,
            "wecom_corp_id": v.V1_CORP,
            "wecom_agent_id": "1000002",
            "wecom_secret": "app-secret",
            "wecom_token": v.V1_TOKEN,
            "wecom_aes_key": v.V1_KEY,
            "wecom_api_base": "http://127.0.0.1:9",  # never reached
            "wecom_reply_budget_ms": 60_000,  # passive replies only
        }
    )
    channels: Channels = build_channels(config, app.handler, plan_channels(config, wecom=True))
    client: TestClient[Any, Any] = TestClient(TestServer(web_app(channels), host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()
    await stop_channels(channels)


async def post_bot(client: TestClient[Any, Any], plain: dict[str, Any], nonce: str) -> str:
    text = json.dumps(plain)  # \ud800 stays a JSON escape, as a hostile sender would put it
    query, encrypted = sealed(WeChatCrypto(BOT_TOKEN, v.V1_KEY, ""), text, None, nonce)
    answer = await client.post("/wecom/bot", params=query, json={"encrypt": encrypted})
    assert answer.status == 200
    return str(opened(await answer.read())["stream"]["content"])


async def test_wecom_bot_message_with_surrogates_then_another_user(
    app: App, wecom_bot: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    hostile = group_text("@RobotA " + HOSTILE, msgid="M1", user="EVIL\udfff")
    assert "计量" in await post_bot(wecom_bot, hostile, "1")
    other = await post_bot(wecom_bot, group_text("@RobotA /remind", msgid="M2", user="ALICE"), "2")
    assert other and ERROR_TEXT not in other
    assert not errors(caplog)
    (logged,) = await app.storage.questions()
    assert logged["question"] == "计量怎么得分\ufffd？\ufffd" and "\udfff" not in logged["user_id"]
    assert ("wecom_bot", "ALICE") in await app.storage.contacts()


def test_telegram_message_with_surrogates_becomes_clean_incoming() -> None:
    data = {"update_id": 1, **telegram_message(HOSTILE, chat_id=42, name="张\ud800")}
    update = Update.de_json(data, None)
    assert update is not None and update.message is not None
    incoming = message_to_incoming(update.message, str(BOT["username"]), int(str(BOT["id"])))
    assert incoming is not None
    assert incoming.text == "计量怎么得分\ufffd？\ufffd" and incoming.user_name == "张\ufffd"

"""Outbound WeCom clients against a fake API server; time is a FakeClock, nothing really sleeps."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.channels.errors import WeComApiError
from bot.channels.wecom_api import WeComAppClient
from bot.channels.wecom_webhook import WeComWebhook
from handlers.core import Choice, FileAttachment, Reply
from tests.fake_wecom import FakeClock, FakeWeCom


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def api(clock: FakeClock) -> AsyncIterator[tuple[FakeWeCom, str, aiohttp.ClientSession]]:
    fake = FakeWeCom(clock=clock)
    base = await fake.start()
    async with aiohttp.ClientSession() as session:
        yield fake, base, session
    await fake.close()


def app_client(base: str, session: aiohttp.ClientSession, clock: FakeClock) -> WeComAppClient:
    return WeComAppClient(
        session, base, "ww1436e0e65a779aee", "app-secret", "1000002", clock=clock, sleep=clock.sleep
    )


# --- 自建应用 client ------------------------------------------------------------------------


async def test_token_is_cached_and_refreshed_after_42001(
    api: tuple[FakeWeCom, str, aiohttp.ClientSession], clock: FakeClock
) -> None:
    fake, base, session = api
    client = app_client(base, session, clock)
    await client.send_message("u1", "text", {"content": "一"})
    await client.send_message("u1", "text", {"content": "二"})
    assert len(fake.called("/cgi-bin/gettoken")) == 1
    fake.expire_next = 1
    await client.send_message("u1", "text", {"content": "三"})
    sends = fake.called("/cgi-bin/message/send")
    assert len(fake.called("/cgi-bin/gettoken")) == 2
    assert [c.query["access_token"] for c in sends] == ["ACCESS_TOKEN_1"] * 3 + ["ACCESS_TOKEN_2"]
    assert sends[-1].body["text"] == {"content": "三"}


async def test_token_refreshes_before_it_expires(
    api: tuple[FakeWeCom, str, aiohttp.ClientSession], clock: FakeClock
) -> None:
    fake, base, session = api
    client = app_client(base, session, clock)
    await client.token()
    clock.now += 7200 - 299
    assert await client.token() == "ACCESS_TOKEN_2"


async def test_busy_and_rate_limited_answers_back_off(
    api: tuple[FakeWeCom, str, aiohttp.ClientSession], clock: FakeClock
) -> None:
    fake, base, session = api
    client = app_client(base, session, clock)
    fake.script("/cgi-bin/message/send", 45009, -1)
    await client.send_message("u1", "text", {"content": "终于"})
    assert clock.sleeps == [1.0, 2.0]
    assert len(fake.called("/cgi-bin/message/send")) == 3


async def test_other_errors_raise_channel_errors(
    api: tuple[FakeWeCom, str, aiohttp.ClientSession], clock: FakeClock
) -> None:
    fake, base, session = api
    client = app_client(base, session, clock)
    fake.script("/cgi-bin/message/send", 81013)
    with pytest.raises(WeComApiError) as caught:
        await client.send_message("nobody", "text", {"content": "x"})
    assert caught.value.errcode == 81013
    bad = WeComAppClient(session, base, "ww1", "wrong-secret", "1", clock=clock, sleep=clock.sleep)
    with pytest.raises(WeComApiError):
        await bad.token()


async def test_reply_with_choices_and_file(
    api: tuple[FakeWeCom, str, aiohttp.ClientSession], clock: FakeClock, tmp_path: Path
) -> None:
    fake, base, session = api
    sheet = tmp_path / "自评表.xlsx"
    sheet.write_bytes(b"PK fake")
    reply = Reply(
        title="自评",
        text="第1题",
        choices=(Choice("是", "y"), Choice("否", "n")),
        files=(FileAttachment(sheet),),
    )
    await app_client(base, session, clock).send_reply("u1", reply)
    text, media = fake.called("/cgi-bin/message/send")
    assert text.body["text"]["content"] == "【自评】\n第1题\n回复数字选择：1. 是 2. 否"
    (upload,) = fake.called("/cgi-bin/media/upload")
    assert upload.query["type"] == "file" and upload.body["media"] == ("自评表.xlsx", b"PK fake")
    assert media.body == {
        "touser": "u1",
        "msgtype": "file",
        "agentid": 1000002,
        "file": {"media_id": "MEDIA_1"},
    }


async def test_long_text_is_split_at_2048_bytes(
    api: tuple[FakeWeCom, str, aiohttp.ClientSession], clock: FakeClock
) -> None:
    fake, base, session = api
    text = "\n".join(f"第{i}项：质量强县评价指标说明" for i in range(300))
    await app_client(base, session, clock).send_reply("u1", Reply(text=text))
    parts = [c.body["text"]["content"] for c in fake.called("/cgi-bin/message/send")]
    assert len(parts) > 1 and all(len(p.encode()) <= 2048 for p in parts)
    assert "\n".join(parts) == text


# --- 群机器人 webhook -----------------------------------------------------------------------


def webhook(base: str, session: aiohttp.ClientSession, clock: FakeClock) -> WeComWebhook:
    return WeComWebhook(session, base, "hook-key", per_minute=20, clock=clock, sleep=clock.sleep)


async def test_webhook_queue_sends_at_most_20_per_minute(
    api: tuple[FakeWeCom, str, aiohttp.ClientSession], clock: FakeClock
) -> None:
    fake, base, session = api
    hook = webhook(base, session, clock)
    start = clock.now
    for i in range(45):
        await hook.send(Reply(text=f"提醒 {i}"))
    assert await hook.close() == 0
    sends = fake.called("/cgi-bin/webhook/send")
    assert [c.body["markdown"]["content"] for c in sends] == [f"提醒 {i}" for i in range(45)]
    times = [c.at for c in sends]
    assert all(sum(1 for t in times if s <= t < s + 60) <= 20 for s in times)
    assert times[19] - start < 1 and times[20] - start >= 60 and times[40] - start >= 120
    assert sends[0].query == {"key": "hook-key"}


async def test_webhook_retries_45009_and_busy_with_backoff(
    api: tuple[FakeWeCom, str, aiohttp.ClientSession], clock: FakeClock
) -> None:
    fake, base, session = api
    hook = webhook(base, session, clock)
    fake.script("/cgi-bin/webhook/send", 45009, 45009, -1)
    await hook.send(Reply(text="月度提醒"))
    await hook.close()
    assert clock.sleeps == [10.0, 20.0, 4.0]
    assert len(fake.called("/cgi-bin/webhook/send")) == 4 and hook.failed == 0


async def test_webhook_gives_up_on_other_errors(
    api: tuple[FakeWeCom, str, aiohttp.ClientSession], clock: FakeClock
) -> None:
    fake, base, session = api
    hook = webhook(base, session, clock)
    fake.script("/cgi-bin/webhook/send", 44004)
    await hook.send(Reply(text="x"))
    await hook.send(Reply(text="y"))
    await hook.close()
    assert hook.failed == 1 and len(fake.called("/cgi-bin/webhook/send")) == 2


async def test_webhook_splits_long_markdown_and_sends_files(
    api: tuple[FakeWeCom, str, aiohttp.ClientSession], clock: FakeClock, tmp_path: Path
) -> None:
    fake, base, session = api
    chart, sheet = tmp_path / "c.png", tmp_path / "s.xlsx"
    chart.write_bytes(b"\x89PNG data")
    sheet.write_bytes(b"PK data")
    text = "\n".join(f"{i}. 各部门完成情况汇总（计量、标准、认证认可）" for i in range(200))
    hook = webhook(base, session, clock)
    await hook.send(
        Reply(
            title="周报", text=text, files=(FileAttachment(chart, "image"), FileAttachment(sheet))
        )
    )
    await hook.close()
    sends = [c.body for c in fake.called("/cgi-bin/webhook/send")]
    markdown = [s["markdown"]["content"] for s in sends if s["msgtype"] == "markdown"]
    assert len(markdown) > 1 and all(len(m.encode()) <= 4096 for m in markdown)
    assert markdown[0].startswith("**周报**\n0. ")
    image = sends[-2]["image"]
    assert (
        base64.b64decode(image["base64"]) == chart.read_bytes()
        and image["md5"] == hashlib.md5(chart.read_bytes()).hexdigest()
    )
    assert sends[-1] == {"msgtype": "file", "file": {"media_id": "MEDIA_1"}}

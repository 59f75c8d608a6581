"""Rendering and the adapters' bounded memory: splitting, escaping, numbered choices, payload ids."""

from __future__ import annotations

import html

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.memory import CallbackPayloads, ChoiceMemory, SeenIds
from bot.channels.render import (
    choice_line,
    split_lines,
    telegram_html,
    utf8_len,
    utf16_len,
    wecom_parts,
    wecom_single,
)
from handlers.core import Choice, Reply

lines_text = st.lists(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"),
        max_size=120,
    ),
    max_size=40,
).map("\n".join)


@given(lines_text, st.integers(min_value=8, max_value=300))
def test_split_keeps_every_character_within_the_limit(text: str, limit: int) -> None:
    parts = split_lines(text.split("\n"), limit, utf8_len)
    assert all(utf8_len(p) <= limit for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")


@given(lines_text)
def test_split_only_at_line_ends_when_lines_fit(text: str) -> None:
    lines = text.split("\n")
    limit = max([utf8_len(line) for line in lines] + [1])
    assert "\n".join(split_lines(lines, limit, utf8_len)) == text


@given(st.text(alphabet="<>&\"'计量ab\n😀", max_size=9000))
def test_telegram_parts_are_escaped_and_fit(text: str) -> None:
    parts = telegram_html(Reply(text=text, title="标题 <1>"), limit=4096)
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert parts[0].startswith("<b>标题 &lt;1&gt;</b>")
    assert html.unescape("".join(parts).removeprefix("<b>标题 &lt;1&gt;</b>")).replace(
        "\n", ""
    ) == text.replace("\n", "")


def test_wecom_rendering_numbers_the_choices() -> None:
    reply = Reply(
        title="自评",
        text="第1题：是否成立领导小组？",
        choices=(Choice("是", "y"), Choice("否", "n")),
    )
    assert choice_line(reply.choices) == "回复数字选择：1. 是 2. 否"
    assert wecom_parts(reply, 2048) == [
        "【自评】\n第1题：是否成立领导小组？\n回复数字选择：1. 是 2. 否"
    ]
    assert wecom_parts(reply, 4096, markdown=True)[0].startswith("**自评**\n")
    long = wecom_single([Reply(text="长" * 10_000)], limit=20480)
    assert utf8_len(long) <= 20480 and long.endswith("（内容过长，已截断）")


def test_choice_memory_resolves_digits_per_chat_and_user() -> None:
    memory = ChoiceMemory(maxsize=2)
    memory.remember("g1", "u1", (Choice("是", "y"), Choice("否", "n")))
    assert memory.resolve("g1", "u1", "２。") == Choice("否", "n")
    assert memory.resolve("g1", "u2", "1") is None and memory.resolve("g1", "u1", "3") is None
    assert memory.resolve("g1", "u1", "1个") is None
    memory.remember("g1", "u1", ())
    assert memory.resolve("g1", "u1", "1") is None
    for user in ("a", "b", "c"):
        memory.remember("g", user, (Choice("x", "x"),))
    assert memory.resolve("g", "a", "1") is None  # bounded: the oldest is forgotten


def test_long_callback_payloads_travel_as_short_ids() -> None:
    payloads = CallbackPayloads(maxsize=10)
    assert payloads.encode("assess:q1:yes") == "assess:q1:yes"
    long = "assess:" + "说明" * 30
    data = payloads.encode(long)
    assert len(data.encode()) <= 64 and payloads.decode(data) == long
    assert payloads.decode(payloads.encode("~looks-like-an-id")) == "~looks-like-an-id"
    assert payloads.decode("~0000000000000000") is None


def test_seen_ids_are_bounded() -> None:
    seen: SeenIds[int] = SeenIds(maxsize=3)
    assert [seen.first(i) for i in (1, 2, 1, 3, 4)] == [True, True, False, True, True]
    assert len(seen) == 3 and seen.first(2) is True  # 2 was the least recently seen

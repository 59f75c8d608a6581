"""Reply → platform text: Telegram HTML with inline keyboards, WeCom text/markdown with numbered choices.

Long texts are split at line boundaries so that every part fits the platform's limit, measured
the way the platform measures it (Telegram: UTF-16 units of the sent HTML; WeCom: UTF-8 bytes).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.core import Choice, Reply

TELEGRAM_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024
WECOM_TEXT_LIMIT = 2048  # 自建应用 text / markdown (bytes)
WECOM_WEBHOOK_LIMIT = 4096  # 群机器人 markdown (bytes)
WECOM_STREAM_LIMIT = 20480  # 智能机器人 stream / response_url markdown (bytes)
CHOICE_PROMPT = "回复数字选择："
EMPTY_WITH_CHOICES = "请选择："

Measure = Callable[[str], int]
Render = Callable[[str], str]


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def utf8_len(text: str) -> int:
    """Length as WeCom counts it (UTF-8 bytes)."""
    return len(text.encode("utf-8"))


def split_lines(
    lines: Sequence[str], limit: int, measure: Measure, render: Render = str
) -> list[str]:
    """Render raw lines and pack them, joined by newlines, into parts of at most `limit`."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        for piece in _fit(line, limit, measure, render):
            extra = measure(piece) + (1 if current else 0)
            if current and size + extra > limit:
                parts.append("\n".join(current))
                current, size = [], 0
                extra = measure(piece)
            current.append(piece)
            size += extra
    if current:
        parts.append("\n".join(current))
    return parts


def _fit(line: str, limit: int, measure: Measure, render: Render) -> Iterator[str]:
    """One rendered line, or several pieces of it when it is longer than the limit."""
    rendered = render(line)
    if measure(rendered) <= limit:
        yield rendered
        return
    piece, size = "", 0
    for char in line:
        width = measure(render(char))
        if size + width > limit:
            yield render(piece)
            piece, size = "", 0
        piece += char
        size += width
    if piece:
        yield render(piece)


# --- Telegram -----------------------------------------------------------------------------


def telegram_html(reply: Reply, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """The reply as HTML message texts (parse_mode HTML), title in <b>, each within `limit`."""
    lines = reply.text.split("\n") if reply.text else []
    if not lines and not reply.title and reply.choices:
        lines = [EMPTY_WITH_CHOICES]
    parts = split_lines(lines, limit, utf16_len, html.escape) if lines else []
    if reply.title:
        title = f"<b>{html.escape(reply.title)}</b>"
        if parts and utf16_len(title) + 1 + utf16_len(parts[0]) <= limit:
            parts[0] = f"{title}\n{parts[0]}"
        else:
            parts.insert(0, title)
    return parts


def telegram_keyboard(
    choices: Sequence[Choice], encode: Callable[[str], str]
) -> InlineKeyboardMarkup | None:
    """Inline buttons for the choices; short labels share a row, long ones get their own."""
    if not choices:
        return None
    per_row = 3 if all(len(c.label) <= 6 for c in choices) else 1
    buttons = [InlineKeyboardButton(c.label, callback_data=encode(c.payload)) for c in choices]
    return InlineKeyboardMarkup([buttons[i : i + per_row] for i in range(0, len(buttons), per_row)])


def telegram_caption(caption: str) -> str:
    """A file caption as HTML, cut to Telegram's caption limit."""
    text = (
        caption
        if utf16_len(caption) <= TELEGRAM_CAPTION_LIMIT
        else caption[: TELEGRAM_CAPTION_LIMIT - 1] + "…"
    )
    return html.escape(text)


# --- WeCom --------------------------------------------------------------------------------


def choice_line(choices: Sequence[Choice]) -> str:
    """ "回复数字选择：1. 是 2. 否" for channels without buttons."""
    return CHOICE_PROMPT + " ".join(f"{i}. {c.label}" for i, c in enumerate(choices, 1))


def wecom_lines(reply: Reply, markdown: bool) -> list[str]:
    """The reply as plain lines: title, text, then the numbered choices."""
    lines: list[str] = []
    if reply.title:
        lines.append(f"**{reply.title}**" if markdown else f"【{reply.title}】")
    if reply.text:
        lines.extend(reply.text.split("\n"))
    if reply.choices:
        lines.append(choice_line(reply.choices))
    return lines


def wecom_parts(reply: Reply, limit: int, markdown: bool = False) -> list[str]:
    """The reply as WeCom text or markdown parts, each at most `limit` UTF-8 bytes."""
    return split_lines(wecom_lines(reply, markdown), limit, utf8_len)


def wecom_single(replies: Sequence[Reply], limit: int = WECOM_STREAM_LIMIT) -> str:
    """Several replies as one markdown message (智能机器人 answers once), truncated to `limit`."""
    text = "\n\n".join("\n".join(wecom_lines(r, markdown=True)) for r in replies if _has_text(r))
    if utf8_len(text) <= limit:
        return text
    note = "\n……（内容过长，已截断）"
    cut = text.encode("utf-8")[: limit - utf8_len(note)].decode("utf-8", "ignore")
    return cut + note


def _has_text(reply: Reply) -> bool:
    return bool(reply.text or reply.title or reply.choices)

"""The console channel: a chat in the terminal, or a script of messages piped in, one per line.

Numbered choices stand in for buttons: typing "1" presses the first button of the last reply.
With `group=True` the chat is a group: lines starting with @qcbot or / are addressed to the bot.
`/upload PATH [说明]` sends a local file as if attached in a chat (说明 is its caption).
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from handlers.core import Attachment, Choice, Handler, Incoming, Reply

CHANNEL = "console"
BOT_NAME = "qcbot"
PROMPT = "你> "
BANNER = "质量强县助手（终端）。发送 /help 查看命令，/upload 文件路径 提交材料，Ctrl-D 退出。"
UPLOAD = "/upload"


class ConsoleChannel:
    """Turns lines into Incoming messages and prints the replies."""

    def __init__(
        self,
        handler: Handler,
        *,
        user: str = "console",
        group: bool = False,
        out: TextIO,
        interactive: bool = False,
    ) -> None:
        self.handler = handler
        self.user = user
        self.group = group
        self.out = out
        self.interactive = interactive
        self.choices: tuple[Choice, ...] = ()
        self._count = 0

    def incoming(self, line: str) -> Incoming:
        """The message a typed line stands for (a number picks a choice of the last reply)."""
        text = line.strip()
        mentioned = not self.group
        if self.group and text.startswith("@" + BOT_NAME):
            text, mentioned = text[len(BOT_NAME) + 1 :].strip(), True
        elif self.group and text.startswith("/"):
            mentioned = True
        self._count += 1
        attachment, text = _upload(text)
        payload = None if attachment else self._payload(text)
        return Incoming(
            channel=CHANNEL,
            chat_id=f"{CHANNEL}-group" if self.group else f"{CHANNEL}-{self.user}",
            chat_type="group" if self.group else "private",
            user_id=self.user,
            user_name=self.user,
            text=text,
            payload=payload,
            message_id=str(self._count),
            mentioned=mentioned or payload is not None or attachment is not None,
            attachment=attachment,
        )

    def _payload(self, text: str) -> str | None:
        if text.isdigit() and 1 <= int(text) <= len(self.choices):
            return self.choices[int(text) - 1].payload
        return None

    def render(self, replies: Sequence[Reply]) -> str:
        """Replies as text, each choice numbered."""
        blocks = []
        for reply in replies:
            lines = [reply.title] if reply.title else []
            lines.append(reply.text)
            if reply.choices:
                lines.append("  ".join(f"[{n}] {c.label}" for n, c in enumerate(reply.choices, 1)))
            lines += [f"（文件：{f.path}）" for f in reply.files]
            blocks.append("\n".join(line for line in lines if line))
        return "\n\n".join(blocks)

    async def send(self, line: str) -> list[Reply]:
        """Handle one line; print and return the replies."""
        if not line.strip():
            return []
        message = self.incoming(line)
        if message.attachment is not None and not _readable(message.attachment):
            print(f"找不到文件：{message.attachment.path}\n", file=self.out, flush=True)
            return []
        replies = await self.handler.handle(message)
        with_choices = [r for r in replies if r.choices]
        self.choices = with_choices[-1].choices if with_choices else ()
        if replies:
            print(self.render(replies), file=self.out, flush=True)
            print(file=self.out, flush=True)
        return replies

    async def run(self, source: TextIO) -> None:
        """Read lines until end of input; prompts only when a person is typing."""
        if self.interactive:
            print(BANNER, file=self.out, flush=True)
        lines = _reader(source)
        while True:
            if self.interactive:
                print(PROMPT, end="", file=self.out, flush=True)
            line = await lines.get()
            if line is None:
                break
            await self.send(line)


def _upload(text: str) -> tuple[Attachment | None, str]:
    """`/upload PATH [caption]` → the attachment and its caption; any other line unchanged."""
    head, _, rest = text.partition(" ")
    if head != UPLOAD:
        return None, text
    try:
        parts = shlex.split(rest)
    except ValueError:
        parts = rest.split()
    if not parts:
        return None, text
    path = Path(parts[0]).expanduser()
    size = path.stat().st_size if path.is_file() else None
    return Attachment(name=path.name, size=size, media_type="file", path=path), " ".join(parts[1:])


def _readable(attachment: Attachment) -> bool:
    return attachment.path is not None and attachment.path.is_file()


def _reader(source: TextIO) -> asyncio.Queue[str | None]:
    """Lines of the source from a daemon thread (a blocked read never holds up Ctrl-C); None at the end."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        try:
            for line in iter(source.readline, ""):
                loop.call_soon_threadsafe(queue.put_nowait, line)
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=read, name="console-stdin", daemon=True).start()
    return queue

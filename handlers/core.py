"""The channel-neutral core types: what comes in from a chat and what goes back out.

No channel library type crosses this boundary: Telegram, WeCom and the console translate
their updates into `Incoming` and render `Reply` objects their own way.

`Incoming` is also the one place untrusted text is made safe: whichever channel builds it, its
fields come out holding only what UTF-8, SQLite, logs and the chat platforms can carry.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

ChatType = Literal["private", "group"]

# Telegram's own limit for one message; WeCom's is lower (2048 bytes), so no real message is cut.
# Only a pasted console line or a forged request is longer, and the librarian's cost grows with it.
TEXT_LIMIT = 4096
# ids, names and button payloads: WeCom userid ≤ 64 bytes, chatid ≤ 32, Telegram names ≤ 129
# characters, our payloads well under 100; longer is forged.
KEY_LIMIT = 256
# C0/C1 controls but tab and newline (CR is turned into a newline first), DEL, the byte-order mark and the
# bidirectional overrides (they reorder how a name or answer is displayed in reports and logs)
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff"
_SURROGATES = "\ud800-\udfff"
_TEXT_UNSAFE = re.compile(f"[{_UNSAFE}{_SURROGATES}\r]")
_KEY_UNSAFE = re.compile(f"[{_UNSAFE}{_SURROGATES}\\t\\n\\r]")
_CONTROL = re.compile(f"[{_UNSAFE}]")


def clean_text(value: object, limit: int = TEXT_LIMIT) -> str:
    r"""Text people wrote, safe to store and show: no lone surrogate, NUL or control character, bounded.

    A lone surrogate becomes U+FFFD (a surrogate pair becomes the character it stands for), \r\n
    and \r become \n, NUL and other controls are dropped (whitespace ones become a space).
    """
    text = value if isinstance(value, str) else "" if value is None else str(value)
    if _TEXT_UNSAFE.search(text) is not None:
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = _CONTROL.sub(lambda m: " " if m.group().isspace() else "", text)
    return text[:limit]


def clean_key(value: object, limit: int = KEY_LIMIT) -> str:
    r"""An id or payload, safe to store: unsafe characters escaped (\x00, \ud800, \n), bounded.

    Escaped rather than dropped, so that two different ids never become one ("alice\x00" must
    not become "alice").
    """
    key = value if isinstance(value, str) else "" if value is None else str(value)
    if _KEY_UNSAFE.search(key) is not None:
        key = _KEY_UNSAFE.sub(lambda m: ascii(m.group())[1:-1], key)
    return key[:limit]


Chunks = Callable[[], AsyncIterator[bytes]]


class AttachmentUnavailable(Exception):
    """A channel could not fetch an attachment's bytes (expired link, truncated, bad crypto)."""


@dataclass(frozen=True)
class Attachment:
    """A file or photo a user sent: what the channel declares, and how to get its bytes.

    Exactly one of `fetch` (an async iterator of byte chunks, so the size limit is checked as the
    bytes arrive and nothing is held whole) or `path` (a local file: the console) is set. `name`,
    `size` and `media_type` are the sender's claims; the intake trusts none of them.
    """

    name: str
    size: int | None = None  # declared size in bytes, None when the channel does not say
    media_type: str = ""  # declared type (mime or the channel's kind: "image", "file")
    fetch: Chunks | None = None
    path: Path | None = None

    def __post_init__(self) -> None:
        """Bound the declared name (the intake neutralises it further)."""
        object.__setattr__(self, "name", clean_text(self.name, KEY_LIMIT))
        object.__setattr__(self, "media_type", clean_key(self.media_type, 100))

    async def chunks(self, size: int = 64 * 1024) -> AsyncIterator[bytes]:
        """The file's bytes, chunk by chunk, from the channel or the local path."""
        if self.fetch is not None:
            async for chunk in self.fetch():
                yield chunk
        elif self.path is not None:
            with self.path.open("rb") as handle:
                while chunk := handle.read(size):
                    yield chunk
        else:
            raise AttachmentUnavailable("no way to fetch the attachment")


@dataclass(frozen=True)
class Incoming:
    """One message (or button press) from a user, as every channel reports it."""

    channel: str  # console | telegram | wecom_bot | wecom_app
    chat_id: str
    chat_type: ChatType
    user_id: str
    user_name: str = ""
    text: str = ""
    payload: str | None = None  # a pressed button's data, when the message is a press
    message_id: str = ""  # the channel's id for de-duplication, where it has one
    mentioned: bool = False  # the bot was @-mentioned or replied to (groups)
    attachment: Attachment | None = field(default=None, compare=False)  # a file or photo sent
    bot: str = ""  # the receiving bot where the payload names it: 自建应用 AgentID, aibotid, Telegram username

    def __post_init__(self) -> None:
        """Make every field safe as it enters the core (see `clean_text`, `clean_key`)."""
        for name in ("channel", "chat_id", "user_id", "message_id", "bot"):
            object.__setattr__(self, name, clean_key(getattr(self, name)))
        object.__setattr__(self, "user_name", clean_text(self.user_name, KEY_LIMIT))
        object.__setattr__(self, "text", clean_text(self.text))
        if self.payload is not None:
            object.__setattr__(self, "payload", clean_key(self.payload))


@dataclass(frozen=True)
class Choice:
    """A button: the label people see and the payload that comes back when pressed."""

    label: str
    payload: str


@dataclass(frozen=True)
class FileAttachment:
    """A file to send: a document (xlsx) or an image (png)."""

    path: Path
    kind: Literal["document", "image"] = "document"
    caption: str = ""


@dataclass(frozen=True)
class Reply:
    """One outgoing message: text (plain, channel renders it), optional buttons and files."""

    text: str = ""
    choices: tuple[Choice, ...] = ()
    files: tuple[FileAttachment, ...] = ()
    private: bool = False  # deliver to the user privately rather than to the group
    title: str = ""  # optional heading a channel may render in bold
    to_chat: str | None = None  # send to another chat (reminders, digests); None = reply in place
    meta: dict[str, str] = field(default_factory=dict, compare=False)


class Handler(Protocol):
    """The one entry point every channel calls."""

    async def handle(self, message: Incoming) -> list[Reply]:
        """Turn one incoming message into the replies to send."""
        ...

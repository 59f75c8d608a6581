"""The channel-neutral core types: what comes in from a chat and what goes back out.

No channel library type crosses this boundary: Telegram, WeCom and the console translate
their updates into `Incoming` and render `Reply` objects their own way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

ChatType = Literal["private", "group"]


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

    @property
    def is_button(self) -> bool:
        return self.payload is not None


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

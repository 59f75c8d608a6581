"""The one message factory for tests: Incoming messages and people chatting with a Handler."""

from __future__ import annotations

from dataclasses import dataclass, field

from handlers.core import ChatType, Handler, Incoming, Reply

CHANNEL = "console"
GROUP = "group-1"


def message(
    text: str = "",
    *,
    user: str = "u1",
    name: str = "张三",
    chat: str | None = None,
    chat_type: ChatType = "private",
    mentioned: bool | None = None,
    payload: str | None = None,
    channel: str = CHANNEL,
) -> Incoming:
    """One Incoming message; private chats are per user, groups mentioned unless told otherwise."""
    chat_id = chat or (f"private-{user}" if chat_type == "private" else GROUP)
    return Incoming(
        channel=channel,
        chat_id=chat_id,
        chat_type=chat_type,
        user_id=user,
        user_name=name,
        text=text,
        payload=payload,
        mentioned=(chat_type == "group") if mentioned is None else mentioned,
    )


def text_of(replies: list[Reply]) -> str:
    """All reply texts joined, for assertions."""
    return "\n".join(reply.text for reply in replies)


@dataclass
class Person:
    """Someone talking to the handler in one chat; remembers the last replies."""

    handler: Handler
    user: str = "u1"
    name: str = "张三"
    chat_type: ChatType = "private"
    chat: str | None = None
    last: list[Reply] = field(default_factory=list)

    async def say(self, text: str, mentioned: bool | None = None) -> str:
        """Send text; return the reply texts joined."""
        incoming = message(
            text, user=self.user, name=self.name, chat=self.chat,
            chat_type=self.chat_type, mentioned=mentioned,
        )
        self.last = await self.handler.handle(incoming)
        return text_of(self.last)

    async def press(self, label: str) -> str:
        """Press the button with this label in the last replies."""
        choice = next(c for r in self.last for c in r.choices if c.label == label)
        incoming = message(
            label, user=self.user, name=self.name, chat=self.chat,
            chat_type=self.chat_type, payload=choice.payload,
        )
        self.last = await self.handler.handle(incoming)
        return text_of(self.last)

    def in_private(self) -> Person:
        """The same user in a private chat with the bot."""
        return Person(self.handler, self.user, self.name, "private")

    @property
    def labels(self) -> list[str]:
        """The button labels of the last replies."""
        return [c.label for r in self.last for c in r.choices]

"""Indicator questions: the librarian answers, every answered question is logged."""

from __future__ import annotations

from handlers.core import Choice, Incoming, Reply
from handlers.services import Services
from handlers.store import QuestionLogEntry
from knowledge.dialogue import converse, mentions_own_department, pending_choice
from knowledge.qa import Answer

ASK_USAGE = "请在 /ask 后面写问题，例如：/ask 计量怎么得分？"
CHOICE_PAYLOAD = "q:"  # a button answering 您是不是想问 1… 2… 3…
ABSTAINED = "abstained"  # Reply.meta key on a 没找到 reply (counted for /metrics by bot/app.py)


async def answer(services: Services, message: Incoming, question: str) -> Answer:
    """Answer in the sender's conversation (follow-ups, their bound department) and log it."""
    key = (message.channel, message.chat_id, message.user_id)
    now = services.now().timestamp()
    department = None
    if mentions_own_department(question):
        liaison = await services.storage.liaison(message.channel, message.user_id, services.plan.id)
        department = liaison.department if liaison else None
    context = await services.conversations.get(key, now)
    result, context = converse(services.librarian, question, context, services.plan.id, department, now)
    services.conversations.put(key, context)
    await log(services, message, result)
    return result


async def choice_pending(services: Services, message: Incoming) -> bool:
    """True when the message is a number answering the choices the sender was last offered."""
    now = services.now().timestamp()
    context = await services.conversations.get((message.channel, message.chat_id, message.user_id), now)
    return pending_choice(context, message.text, now)


async def on_choice(services: Services, message: Incoming, payload: str) -> list[Reply]:
    """A choice button ("q:<n>") was pressed: the same as replying with the number."""
    return await on_question(services, message, payload.removeprefix(CHOICE_PAYLOAD))


async def log(services: Services, message: Incoming, result: Answer) -> None:
    """Record a question and the librarian's answer in the question log."""
    await services.storage.log_question(
        QuestionLogEntry(
            channel=message.channel,
            chat_id=message.chat_id,
            user_id=message.user_id,
            question=result.question,
            kind=result.kind,
            intent=result.intent,
            hits=tuple(f"{ind.framework}:{ind.id}" for ind, _ in result.hits),
            abstained=result.abstained,
            answer=result.text,
        )
    )


async def on_question(services: Services, message: Incoming, question: str) -> list[Reply]:
    """Reply to an indicator question."""
    if not question.strip():
        return [Reply(ASK_USAGE)]
    result = await answer(services, message, question)
    choices = tuple(
        Choice(f"{n}. {ind.editorial.short or ind.name[:16]}", f"{CHOICE_PAYLOAD}{n}")
        for n, ind in enumerate(result.choices, 1)
    )
    return [Reply(result.text, choices=choices, meta={ABSTAINED: "1"} if result.abstained else {})]

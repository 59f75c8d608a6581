"""Indicator questions: the librarian answers, every answered question is logged."""

from __future__ import annotations

from handlers.core import Incoming, Reply
from handlers.services import Services
from handlers.store import QuestionLogEntry
from knowledge.qa import Answer

ABSTAINED = "abstained"  # Reply.meta key on a 没找到 reply (counted for /metrics by bot/app.py)
ASK_USAGE = "请在 /ask 后面写问题，例如：/ask 计量怎么得分？"


async def answer(services: Services, message: Incoming, question: str) -> Answer:
    """Ask the librarian and log the question with what it answered."""
    result = await services.ask(question)
    await log(services, message, result)
    return result


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
    return [Reply(result.text, meta={ABSTAINED: "1"} if result.abstained else {})]

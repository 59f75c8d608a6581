"""What the flows share: the knowledge base, the deployed plan, the librarian and storage."""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from bot.storage import Actor, Storage
from handlers.core import Incoming
from knowledge.assignment import answerable
from knowledge.departments import DepartmentIndex
from knowledge.model import Framework, Indicator, KnowledgeBase, Plan
from knowledge.qa import Answer, Librarian
from knowledge.responsibility import Responsibility
from scoring.questionnaire import Question, questions_for

IsAdmin = Callable[[str, str], bool]


@dataclass
class Services:
    """Everything a flow may use; built once in bot/app.py."""

    kb: KnowledgeBase
    plan: Plan
    librarian: Librarian
    storage: Storage
    is_admin: IsAdmin = field(default=lambda channel, user_id: False)
    today: Callable[[], date] = date.today
    framework: Framework = field(init=False)
    responsibility: Responsibility = field(init=False)
    departments: DepartmentIndex = field(init=False)
    _questions: dict[str, tuple[Question, ...]] = field(init=False, default_factory=dict)
    _ask_lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.framework = self.kb.framework(self.plan.framework)
        self.responsibility = Responsibility(self.kb, self.plan)
        self.departments = DepartmentIndex(self.kb.departments)

    def indicators(self, department: str) -> list[Indicator]:
        """The indicators the department self-assesses in the plan."""
        return answerable(self.responsibility, department)

    def questions(self, department: str) -> tuple[Question, ...]:
        """The department's self-assessment questions (computed once per department)."""
        if department not in self._questions:
            self._questions[department] = questions_for(self.framework, self.indicators(department))
        return self._questions[department]

    async def ask(self, question: str) -> Answer:
        """The librarian's answer in the deployed plan, computed off the event loop."""
        async with self._ask_lock:
            return await asyncio.to_thread(self.librarian.ask, question, self.plan.id)


def actor(message: Incoming) -> Actor:
    """Who sent the message."""
    return Actor(message.channel, message.user_id, message.user_name)


def normalize(text: str) -> str:
    """NFKC, stripped, without trailing punctuation: what commands and words are matched on."""
    return unicodedata.normalize("NFKC", text).strip().rstrip("。.!！~～").strip()

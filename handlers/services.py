"""What the flows share: the knowledge base, the deployed plan, the librarian and storage."""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from handlers.core import Incoming, Reply
from handlers.dialogues import Conversations
from handlers.reminders.calendar import WorkingTime
from handlers.reminders.schedule import Rules
from handlers.store import Actor, Store
from knowledge.assignment import answerable
from knowledge.deadlines import plan_deadlines, rolled
from knowledge.departments import DepartmentIndex
from knowledge.model import Deadline, Framework, Indicator, KnowledgeBase, Plan
from knowledge.qa import Answer, Librarian
from knowledge.responsibility import Responsibility
from scoring.questionnaire import Question, questions_for

IsAdmin = Callable[[str, str], bool]
CountyCommand = Callable[["Services | None", Incoming, str], Awaitable[list[Reply]]]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def utc_now() -> datetime:
    """The current moment (timezone-aware)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Region:
    """The city or province over the deployment's counties: its admins and every county's services."""

    is_admin: IsAdmin = field(default=lambda channel, user_id: False)
    counties: Callable[[], Sequence[Services]] = field(default=tuple)
    county_command: CountyCommand | None = None  # /county (handlers/tenants.py); None: one county


@dataclass
class Services:
    """Everything a flow may use in one county; built in bot/app.py (one per county)."""

    kb: KnowledgeBase
    plan: Plan
    librarian: Librarian
    storage: Store
    is_admin: IsAdmin = field(default=lambda channel, user_id: False)
    today: Callable[[], date] = date.today
    now: Callable[[], datetime] = utc_now
    rules: Rules = field(default_factory=lambda: Rules(WorkingTime(SHANGHAI)))
    export_dir: Path = Path("qcbot-exports")
    campaign_year: int | None = None
    evidence_max_bytes: int = 20 * 1024 * 1024  # the largest evidence file accepted
    conversations: Conversations = field(default_factory=Conversations)
    region: Region = field(default_factory=Region)  # the counties beside this one (/progress 全部)
    framework: Framework = field(init=False)
    responsibility: Responsibility = field(init=False)
    departments: DepartmentIndex = field(init=False)
    _questions: dict[str, tuple[Question, ...]] = field(init=False, default_factory=dict)
    _deadlines: list[Deadline] | None = field(init=False, default=None)

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

    def plan_deadlines(self) -> list[Deadline]:
        """The plan's own dates (deadlines, phase ends, task 完成时限), rolled to the campaign year."""
        if self._deadlines is None:
            self._deadlines = rolled(plan_deadlines(self.plan, self.responsibility), self.campaign_year)
        return self._deadlines

    def local_now(self) -> datetime:
        """Now, in the county's time zone."""
        return self.rules.calendar.local(self.now())

    async def ask(self, question: str) -> Answer:
        """The librarian's answer in the deployed plan.

        Computed on the event loop: an answer takes about half a millisecond of pure CPU, less
        than handing it to a thread would cost (measured by bench/bench_wecom.py).
        """
        return self.librarian.ask(question, self.plan.id)


def actor(message: Incoming) -> Actor:
    """Who sent the message."""
    return Actor(message.channel, message.user_id, message.user_name)


def normalize(text: str) -> str:
    """NFKC, stripped, without trailing punctuation: what commands and words are matched on."""
    return unicodedata.normalize("NFKC", text).strip().rstrip("。.!！~～").strip()

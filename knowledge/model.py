"""Typed objects the knowledge files load into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

Day = date  # for fields next to one named `date`

if TYPE_CHECKING:
    from knowledge.rules import Fact, Rule

# Fields transcribed from a seed, checked verbatim (whitespace removed) by tests/test_transcription.py.
VERBATIM_FIELDS: dict[str, tuple[str, ...]] = {
    "framework": ("name",),
    "level": ("name",),
    "clause": ("title", "text"),
    "indicator": (
        "title", "criteria", "data_source", "acceptance", "lead", "support", "deadline",
    ),
    "line": ("content", "tasks", "units"),
    "target": ("table", "text"),
    "plan": ("name", "county", "issuer", "doc_no", "date_text", "slogan", "goals"),
    "leading_group": ("name", "leader", "deputies", "members", "office"),
    "phase": ("name", "period", "text"),
    "deadline": ("text",),
    "row": ("level2",),
}


@dataclass(frozen=True)
class Note:
    """An editorial note on a system or an indicator."""

    kind: str  # discrepancy | explanation | damaged
    text: str
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Editorial:
    """Our own additions to a transcribed object: never replaces the verbatim text."""

    short: str = ""
    display: str = ""
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()
    deadline_date: date | None = None


@dataclass(frozen=True)
class Line:
    """One 考核评分内容 line of a Henan item, with its 工作任务 and 责任单位."""

    content: str
    tasks: tuple[str, ...]
    units: str


@dataclass(frozen=True)
class Indicator:
    """One indicator, row, item or task of an evaluation system."""

    framework: str
    id: str
    kind: str
    level1: str
    level2: str | None
    title: str
    points: float
    criteria: str
    editorial: Editorial
    facts: tuple[Fact, ...] = ()
    rule: Rule | None = None
    data_source: str | None = None
    county_supplied: bool | None = None
    clause: str | None = None
    lines: tuple[Line, ...] = ()
    acceptance: str | None = None
    lead: str | None = None
    support: str | None = None
    deadline: str | None = None

    @property
    def name(self) -> str:
        """The title people read: the repaired display text where the seed is damaged."""
        return self.editorial.display or self.title

    @property
    def label(self) -> str:
        """Short label: the editorial short name, else the title."""
        return self.editorial.short or self.name

    @property
    def scored(self) -> bool:
        """True for entries that carry points (not veto/rejection/plain checklist tasks)."""
        return self.kind in ("indicator", "bonus") and self.points > 0


@dataclass(frozen=True)
class Level:
    """A 一级 (with its 二级 children) or 指标项 heading."""

    name: str
    points: float | None
    children: tuple[Level, ...] = ()
    display: str = ""


@dataclass(frozen=True)
class Clause:
    """A clause of the Hunan standard that a table row refers to."""

    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Target:
    """One row of a quality target table (Henan)."""

    table: str
    no: str
    text: str


@dataclass(frozen=True)
class Framework:
    """An evaluation system: levels, indicators and how it is scored."""

    id: str
    name: str
    source: str
    total_points: float | None
    pass_line: float | None
    scoring: str  # points | checklist
    levels: tuple[Level, ...]
    indicators: dict[str, Indicator]
    clauses: dict[str, Clause] = field(default_factory=dict)
    targets: tuple[Target, ...] = ()
    aliases: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()

    def indicator(self, ind_id: str) -> Indicator:
        """The indicator with this id; raises NotFound."""
        from knowledge.errors import NotFound

        try:
            return self.indicators[ind_id]
        except KeyError:
            raise NotFound(f"{self.id} 没有编号为 {ind_id} 的指标") from None

    @property
    def scored_indicators(self) -> list[Indicator]:
        """Indicators that carry points, in document order."""
        return [i for i in self.indicators.values() if i.scored]


@dataclass(frozen=True)
class LeadingGroup:
    """A plan's leading group and its office."""

    name: str
    leader: str = ""
    deputies: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    office: str = ""
    office_department: str = ""


@dataclass(frozen=True)
class Phase:
    """A dated stage of a plan."""

    name: str
    period: str = ""
    start: date | None = None
    end: date | None = None
    text: str = ""


@dataclass(frozen=True)
class Deadline:
    """A dated obligation in a plan."""

    id: str
    date: date
    text: str
    departments: tuple[str, ...] | None = None  # None = all departments
    source: str = "plan"  # plan | phase | task (Jinan 完成时限) | office (set in chat)
    original: Day | None = None  # the document's date, when rolled to the campaign year
    tasks: tuple[str, ...] = ()  # the indicator ids due that day (source "task")


@dataclass(frozen=True)
class PlanRow:
    """A row of a plan's own task table (Pingyin numbers its rows itself)."""

    row: str
    indicator: str
    points: float
    responsible: tuple[str, ...] = ()
    level2: str | None = None


@dataclass(frozen=True)
class Plan:
    """A county's plan: who does what, by when, under which system."""

    id: str
    framework: str
    source: str
    name: str
    county: str
    issuer: str = ""
    doc_no: str = ""
    date: date | None = None
    date_text: str = ""
    slogan: str | None = None
    goals: tuple[str, ...] = ()
    leading_group: LeadingGroup | None = None
    phases: tuple[Phase, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    responsible: dict[str, tuple[str, ...]] = field(default_factory=dict)
    responsible_from_framework: bool = False
    rows: tuple[PlanRow, ...] = ()
    aliases: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()
    efficacy: dict[str, dict[str, float]] = field(default_factory=dict)

    def row_to_indicator(self, row: str) -> str | None:
        """The framework id of the plan's own row number, where the plan numbers rows itself."""
        return next((r.indicator for r in self.rows if r.row == row), None)


@dataclass(frozen=True)
class Department:
    """A department (or a group of them) that can be responsible for indicators."""

    id: str
    name: str
    kind: str = "department"  # department | group | province
    aliases: tuple[str, ...] = ()
    english: tuple[str, ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class Term:
    """A glossary term with its definition."""

    term: str
    definition: str
    verbatim: bool
    source: str | None = None
    aliases: tuple[str, ...] = ()
    english: tuple[str, ...] = ()


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything loaded: systems, plans, departments and the glossary."""

    frameworks: dict[str, Framework]
    plans: dict[str, Plan]
    departments: dict[str, Department]
    glossary: tuple[Term, ...]

    def framework(self, fw_id: str) -> Framework:
        """The framework with this id; raises NotFound."""
        from knowledge.errors import NotFound

        try:
            return self.frameworks[fw_id]
        except KeyError:
            names = "、".join(self.frameworks)
            raise NotFound(f"未知的评价体系：{fw_id}（可选：{names}）") from None

    def plan(self, plan_id: str) -> Plan:
        """The plan with this id; raises NotFound."""
        from knowledge.errors import NotFound

        try:
            return self.plans[plan_id]
        except KeyError:
            names = "、".join(self.plans)
            raise NotFound(f"未知的方案：{plan_id}（可选：{names}）") from None

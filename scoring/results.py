"""Result dataclasses returned by the engine, each with to_dict() for JSON."""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from datetime import date
from typing import Any


def plain(value: object) -> Any:
    """Dataclasses, tuples and dates as JSON-ready dicts, lists and ISO strings."""
    if isinstance(value, JsonResult):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    return value


class JsonResult:
    """Mixin: to_dict() through plain()."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping of this result."""
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class PartScore(JsonResult):
    """The score of one part of a rule, with the reason for every point won or lost."""

    id: str
    label: str
    method: str
    score: float
    max: float
    reason: str
    action: str = ""
    hint: str = ""  # efficacy: what value to reach (将…提高到x满意100%)
    missing: tuple[str, ...] = ()
    unanswered: bool = False  # every fact of the part is unanswered: scored 0 as 未填报
    estimated: bool = False  # efficacy: bounds are estimates, so is the score
    na: bool = False  # 合理缺项
    vetoed: bool = False
    children: tuple[PartScore, ...] = ()

    @property
    def lost(self) -> float:
        """Points not (yet) won by this part."""
        return max(0.0, self.max - self.score)

    def reasons(self) -> list[str]:
        """This part's reason followed by its sub-parts' reasons."""
        out = [self.reason]
        for child in self.children:
            out.extend(child.reasons())
        return out


@dataclass(frozen=True)
class IndicatorScore(JsonResult):
    """One indicator's score, maximum and reasons."""

    framework: str
    indicator: str
    title: str
    kind: str
    level1: str
    level2: str | None
    score: float
    max: float
    parts: tuple[PartScore, ...] = ()
    cap_reason: str = ""
    estimated: bool = False
    missing: tuple[str, ...] = ()
    vetoed: bool = False
    na: bool = False
    note: str = ""  # e.g. 尚无计分规则

    @property
    def reason(self) -> str:
        """Every part's reason, then the cap (or the note), joined with ；."""
        lines = [line for part in self.parts for line in part.reasons()]
        extra = [text for text in (self.cap_reason, self.note) if text]
        return "；".join([*lines, *extra])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping, with the joined reason."""
        return {**super().to_dict(), "reason": self.reason}


@dataclass(frozen=True)
class Gap(JsonResult):
    """Points a part can still win, what to do, and who is responsible."""

    framework: str
    indicator: str
    title: str
    part: str
    label: str
    points: float
    action: str
    departments: tuple[str, ...] = ()
    estimated: bool = False


@dataclass(frozen=True)
class Subtotal(JsonResult):
    """Score and maximum of a 一级 (level2 None) or a 二级 heading."""

    level1: str
    level2: str | None
    score: float
    max: float


@dataclass(frozen=True)
class DepartmentShare(JsonResult):
    """A department's indicators: their score, maximum, and share of the whole maximum."""

    department: str
    indicators: tuple[str, ...]
    score: float
    max: float
    share: float  # max / the framework's max, 0..1


@dataclass(frozen=True)
class ChecklistEntry(JsonResult):
    """One 工作任务 (Henan line task, Jinan task) and whether it is done."""

    key: str
    indicator: str
    text: str
    units: str = ""
    done: bool | None = None  # None = not reported
    done_on: str | None = None  # ISO date (or year-month) of completion, when reported
    deadline: date | None = None
    overdue: bool = False
    late: bool = False  # done after the deadline


@dataclass(frozen=True)
class ChecklistItem(JsonResult):
    """Completion of one Henan item (or Jinan task)."""

    indicator: str
    title: str
    done: int
    total: int


@dataclass(frozen=True)
class ChecklistReport(JsonResult):
    """Completion of a checklist system: per entry, per item, overall, and overdue tasks."""

    entries: tuple[ChecklistEntry, ...]
    items: tuple[ChecklistItem, ...]
    done: int
    total: int
    percent: float
    overdue: tuple[ChecklistEntry, ...] = ()


@dataclass(frozen=True)
class BoundsInUse(JsonResult):
    """The 功效系数法 bounds one measure was scored with: official (set by the office) or estimated."""

    key: str  # 17.b, 10.a.2
    indicator: str
    label: str
    satisfied: float  # x满意
    allowed: float  # x不允许
    direction: str = "higher"
    unit: str = ""
    official: bool = False  # set by the county's office; False: an estimate (the default)
    stated: bool = False  # the default is the one the evaluation document states
    set_by: str = ""
    set_at: str = ""


@dataclass(frozen=True)
class Assessment(JsonResult):
    """A whole framework scored: totals, subtotals, status, gaps and (checklists) completion."""

    framework: str
    total: float
    max: float
    indicators: tuple[IndicatorScore, ...]
    subtotals: tuple[Subtotal, ...] = ()
    bonus: float = 0.0
    pass_line: float | None = None
    passed: bool | None = None
    disqualified: bool = False
    vetoes: tuple[str, ...] = ()
    gaps: tuple[Gap, ...] = ()
    missing: tuple[str, ...] = ()
    estimated: bool = False
    department: DepartmentShare | None = None
    checklist: ChecklistReport | None = None
    bounds: tuple[BoundsInUse, ...] = ()  # every efficacy measure scored, official or estimated

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping, with the one-line status."""
        return {**super().to_dict(), "status": self.status}

    @property
    def status(self) -> str:
        """One Chinese line: disqualified, passed or not, or just the total."""
        total = f"总分{self.total:g}分（满分{self.max:g}分）"
        if self.checklist is not None:
            done = self.checklist
            total = f"已完成{done.done}/{done.total}项任务（{done.percent:g}%）"
            total += f"，逾期{len(done.overdue)}项" if done.overdue else ""
            total += f"，加分{self.bonus:g}分" if self.bonus else ""
        if self.disqualified:
            return f"{total}；" + "；".join(self.vetoes)
        if self.passed is None:
            return total
        verdict = "达到" if self.passed else "未达到"
        return f"{total}，{verdict}{self.pass_line:g}分的合格线"

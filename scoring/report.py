"""An assessment as Chinese text: the one renderer behind `qcbot score` (full) and the chat (compact).

The CLI prints `full_text`; `/myscore`, `/gaps`, `/progress`, the digest and the office views build
their replies from the compact pieces (`department_headline`, `county_headline`,
`indicator_lines`, `gap_lines`). Every piece reads only the `Assessment`.
"""

from __future__ import annotations

from datetime import date

from knowledge.display import clip, num, pts, qty, squash
from knowledge.model import Framework
from scoring.results import Assessment, ChecklistEntry, ChecklistReport, IndicatorScore

VETO_NAMES = {"veto": "一票否决项", "rejection": "不予受理条件"}
ESTIMATE_NOTE = (
    "注：功效系数法的满意值、不允许值由省里按全省各县数值确定，标“估算”的按默认界值计算。"
)
LABEL = 16  # characters of a title in a chat line
TASK_LABEL = 24  # characters of a task's text in a chat line
MAX_ITEMS = 20  # indicator lines in a chat score card


# --- shared pieces ------------------------------------------------------------------------------


def task_state(entry: ChecklistEntry) -> str:
    """逾期，时限…, 未填报 or 未完成 for a task that is not done."""
    if entry.overdue and entry.deadline is not None:
        return f"逾期，时限{entry.deadline.isoformat()}"
    return "未填报" if entry.done is None else "未完成"


def open_tasks(report: ChecklistReport) -> list[ChecklistEntry]:
    """Tasks not done, overdue ones first."""
    undone = [e for e in report.entries if e.done is not True]
    undone.sort(key=lambda e: not e.overdue)
    return undone


# --- compact (chat) -----------------------------------------------------------------------------


def department_headline(result: Assessment) -> list[str]:
    """得分… (满分…，占总分…%), the tasks done for checklist systems, else the status."""
    share = result.department
    if result.checklist is not None:
        done = result.checklist
        late = f"，逾期{len(done.overdue)}项" if done.overdue else ""
        return [f"已完成{done.done}/{done.total}项任务（{num(done.percent, 1)}%）{late}"]
    if share is None:
        return [result.status]
    percent = num(share.share * 100, 1)
    return [f"得分{pts(share.score)}（满分{pts(share.max)}，占总分{percent}%）"]


def county_headline(result: Assessment) -> str:
    """估计全县得分 62.5/100分, or the tasks done for checklist systems."""
    if result.checklist is not None:
        done = result.checklist
        bonus = f"，加分{num(result.bonus)}分" if result.bonus else ""
        return f"全县任务完成：{done.done}/{done.total}项（{num(done.percent, 1)}%）{bonus}"
    return f"估计全县得分：{num(result.total)}/{num(result.max)}分（未答的按0分计）"


def indicator_lines(result: Assessment) -> list[str]:
    """各指标： one short line per indicator (per item for checklists), estimates marked."""
    if result.checklist is not None:
        lines = [
            f"· {i.indicator} {clip(i.title, LABEL)} {i.done}/{i.total}"
            for i in result.checklist.items
        ]
        scored = [s for s in result.indicators if s.kind == "bonus"]
    else:
        lines, scored = [], list(result.indicators)
    for s in scored:
        mark = "（加分）" if s.kind == "bonus" else ""
        estimate = "（估算）" if s.estimated else ""
        lines.append(
            f"· {s.indicator} {clip(s.title, LABEL)}{mark} {num(s.score)}/{pts(s.max)}{estimate}"
        )
    if not lines:
        return []
    note = [ESTIMATE_NOTE] if any(s.estimated for s in scored) else []
    shown = {s.indicator for s in scored}
    official = [b.key for b in result.bounds if b.official and b.indicator in shown]
    if official:
        note.append(f"注：{_keys(official)}按质量强县办设定的官方界值计算。")
    return ["各指标：", *lines[:MAX_ITEMS], *note]


def _keys(keys: list[str], limit: int = 8) -> str:
    shown = "、".join(keys[:limit])
    return f"{shown}等{len(keys)}项" if len(keys) > limit else shown


def bounds_lines(result: Assessment) -> list[str]:
    """功效系数法界值： each measure's x满意/x不允许, 官方 (who, when) or 估算; nothing without efficacy."""
    if not result.bounds:
        return []
    official = sum(b.official for b in result.bounds)
    lines = [f"功效系数法界值（官方{official}项、估算{len(result.bounds) - official}项）："]
    for b in result.bounds:
        values = f"x满意={qty(b.satisfied, b.unit)}、x不允许={qty(b.allowed, b.unit)}"
        if b.official:
            when = f" {b.set_at[:10]}" if b.set_at else ""
            state = f"官方（{b.set_by or '质量强县办'}{when}设定）"
        else:
            state = "估算（评价标准给出）" if b.stated else "估算"
        lines.append(f"  {b.key} {b.label} {values} {state}")
    return lines


def unanswered_lines(result: Assessment, limit: int) -> list[str]:
    """Indicators with unanswered questions and the points answering could still win, most first."""
    found: list[tuple[float, str]] = []
    for ind in result.indicators:
        if not ind.missing or ind.kind != "indicator" or not ind.max:
            continue
        open_parts = [p for p in ind.parts if p.missing and not p.na]
        room = min(sum(p.max - p.score for p in open_parts), ind.max - ind.score)
        if room <= 0:
            continue
        labels = "、".join(dict.fromkeys(p.label for p in open_parts if p.label))
        what = f"：未填{clip(labels, LABEL)}" if labels else ""
        found.append((room, f"{ind.indicator} {clip(ind.title, LABEL)}{what}，答了最多可得{pts(room)}"))
    found.sort(key=lambda item: -item[0])
    if not found:
        return []
    return ["未答的题（答了可能得的分）：", *(f"· {line}" for _, line in found[:limit])]


def gap_lines(
    result: Assessment, limit: int, who: bool = False, tasks: int | None = None
) -> list[str]:
    """The largest gaps (what to do, most points first), then open tasks, numbered.

    `who` adds the departments; `tasks` bounds the open tasks (default: what `limit` leaves).
    """
    lines = []
    for n, gap in enumerate(result.gaps[:limit], 1):
        units = f"〔{'、'.join(gap.departments) or '未指定'}〕" if who else ""
        lines.append(f"{n}. {gap.indicator} {clip(gap.title, LABEL)}：{gap.action}{units}")
    report = result.checklist
    room = limit - len(lines) if tasks is None else tasks
    if report is not None and room > 0:
        for n, entry in enumerate(open_tasks(report)[:room], len(lines) + 1):
            units = f"〔{entry.units or '未指定'}〕" if who else ""
            lines.append(
                f"{n}. {entry.key} {clip(entry.text, TASK_LABEL)}（{task_state(entry)}）{units}"
            )
    return lines


# --- full (qcbot score) -------------------------------------------------------------------------


def full_text(
    result: Assessment, framework: Framework, title: str, department: str | None, today: date
) -> str:
    """The whole assessment: status, subtotals, every indicator with its reason, the gap list."""
    lines = [title]
    if department is not None:
        lines.append(_share_line(result, department))
    lines += _status(result, framework, department is not None)
    lines += _subtotals(result)
    lines += _indicators(result)
    if result.checklist is not None:
        lines += _checklist(result.checklist, today)
    lines += _gaps(result)
    lines += bounds_lines(result)
    if result.missing:
        shown = "、".join(result.missing[:12]) + ("等" if len(result.missing) > 12 else "")
        lines.append(f"未填报：{len(result.missing)} 个事实（{shown}），按0分计")
    return "\n".join(lines)


def _status(result: Assessment, framework: Framework, department: bool) -> list[str]:
    lines: list[str] = []
    if result.checklist is None or result.max:
        estimate = "（含估算）" if result.estimated else ""
        label = "部门合计" if department else "总分"
        lines.append(f"{label}：{num(result.total)} / {num(result.max)}分{estimate}")
    if result.checklist is not None:
        lines += _checklist_status(result, result.checklist)
    lines += _veto_status(result, framework)
    if result.pass_line is not None and result.disqualified:
        lines.append(f"合格线：{num(result.pass_line)}分（不予受理，得分不参与评定）")
    elif result.pass_line is not None:
        verdict = "达到" if result.passed else "未达到"
        lines.append(f"合格线：{num(result.pass_line)}分，{verdict}")
    return lines


def _checklist_status(result: Assessment, report: ChecklistReport) -> list[str]:
    undone = sum(e.done is False for e in report.entries)
    blank = sum(e.done is None for e in report.entries)
    counts = [f"未完成 {undone} 项" if undone else "", f"未填报 {blank} 项" if blank else ""]
    counts.append(f"逾期 {len(report.overdue)} 项" if report.overdue else "")
    tail = "".join(f"，{c}" for c in counts if c)
    lines = [f"任务完成：{report.done}/{report.total}（{report.percent:g}%）{tail}"]
    bonus = [s for s in result.indicators if s.kind == "bonus"]
    if bonus:
        lines.append(f"加分：{num(result.bonus)} / {num(sum(s.max for s in bonus))}分")
    return lines


def _veto_status(result: Assessment, framework: Framework) -> list[str]:
    """已触发 with the reasons, 未填报 while a veto question is unanswered, else 未触发."""
    kinds = sorted({i.kind for i in framework.indicators.values() if i.kind in VETO_NAMES})
    label = "、".join(VETO_NAMES[k] for k in kinds) or "否决项"
    if result.disqualified:
        return [f"{label}：已触发——{'；'.join(result.vetoes)}"]
    if not kinds:
        return []
    unanswered = sum(len(s.missing) for s in result.indicators if s.kind in VETO_NAMES)
    if unanswered:
        return [f"{label}：未填报（{unanswered} 个问题未回答），暂按未触发计"]
    return [f"{label}：未触发"]


def _share_line(result: Assessment, department: str) -> str:
    text = f"部门：{department}"
    if result.checklist is not None:
        report = result.checklist
        return f"{text}，负责 {len(report.items)} 个条目、{report.total} 项任务"
    share = result.department
    if share is None:
        return text
    text += f"，负责 {len(share.indicators)} 项指标"
    if share.max:
        text += f"，得分 {num(share.score)} / {num(share.max)}分，占总分值 {share.share * 100:.1f}%"
    return text


def _subtotals(result: Assessment) -> list[str]:
    if result.checklist is not None or not result.subtotals:
        return []  # a checklist's only scored heading is its 加分项, shown in the status
    lines = ["分项小计："]
    for row in result.subtotals:
        indent = "    " if row.level2 else "  "
        score = f"{num(row.score)}/{num(row.max)}" if row.max else f"加{num(row.score)}分"
        lines.append(f"{indent}{row.level2 or row.level1} {score}")
    return lines


def _indicators(result: Assessment) -> list[str]:
    shown = [s for s in result.indicators if s.parts or s.max or s.note]
    if not shown:
        return []
    return ["指标得分：", *(_indicator_line(s) for s in shown)]


def _indicator_line(score: IndicatorScore) -> str:
    if score.kind in VETO_NAMES:
        head = f"  {score.indicator} {score.title} {'已触发' if score.vetoed else '未触发'}"
    else:
        extra = " 估算" if score.estimated else ""
        extra += " 加分项" if score.kind == "bonus" and "加分" not in score.title else ""
        head = f"  {score.indicator} {score.title} {num(score.score)}/{num(score.max)}{extra}"
    return f"{head}：{score.reason}" if score.reason else head


def _checklist(report: ChecklistReport, today: date) -> list[str]:
    open_items = [i for i in report.items if i.done < i.total]
    lines = ["尚未完成的条目：" if open_items else "各条目任务均已完成。"]
    lines += [f"  {i.indicator} {i.title} 完成{i.done}/{i.total}" for i in open_items]
    if report.overdue:
        lines.append(f"逾期任务（截至 {today.isoformat()}，共 {len(report.overdue)} 项）：")
        for entry in report.overdue:
            due = entry.deadline.isoformat() if entry.deadline else ""
            units = f"〔{entry.units}〕" if entry.units else ""
            lines.append(f"  {entry.key} 限{due}：{clip(squash(entry.text), 60)}{units}")
    late = [e for e in report.entries if e.late]
    if late:
        lines.append("逾期完成：" + "、".join(f"{e.key}（{e.done_on}）" for e in late))
    return lines


def _gaps(result: Assessment) -> list[str]:
    if not result.gaps:
        return []
    total = num(sum(g.points for g in result.gaps))
    lines = [f"失分清单（按可挽回分值排序，共 {len(result.gaps)} 项，合计 {total}分）："]
    for n, gap in enumerate(result.gaps, 1):
        estimate = "（估算）" if gap.estimated else ""
        who = "、".join(gap.departments) or "未指定"
        lines.append(
            f"  {n}. {gap.indicator} {gap.title}·{gap.label}：{gap.action}{estimate}〔{who}〕"
        )
    return lines

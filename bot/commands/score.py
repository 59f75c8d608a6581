"""`qcbot score`: write a fill-in answers template, or score a filled answers file."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bot.cli import UsageError, emit
from bot.commands.common import load_kb
from knowledge.departments import DepartmentIndex
from knowledge.errors import NotFound
from knowledge.model import Framework, Indicator, KnowledgeBase, Plan
from knowledge.responsibility import Responsibility
from scoring.answer_file import (
    AnswerFileError,
    check_answers,
    problem_line,
    read_answer_file,
    render_template,
)
from scoring.engine import framework_facts, indicator_units, score_framework
from scoring.results import Assessment, ChecklistReport, IndicatorScore
from scoring.text import num

EPILOG = """\
示例：
  qcbot score --plan pingyin --template -o 答案.yaml
  qcbot score --plan pingyin --template --department 市场监管局 -o 市场监管局.yaml
  qcbot score --plan pingyin --answers 答案.yaml
  qcbot score --framework hunan --answers 答案.yaml --json
  qcbot score --plan jinan --answers 答案.yaml --today 2020-01-15

答案文件：每行“事实编号: 答案”，留空表示未填报；答案写法与对话中相同（是/否、95%、三项、
选项文字或序号、2026-05-12）。答案有误时逐条列出全部问题、不计分，退出码 2。

--json 输出评估结果（键名稳定）：
  framework, total, max, bonus, pass_line, passed, disqualified, vetoes[], status, estimated,
  missing[]（未填报的事实编号）,
  subtotals[]：level1, level2（一级小计为 null）, score, max
  indicators[]：framework, indicator, title, kind, level1, level2, score, max, estimated,
    vetoed, na, missing[], cap_reason, note, reason,
    parts[]：id, label, method, score, max, reason, action, hint, missing[], unanswered,
      estimated, na, vetoed, children[]
  gaps[]（按可挽回分值从高到低）：framework, indicator, title, part, label, points, action,
    departments[], estimated
  department（--department 时）：department, indicators[], score, max, share（占总分值 0–1）
  checklist（清单式体系）：done, total, percent, entries[], items[], overdue[]
    entries[]/overdue[]：key, indicator, text, units, done, done_on, deadline, overdue, late
    items[]：indicator, title, done, total
答案有误且带 --json 时输出 {"file", "problems": [{fact, value, expected}]}。
"""
VETO_NAMES = {"veto": "一票否决项", "rejection": "不予受理条件"}
CHECKLIST_NOTE = (
    "清单任务：已完成写“是”，未完成写“否”；"
    '可另写“"编号.date": 完成日期”，如 "1.1.date": 2019-12-20。'
)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `score`."""
    score = sub.add_parser(
        "score",
        help="自评打分：生成答案填报模板，或按答案文件计算得分、失分清单",
        description="自评打分：--template 生成填报模板；--answers 按填好的答案文件打分。",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    score.add_argument("--plan", "-p", help="方案：pingyin、linzi、minquan、jinan")
    score.add_argument(
        "--framework", "-f", help="评价体系（无方案时用）：shandong、hunan、henan、jinan"
    )
    score.add_argument("--template", action="store_true", help="生成答案填报模板（YAML）")
    score.add_argument("--answers", "-a", type=Path, metavar="FILE", help="填好的答案文件")
    score.add_argument("--department", "-d", help="只看该部门负责的指标，如：市场监管局")
    score.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="模板写入文件（默认输出到屏幕）"
    )
    score.add_argument("--today", metavar="YYYY-MM-DD", help="判断任务逾期的日期（默认今天）")
    score.add_argument("--json", action="store_true", help="输出 JSON（键名见下）")
    score.set_defaults(handler=cmd_score)


@dataclass(frozen=True)
class Scope:
    """What is scored: the system, the plan, units per indicator and the department if any."""

    framework: Framework
    plan: Plan | None
    units: dict[str, tuple[str, ...]]  # indicator id → canonical department ids
    verbatim: Callable[[Indicator], list[str]]  # the unit strings as the documents print them
    department: str | None = None
    department_name: str = ""

    @property
    def title(self) -> str:
        """平阴县（方案 pingyin）· 山东省质量强县（市、区）评价指标体系."""
        where = f"{self.plan.county}（方案 {self.plan.id}）· " if self.plan else ""
        return f"{where}{self.framework.name}"

    def indicators(self) -> list[Indicator]:
        """The indicators in scope, in document order."""
        inds = list(self.framework.indicators.values())
        if self.department is None:
            return inds
        return [ind for ind in inds if self.department in self.units[ind.id]]


def cmd_score(args: argparse.Namespace) -> int:
    """Write the template or score the answers file."""
    if args.template == (args.answers is not None):
        raise UsageError("请指定 --template（生成模板）或 --answers FILE（打分）之一")
    kb = load_kb(args)
    scope = _scope(kb, args)
    if args.template:
        return _write_template(scope, args)
    return _score(scope, args)


# --- scope ------------------------------------------------------------------------------------


def _scope(kb: KnowledgeBase, args: argparse.Namespace) -> Scope:
    if not args.plan and not args.framework:
        raise UsageError("请用 --plan 指定方案，或用 --framework 指定评价体系")
    plan = kb.plan(args.plan) if args.plan else None
    framework = kb.framework(args.framework or (plan.framework if plan else ""))
    if plan is not None and plan.framework != framework.id:
        raise UsageError(f"方案 {plan.id} 属于评价体系 {plan.framework}，不是 {framework.id}")
    units, verbatim = _units(kb, framework, plan)
    scope = Scope(framework, plan, units, verbatim)
    if args.department is None:
        return scope
    dept = _department(kb, args.department)
    name = kb.departments[dept].name
    scope = Scope(framework, plan, units, verbatim, dept, name)
    if not scope.indicators():
        where = f"方案 {plan.id}" if plan else f"评价体系 {framework.id}"
        raise UsageError(f"{name}在{where}中没有负责的指标")
    return scope


def _units(
    kb: KnowledgeBase, framework: Framework, plan: Plan | None
) -> tuple[dict[str, tuple[str, ...]], Callable[[Indicator], list[str]]]:
    index = DepartmentIndex(kb.departments)
    if plan is not None:
        resp = Responsibility(kb, plan)
        verbatim: Callable[[Indicator], list[str]] = resp.units
    else:
        verbatim = indicator_units
    units: dict[str, tuple[str, ...]] = {}
    for ind in framework.indicators.values():
        found: list[str] = []
        for unit in verbatim(ind):
            ids = index.resolve_cell(unit) or (unit,)
            found.extend(d for d in ids if d not in found)
        units[ind.id] = tuple(found)
    return units, verbatim


def _department(kb: KnowledgeBase, text: str) -> str:
    found = DepartmentIndex(kb.departments).resolve(text)
    if not found:
        raise NotFound(f"未知的部门：{text}（可用 qcbot kb list --plan 方案 查看各指标的责任单位）")
    if len(found) > 1:
        names = "、".join(kb.departments[d].name for d in found)
        raise UsageError(f"“{text}”可指多个部门：{names}，请写得更具体")
    return found[0]


# --- template ---------------------------------------------------------------------------------


def _write_template(scope: Scope, args: argparse.Namespace) -> int:
    target = f"--plan {scope.plan.id}" if scope.plan else f"--framework {scope.framework.id}"
    dept = f" --department {scope.department}" if scope.department else ""
    header = [f"质量强县自评答案 —— {scope.title}"]
    if scope.department:
        header.append(f"部门：{scope.department_name}（只含该部门负责的指标）")
    header += [
        "填写：在每个“编号:”后写答案，留空表示未填报；是/否题写“是”或“否”，选择题写选项文字或序号，",
        "百分数写 95 或 95%，日期写 2026-05-12 或 2026年5月。",
    ]
    if scope.framework.scoring == "checklist":
        header.append(CHECKLIST_NOTE)
    header.append(f"打分：qcbot score {target}{dept} --answers 本文件")
    template = render_template(scope.framework, scope.indicators(), scope.verbatim, header)
    if args.output is None:
        sys.stdout.write(template.text)
        return 0
    try:
        args.output.write_text(template.text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"无法写入 {args.output}：{exc.strerror or exc}") from None
    print(f"已写出模板 {args.output}：{template.indicators} 项指标，{template.entries} 个待填项")
    return 0


# --- scoring ----------------------------------------------------------------------------------


def _score(scope: Scope, args: argparse.Namespace) -> int:
    today = _today(args.today)
    try:
        answers = read_answer_file(args.answers)
    except AnswerFileError as exc:
        raise UsageError(str(exc)) from None
    values, bad = check_answers(framework_facts(scope.framework), answers.values)
    problems = sorted([*answers.problems, *bad], key=lambda p: answers.lines.get(p.fact, 0))
    if problems:
        if args.json:
            out = {"file": str(args.answers), "problems": [p.to_dict() for p in problems]}
            print(json.dumps(out, ensure_ascii=False, indent=2))
        print(f"答案文件 {args.answers} 有 {len(problems)} 处问题，未打分：", file=sys.stderr)
        for problem in problems:
            print(f"  {problem_line(problem)}", file=sys.stderr)
        return 2
    result = score_framework(
        scope.framework,
        values,
        plan=scope.plan,
        department=scope.department,
        units_for=lambda ind_id: scope.units.get(ind_id, ()),
        today=today,
        exact=True,
    )
    emit(args, result.to_dict(), render(result, scope, today))
    return 0


def _today(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--today 应为 YYYY-MM-DD 格式的日期，而不是 {text}") from None


# --- text output ------------------------------------------------------------------------------


def render(result: Assessment, scope: Scope, today: date) -> str:
    """The assessment as compact Chinese text."""
    lines = [scope.title]
    if scope.department is not None:
        lines.append(_share_line(result, scope))
    lines += _status(result, scope)
    lines += _subtotals(result)
    lines += _indicators(result)
    if result.checklist is not None:
        lines += _checklist(result.checklist, today)
    lines += _gaps(result)
    if result.missing:
        shown = "、".join(result.missing[:12]) + ("等" if len(result.missing) > 12 else "")
        lines.append(f"未填报：{len(result.missing)} 个事实（{shown}），按0分计")
    return "\n".join(lines)


def _status(result: Assessment, scope: Scope) -> list[str]:
    lines: list[str] = []
    if result.checklist is None or result.max:
        estimate = "（含估算）" if result.estimated else ""
        label = "部门合计" if scope.department else "总分"
        lines.append(f"{label}：{num(result.total)} / {num(result.max)}分{estimate}")
    if result.checklist is not None:
        report = result.checklist
        undone = sum(e.done is False for e in report.entries)
        blank = sum(e.done is None for e in report.entries)
        counts = [f"未完成 {undone} 项" if undone else "", f"未填报 {blank} 项" if blank else ""]
        counts.append(f"逾期 {len(report.overdue)} 项" if report.overdue else "")
        tail = "".join(f"，{c}" for c in counts if c)
        lines.append(f"任务完成：{report.done}/{report.total}（{report.percent:g}%）{tail}")
        bonus = [s for s in result.indicators if s.kind == "bonus"]
        if bonus:
            lines.append(f"加分：{num(result.bonus)} / {num(sum(s.max for s in bonus))}分")
    lines += _veto_status(result, scope)
    if result.pass_line is not None:
        verdict = "达到" if result.passed else "未达到"
        lines.append(f"合格线：{num(result.pass_line)}分，{verdict}")
    return lines


def _veto_status(result: Assessment, scope: Scope) -> list[str]:
    """已触发 with the reasons, 未填报 while a veto question is unanswered, else 未触发."""
    kinds = sorted({i.kind for i in scope.framework.indicators.values() if i.kind in VETO_NAMES})
    label = "、".join(VETO_NAMES[k] for k in kinds) or "否决项"
    if result.disqualified:
        return [f"{label}：已触发——{'；'.join(result.vetoes)}"]
    if not kinds:
        return []
    unanswered = sum(len(s.missing) for s in result.indicators if s.kind in VETO_NAMES)
    if unanswered:
        return [f"{label}：未填报（{unanswered} 个问题未回答），暂按未触发计"]
    return [f"{label}：未触发"]


def _share_line(result: Assessment, scope: Scope) -> str:
    text = f"部门：{scope.department_name}"
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
            lines.append(f"  {entry.key} 限{due}：{_short(entry.text)}{units}")
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


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""`qcbot score`: write a fill-in answers template, or score a filled answers file."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bot.commands.common import UsageError, emit, load_kb
from bot.storage import Actor, Storage
from knowledge.assignment import answerable
from knowledge.departments import DepartmentIndex
from knowledge.errors import NotFound
from knowledge.model import Framework, Indicator, KnowledgeBase, Plan
from knowledge.responsibility import Responsibility
from knowledge.rules import Bounds, Value
from scoring.answer_file import (
    AnswerFile,
    AnswerFileError,
    check_answers,
    import_answers,
    problem_line,
    read_answer_file,
    render_template,
)
from scoring.answer_workbook import read_workbook, write_workbook
from scoring.answers import AnswerProblem
from scoring.bounds import BoundsFileError, read_bounds_file
from scoring.engine import framework_facts, indicator_units, score_framework
from scoring.questionnaire import questions_for
from scoring.report import full_text

EPILOG = """\
示例：
  qcbot score --plan pingyin --template -o 答案.yaml
  qcbot score --plan pingyin --template --department 市场监管局 -o 市场监管局.yaml
  qcbot score --plan pingyin --answers 答案.yaml
  qcbot score --framework hunan --answers 答案.yaml --json
  qcbot score --plan jinan --answers 答案.yaml --today 2020-01-15
  qcbot score --plan pingyin --department 财政局 --template --format xlsx -o 财政局.xlsx
  qcbot score --plan pingyin --department 财政局 --answers 财政局.xlsx
  qcbot score --plan pingyin --department 财政局 --answers 财政局.xlsx --save --db qcbot.db --user 李四
  qcbot score --plan pingyin --answers 答案.yaml --bounds 界值.csv

答案文件：每行“事实编号: 答案”，留空表示未填报；答案写法与对话中相同（是/否、95%、三项、
选项文字或序号、2026-05-12）。答案有误时逐条列出全部问题、不计分，退出码 2。xlsx 工作簿（--format xlsx 生成）同样读取。
--bounds FILE：质量强县办的功效系数法官方界值（YAML 或 CSV），每条：measure（测度编号，如 10.a.2；
指标只有一个测度时可写指标编号）、satisfied（满意值）、disallowed（不允许值）。CSV 可带表头
measure,satisfied,disallowed；YAML 写成 `- {measure: 10.a.2, satisfied: 0.2, disallowed: -0.1}`。
只有变动幅度、增长率这类可为负的测度可取负值。文件有误时逐行输出“文件: 行: 问题”，退出码 2。
结果中列出各测度用的界值是官方还是估算。
--save：按对话中的同样规则核对后，把该部门的答案存入 --db 数据库（修改记录的渠道为 file）。

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
  bounds[]（功效系数法各测度所用界值）：key, indicator, label, satisfied, allowed, direction, unit,
    official（true：官方，质量强县办设定；false：估算）, stated, set_by, set_at
    entries[]/overdue[]：key, indicator, text, units, done, done_on, deadline, overdue, late
    items[]：indicator, title, done, total
答案有误且带 --json 时输出 {"file", "problems": [{fact, value, expected}]}。
"""
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
    score.add_argument("--template", action="store_true", help="生成答案填报模板（YAML 或 xlsx）")
    score.add_argument(
        "--format", choices=("yaml", "xlsx"), default="yaml", help="模板格式：yaml（默认）或 xlsx"
    )
    score.add_argument("--answers", "-a", type=Path, metavar="FILE", help="填好的答案文件")
    score.add_argument("--department", "-d", help="只看该部门负责的指标，如：市场监管局")
    score.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="模板写入文件（默认输出到屏幕）"
    )
    score.add_argument("--today", metavar="YYYY-MM-DD", help="判断任务逾期的日期（默认今天）")
    score.add_argument("--json", action="store_true", help="输出 JSON（键名见下）")
    score.add_argument(
        "--bounds", type=Path, metavar="FILE",
        help="功效系数法官方界值文件（YAML 或 CSV：测度编号, 满意值, 不允许值）",
    )
    score.add_argument(
        "--save", action="store_true", help="把答案导入数据库（需 --db、--plan、--department）"
    )
    score.add_argument("--db", type=Path, metavar="DB", help="--save 写入的 SQLite 数据库")
    score.add_argument("--user", help="--save 时记录的导入人（默认当前系统用户）")
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
    if args.save:
        return _save(kb, scope, args)
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


def _template_head(scope: Scope) -> tuple[list[str], str]:
    """The title lines of a fill-in template, and the `qcbot score` command that reads it back."""
    target = f"--plan {scope.plan.id}" if scope.plan else f"--framework {scope.framework.id}"
    dept = f" --department {scope.department}" if scope.department else ""
    lines = [f"质量强县自评答案 —— {scope.title}"]
    if scope.department:
        lines.append(f"部门：{scope.department_name}（只含该部门负责的指标）")
    return lines, f"qcbot score {target}{dept}"


def _write_template(scope: Scope, args: argparse.Namespace) -> int:
    if args.format == "xlsx":
        return _write_workbook(scope, args)
    header, command = _template_head(scope)
    header += [
        "填写：在每个“编号:”后写答案，留空表示未填报；是/否题写“是”或“否”，选择题写选项文字或序号，",
        "百分数写 95 或 95%，日期写 2026-05-12 或 2026年5月。",
    ]
    if scope.framework.scoring == "checklist":
        header.append(CHECKLIST_NOTE)
    header.append(f"打分：{command} --answers 本文件")
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


def _write_workbook(scope: Scope, args: argparse.Namespace) -> int:
    if args.output is None:
        raise UsageError("xlsx 模板须用 -o 指定文件，如 -o 答案.xlsx")
    lines, command = _template_head(scope)
    lines += [
        "",
        "填写方法：",
        "1. 在“答案”表的黄色格子里填写，其他格子已锁定；留空表示未填报。",
        "2. 是/否题、选择题从下拉列表选择；数字按“单位”列的单位填写。",
        "3. 百分数写 95% 或 35；小于1的百分数请带 %（0.35%），只写 0.35 会被退回，请写明是0.35%还是35%。",
        "4. 占比、变动幅度、增长率、人均数由所填原始数据自动计算，无需填写；日期写 2026-05-12 或 2026年5月。",
        "5. 清单任务：已完成写“是”，可在“完成日期”列填完成日期（不能晚于今天）。",
        "6. 请勿增删列、不要修改隐藏的编号列。",
        "",
        f"打分：{command} --answers 本文件",
        f"导入：{command} --answers 本文件 --save --db 数据库 --user 姓名",
    ]
    questions = questions_for(scope.framework, scope.indicators())
    try:
        count = write_workbook(args.output, questions, scope.verbatim, lines)
    except AnswerFileError as exc:
        raise UsageError(str(exc)) from None
    print(f"已写出模板 {args.output}：{count} 道题")
    return 0


def _read(path: Path) -> AnswerFile:
    try:
        return read_workbook(path) if path.suffix.lower() == ".xlsx" else read_answer_file(path)
    except AnswerFileError as exc:
        raise UsageError(str(exc)) from None


def _report_problems(args: argparse.Namespace, problems: list[AnswerProblem], lines: dict[str, int]) -> int:
    problems = sorted(problems, key=lambda p: lines.get(p.fact, 0))
    if args.json:
        out = {"file": str(args.answers), "problems": [p.to_dict() for p in problems]}
        print(json.dumps(out, ensure_ascii=False, indent=2))
    print(f"答案文件 {args.answers} 有 {len(problems)} 处问题，未打分：", file=sys.stderr)
    for problem in problems:
        where = f"第{lines[problem.fact]}行 " if args.answers.suffix.lower() == ".xlsx" and problem.fact in lines else ""
        print(f"  {where}{problem_line(problem)}", file=sys.stderr)
    return 2


# --- importing into the store -----------------------------------------------------------------


def _save(kb: KnowledgeBase, scope: Scope, args: argparse.Namespace) -> int:
    if args.db is None or scope.plan is None or scope.department is None:
        raise UsageError("--save 需要 --db 数据库、--plan 方案和 --department 部门")
    answers = _read(args.answers)
    indicators = answerable(Responsibility(kb, scope.plan), scope.department)
    questions = questions_for(scope.framework, indicators)
    values, problems = import_answers(questions, answers.values, _today(args.today))
    problems = [*answers.problems, *problems]
    if problems:
        return _report_problems(args, problems, answers.lines)
    user = args.user or getpass.getuser()
    changed = asyncio.run(_store(args.db, scope.plan.id, scope.department, values, user))
    print(f"已导入{scope.department_name}的 {len(values)} 个答案（{changed} 个有变化）到 {args.db}，"
          f"导入人：{user}，渠道：file")
    return 0


async def _store(db: Path, plan: str, department: str, values: dict[str, Value], user: str) -> int:
    storage = await Storage.open(db, database_url=os.environ.get("QCBOT_DATABASE_URL", ""))
    try:
        return len(await storage.save_answers(plan, department, values, Actor("file", user, user)))
    finally:
        await storage.close()


# --- scoring ----------------------------------------------------------------------------------


def _score(scope: Scope, args: argparse.Namespace) -> int:
    today = _today(args.today)
    answers = _read(args.answers)
    values, bad = check_answers(framework_facts(scope.framework), answers.values)
    problems = [*answers.problems, *bad]
    if problems:
        return _report_problems(args, problems, answers.lines)
    bounds = _bounds(scope, args.bounds)
    if bounds is None:
        return 2
    result = score_framework(
        scope.framework,
        values,
        plan=scope.plan,
        department=scope.department,
        units_for=lambda ind_id: scope.units.get(ind_id, ()),
        today=today,
        exact=True,
        bounds=bounds,
    )
    text = full_text(
        result,
        scope.framework,
        scope.title,
        scope.department_name if scope.department else None,
        today,
    )
    emit(args, result.to_dict(), text)
    return 0


def _bounds(scope: Scope, path: Path | None) -> dict[str, Bounds] | None:
    """The office's bounds from --bounds FILE ({} without it); None after printing its problems."""
    if path is None:
        return {}
    try:
        return read_bounds_file(path, scope.framework)
    except BoundsFileError as exc:
        print(f"界值文件 {path} 有 {len(exc.problems)} 处问题，未打分：", file=sys.stderr)
        for line in exc.problems:
            print(line, file=sys.stderr)
        return None


def _today(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--today 应为 YYYY-MM-DD 格式的日期，而不是 {text}") from None

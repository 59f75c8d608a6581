"""`qcbot plan import`: a county's own 任务分解表 → a plan file and a review report."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import yaml

from bot.commands.common import EXIT_OK, EXIT_USAGE, emit, plans_dir, show_help
from knowledge.cache import load_librarian
from knowledge.departments import DepartmentIndex
from knowledge.errors import KnowledgeError
from knowledge.loader import check_responsible, parse_plan
from knowledge.plan_import import TableError, import_table, plan_yaml, render_report, report

log = logging.getLogger("qcbot.plan")

IMPORT_EPILOG = """\
示例：
  qcbot plan import 任务分解表.xlsx --framework shandong --county 高青县
  qcbot plan import 任务分解表.docx --framework shandong --county 高青县 --out 方案/gaoqing.yaml
  qcbot plan import 任务分解表.csv --framework shandong --county 临淄区 --id linzi2 --json

写出的方案放进 QCBOT_PLANS_DIR 目录后，qcbot kb check、qcbot ask --plan 编号 和 qcbot serve 都会加载它。
置信度低的行标“请核对”；无法定位的行和不认识的单位不写入方案，列在报告和文件末尾。"""


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `plan import`."""
    plan = sub.add_parser(
        "plan",
        help="方案：从本县的任务分解表导入",
        description="方案：把本县自己的任务分解表（.xlsx、.docx、.csv）导入为方案文件。",
        epilog="示例：\n  qcbot plan import 任务分解表.xlsx --framework shandong --county 高青县",
    )
    plan.set_defaults(handler=show_help(plan))
    plan_sub = plan.add_subparsers(title="子命令", metavar="子命令")
    imp = plan_sub.add_parser(
        "import",
        help="导入任务分解表：逐行对应到评价体系的指标，写出方案文件和核对报告",
        description=(
            "读取任务分解表（合并单元格、行序调整、改写的任务名称、牵头/配合单位都可以），"
            "用问答的检索把每一行对应到评价体系的指标，按部门别名统一责任单位，"
            "写出方案文件（通过 qcbot kb check）并报告每行的对应结果与置信度。"
        ),
        epilog=IMPORT_EPILOG,
    )
    imp.add_argument("file", metavar="文件", type=Path, help="任务分解表：.xlsx、.docx 或 .csv（UTF-8 或 GB18030）")
    imp.add_argument("--framework", "-f", required=True, help="评价体系：shandong、hunan、henan、jinan")
    imp.add_argument("--county", "-c", required=True, help="县（市、区）名称，例如 高青县")
    imp.add_argument("--id", default=None, help="方案编号（默认取县名拼音，例如 高青县 → gaoqing）")
    imp.add_argument("--out", "-o", type=Path, default=None, help="方案文件（默认 当前目录/<编号>.yaml）")
    imp.add_argument("--json", action="store_true", help="核对报告输出 JSON")
    imp.set_defaults(handler=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    """Import the table, check the plan as `kb check` would, write it and print the report."""
    plans = plans_dir()
    librarian = load_librarian(getattr(args, "data", None), plans_dir=plans)
    kb = librarian.kb
    try:
        result = import_table(args.file, librarian.library, args.framework, args.county, args.id)
    except TableError as exc:
        log.info("plan import refused %s: %s", args.file, exc)
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    out: Path = args.out or Path(f"{result.plan_id}.yaml")
    if result.plan_id in kb.plans and not _same_file(out, plans, result.plan_id):
        print(f"方案编号 {result.plan_id} 已被现有方案“{kb.plans[result.plan_id].name}”使用，请用 --id 另取一个编号", file=sys.stderr)
        return EXIT_USAGE
    text = plan_yaml(result)
    try:
        plan = parse_plan(out.name, yaml.safe_load(text), kb.frameworks)
        check_responsible(plan, DepartmentIndex(kb.departments))
    except KnowledgeError as exc:  # a bug here, never the county's table: say so in one line
        log.error("imported plan does not validate: %s", exc)
        print(f"生成的方案未通过校验：{exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"无法写入 {out}：{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    data = report(result)
    data["out"] = str(out)
    emit(args, data, render_report(result) + f"\n\n方案已写入 {out}（编号 {result.plan_id}）。")
    return EXIT_OK


def _same_file(out: Path, plans: Path | None, plan_id: str) -> bool:
    """True when `out` is the plans directory's own file for this id (a re-import replaces it)."""
    own = plans / f"{plan_id}.yaml" if plans is not None else None
    return own is not None and own.is_file() and out.resolve() == own.resolve()

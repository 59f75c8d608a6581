"""`qcbot kb`: check, list and show the knowledge base."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli import emit
from bot.commands.common import load_kb
from knowledge import views
from knowledge.responsibility import Responsibility


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `kb check|list|show`."""
    kb = sub.add_parser("kb", help="知识库：校验、列出、查看指标")
    kb_sub = kb.add_subparsers(title="子命令", metavar="子命令")

    check = kb_sub.add_parser("check", help="校验全部知识库文件并报告各体系的指标数与分值")
    check.add_argument("--json", action="store_true", help="输出 JSON")
    check.set_defaults(handler=cmd_check)

    lst = kb_sub.add_parser("list", help="列出指标")
    lst.add_argument("--framework", "-f", help="评价体系：shandong、hunan、henan、jinan")
    lst.add_argument("--plan", "-p", help="方案：pingyin、linzi、minquan、jinan（显示责任单位）")
    lst.add_argument("--json", action="store_true", help="输出 JSON")
    lst.set_defaults(handler=cmd_list)

    show = kb_sub.add_parser("show", help="查看一个指标的条文、分值、评分规则、责任单位和材料")
    show.add_argument("framework", help="评价体系编号")
    show.add_argument("id", help="指标编号（文件中的序号）")
    show.add_argument("--plan", "-p", help="方案编号（显示该方案的责任单位）")
    show.add_argument("--json", action="store_true", help="输出 JSON")
    show.set_defaults(handler=cmd_show)


def cmd_check(args: argparse.Namespace) -> int:
    """Validate every file; print counts and totals per system."""
    summary = views.check_summary(load_kb(args))
    emit(args, summary, views.render_check(summary))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List indicators of one system or all, with a plan's responsible units."""
    kb = load_kb(args)
    plan = kb.plan(args.plan) if args.plan else None
    fw_ids = [args.framework] if args.framework else [plan.framework] if plan else list(kb.frameworks)
    rows = []
    for fw_id in fw_ids:
        fw = kb.framework(fw_id)
        resp = Responsibility(kb, plan) if plan and plan.framework == fw.id else None
        rows += [views.indicator_row(ind, resp) for ind in fw.indicators.values()]
    emit(args, rows, views.render_list(rows))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Show one indicator in full."""
    kb = load_kb(args)
    view = views.indicator_view(kb, args.framework, args.id, args.plan)
    emit(args, view, views.render_indicator(view))
    return 0

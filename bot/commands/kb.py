"""`qcbot kb`: check, list and show the knowledge base."""

from __future__ import annotations

import argparse
from typing import Any

from bot.commands.common import emit, load_kb, show_help
from knowledge import views
from knowledge.responsibility import Responsibility


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `kb check|list|show`."""
    kb = sub.add_parser(
        "kb",
        help="知识库：校验、列出、查看指标",
        description="知识库：校验全部文件，列出指标，查看一个指标的全部内容。",
        epilog="示例：\n  qcbot kb check\n  qcbot kb list --plan pingyin\n  qcbot kb show shandong 17",
    )
    kb.set_defaults(handler=show_help(kb))
    kb_sub = kb.add_subparsers(title="子命令", metavar="子命令")

    check = kb_sub.add_parser(
        "check",
        help="校验全部知识库文件并报告各体系的指标数与分值",
        description="校验全部知识库文件（有误时指明文件和位置，退出码 1），报告各体系的指标数与分值。",
        epilog="示例：\n  qcbot kb check\n  qcbot --data 我的知识库 kb check --json",
    )
    check.add_argument("--json", action="store_true", help="输出 JSON")
    check.set_defaults(handler=cmd_check)

    lst = kb_sub.add_parser(
        "list",
        help="列出指标",
        description="列出一个或全部评价体系的指标；给出方案时同时列出责任单位。",
        epilog="示例：\n  qcbot kb list --framework hunan\n  qcbot kb list --plan pingyin --json",
    )
    lst.add_argument("--framework", "-f", help="评价体系：shandong、hunan、henan、jinan")
    lst.add_argument("--plan", "-p", help="方案：pingyin、linzi、minquan、jinan（显示责任单位）")
    lst.add_argument("--json", action="store_true", help="输出 JSON")
    lst.set_defaults(handler=cmd_list)

    show = kb_sub.add_parser(
        "show",
        help="查看一个指标的条文、分值、评分规则、责任单位和材料",
        description="查看一个指标：条文、分值、评分规则、数据来源、责任单位、佐证材料和说明。",
        epilog="示例：\n  qcbot kb show shandong 17\n  qcbot kb show shandong 17 --plan linzi --json",
    )
    show.add_argument("framework", metavar="体系", help="评价体系编号：shandong、hunan、henan、jinan")
    show.add_argument("id", metavar="指标", help="指标编号（文件中的序号）")
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

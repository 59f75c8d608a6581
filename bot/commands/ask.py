"""`qcbot ask`: answer questions from the knowledge base (one, or one per stdin line)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from knowledge.cache import load_librarian
from knowledge.qa import Answer

DEFAULT_PLAN = "pingyin"
EPILOG = """\
示例：
  qcbot ask 计量怎么得分？
  qcbot ask --plan linzi 标准化工作谁负责？
  qcbot ask --json 质量强县要多少分才合格
  printf '计量怎么得分？\\n品牌建设\\n' | qcbot ask - --json"""


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `ask`."""
    ask = sub.add_parser(
        "ask",
        help="回答关于指标的问题；问题为 - 时逐行读取标准输入",
        description="按知识库回答关于指标的问题；找不到相关指标时如实回答“没找到”。",
        epilog=EPILOG,
    )
    ask.add_argument(
        "question", nargs="+", metavar="问题", help="问题，例如：计量怎么得分？（- 表示从标准输入逐行读取）"
    )
    ask.add_argument("--plan", "-p", default=None, help=f"部署的方案（默认 {DEFAULT_PLAN}）")
    ask.add_argument("--framework", "-f", default=None, help="限定评价体系：shandong、hunan、henan、jinan")
    ask.add_argument("--json", action="store_true", help="每个问题输出一行 JSON")
    ask.set_defaults(handler=cmd_ask)


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer the question(s); everything is loaded once."""
    librarian = load_librarian(getattr(args, "data", None), default_plan=args.plan or DEFAULT_PLAN)
    if args.framework:
        librarian.kb.framework(args.framework)
    if args.question == ["-"]:
        for line in sys.stdin:
            _print(librarian.ask(line.rstrip("\r\n"), framework=args.framework), args.json)
            sys.stdout.flush()
        return 0
    _print(librarian.ask(" ".join(args.question), framework=args.framework), args.json)
    return 0


def _print(answer: Answer, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
    else:
        print(answer.text)

"""`qcbot ask`: answer questions from the knowledge base (one, or one per stdin line)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from bot.commands.common import plans_dir
from knowledge.cache import load_librarian
from knowledge.dialogue import Context, converse
from knowledge.qa import Answer, Intent, Kind, Librarian

DEFAULT_PLAN = "pingyin"
BAD_LINE = '这一行不是对话 JSON：需要 {"chat": "…", "user": "…", "text": "问题", "department": null}'
EPILOG = """\
示例：
  qcbot ask 计量怎么得分？
  qcbot ask --plan linzi 标准化工作谁负责？
  qcbot ask --json 质量强县要多少分才合格
  printf '计量怎么得分？\\n品牌建设\\n' | qcbot ask - --json
  echo '{"chat": "g1", "user": "u1", "text": "计量怎么得分", "department": null}' | qcbot ask --json --dialogue -"""


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
    ask.add_argument(
        "--dialogue", action="store_true",
        help='与 - 合用：每行一个 JSON {"chat","user","text","department"}，按 (chat, user) 保持对话上下文',
    )
    ask.set_defaults(handler=cmd_ask)


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer the question(s); everything is loaded once."""
    librarian = load_librarian(getattr(args, "data", None), default_plan=args.plan or DEFAULT_PLAN, plans_dir=plans_dir())
    if args.framework:
        librarian.kb.framework(args.framework)
    if args.question == ["-"] and args.dialogue:
        _dialogue(librarian, args.json)
        return 0
    if args.question == ["-"]:
        for line in sys.stdin:
            _print(librarian.ask(line.rstrip("\r\n"), framework=args.framework), args.json)
            sys.stdout.flush()
        return 0
    _print(librarian.ask(" ".join(args.question), framework=args.framework), args.json)
    return 0


def _dialogue(librarian: Librarian, as_json: bool) -> None:
    """One answer per JSON line of stdin, with a conversation per (chat, user); bad lines get out_of_scope."""
    contexts: dict[tuple[str, str], Context] = {}
    for line in sys.stdin:
        turn = _turn(line)
        if isinstance(turn, str):
            _print(Answer(line.strip()[:200], Kind.OUT_OF_SCOPE, Intent.OUT_OF_SCOPE, turn, abstained=True), as_json)
            sys.stdout.flush()
            continue
        key = (turn["chat"], turn["user"])
        answer, contexts[key] = converse(
            librarian, turn["text"], contexts.get(key), department=turn["department"], now=time.monotonic()
        )
        _print(answer, as_json)
        sys.stdout.flush()


def _turn(line: str) -> dict[str, Any] | str:
    """A dialogue line as {chat, user, text, department}, or why it cannot be read."""
    try:
        item = json.loads(line)
    except ValueError:
        return BAD_LINE
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        return BAD_LINE
    department = item.get("department")
    return {
        "chat": str(item.get("chat", "")),
        "user": str(item.get("user", "")),
        "text": item["text"],
        "department": department if isinstance(department, str) and department.strip() else None,
    }


def _print(answer: Answer, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
    else:
        print(answer.text)

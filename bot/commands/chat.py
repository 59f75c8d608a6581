"""`qcbot chat`: talk to the bot in the terminal, or pipe a script of messages through it."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
from typing import Any

from bot.commands.common import load_kb
from bot.config import Config, ConfigError

EPILOG = """\
示例：
  qcbot chat
  qcbot chat --plan linzi --user 王科长
  qcbot chat --group
  printf '/bind 市场监管局\\n/myscore\\n' | qcbot chat --db /tmp/试用.db"""


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `chat`."""
    chat = sub.add_parser(
        "chat",
        help="在终端里和机器人对话（默认私聊；也可从标准输入逐行读取消息）",
        description="在终端里和机器人对话，与 Telegram、企业微信用同一套流程；输入 /help 查看命令。",
        epilog=EPILOG,
    )
    chat.add_argument("--plan", "-p", default=None, help="部署的方案（默认取配置 QCBOT_PLAN，即 pingyin）")
    chat.add_argument("--user", "-u", default="console", help="你的用户名（默认 console）")
    chat.add_argument("--db", default=None, help="SQLite 数据库文件（默认取配置 QCBOT_DB_PATH）")
    chat.add_argument("--group", action="store_true", help="模拟群聊：以 @qcbot 或 / 开头的消息才是对机器人说的")
    chat.set_defaults(handler=cmd_chat)


def cmd_chat(args: argparse.Namespace) -> int:
    """Run the console channel on the same core as Telegram and WeCom."""
    try:
        config = Config.load()
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    overrides = {"plan": args.plan, "db_path": args.db}
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v})
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        asyncio.run(_chat(config, args))
    except KeyboardInterrupt:
        print(file=sys.stderr)
    except ConfigError as exc:  # found while building the app: the counties or holidays file
        print(str(exc), file=sys.stderr)
        return 2
    return 0


async def _chat(config: Config, args: argparse.Namespace) -> None:
    from bot.app import create_app  # imported here: `qcbot ask` and `kb` should not pay for it
    from bot.channels.console import ConsoleChannel

    kb = load_kb(args) if getattr(args, "data", None) else None
    app = await create_app(config, kb=kb)
    channel = ConsoleChannel(
        app.handler,
        user=args.user,
        group=args.group,
        out=sys.stdout,
        interactive=sys.stdin.isatty(),
    )
    try:
        await channel.run(sys.stdin)
    finally:
        await app.close()

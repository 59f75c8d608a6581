"""`qcbot serve`: run the Telegram and/or WeCom channels behind one HTTP server."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Any

from bot.config import Config, ConfigError

EPILOG = """\
示例：
  QCBOT_TELEGRAM_TOKEN=123:abc qcbot serve --telegram
  qcbot serve --wecom --port 9000
  qcbot serve --config qcbot.toml

配置项见仓库中的 qcbot.example.toml；端口被占用时退出码为 2。"""


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `serve`."""
    serve = sub.add_parser(
        "serve",
        help="启动机器人服务（Telegram、企业微信），配置读自 QCBOT_* 环境变量",
        description=(
            "启动机器人服务：一个 HTTP 服务承载企业微信回调、Telegram webhook、\n"
            "/healthz（含数据库检查）与 /metrics（Prometheus 格式）；\n"
            "收到 SIGTERM 时答完手头的消息再退出。"
        ),
        epilog=EPILOG,
    )
    serve.add_argument("--telegram", action="store_true", help="启动 Telegram（轮询或 webhook）")
    serve.add_argument(
        "--wecom", action="store_true", help="启动企业微信（智能机器人、自建应用、群机器人）"
    )
    serve.add_argument(
        "--port", type=int, default=None, help="HTTP 端口（默认 QCBOT_PORT 或 8080）"
    )
    serve.add_argument("--config", default=None, help="TOML 配置文件（默认 QCBOT_CONFIG）")
    serve.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    """Load and check the configuration, then serve until SIGTERM."""
    from bot.serve import EXIT_CONFIG, run

    try:
        config = Config.load(file=args.config)
    except ConfigError as exc:
        print(f"无法启动 qcbot serve：{exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.port is not None:
        config = replace(config, port=args.port)
    return run(config, telegram=args.telegram, wecom=args.wecom)

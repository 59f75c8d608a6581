"""The `qcbot` command line: knowledge base, questions, scores, chat and serve."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from knowledge.errors import KnowledgeError, NotFound

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command-line argument is wrong; the message is shown as one line."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `qcbot` command."""
    _utf8_stdio()
    parser = _parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return handler(args)
    except (NotFound, UsageError) as exc:
        print(str(exc).strip("'\""), file=sys.stderr)
        return EXIT_USAGE
    except KnowledgeError as exc:
        print(f"知识库文件有误：{exc}", file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:
        return EXIT_OK


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """Print JSON with --json, otherwise the Chinese text."""
    if getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(text)


def _utf8_stdio() -> None:
    for stream in (sys.stdout, sys.stderr, sys.stdin):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="replace")


def _parser() -> argparse.ArgumentParser:
    from bot.commands import register_all

    parser = argparse.ArgumentParser(prog="qcbot", description="质量强县助手")
    parser.add_argument("--data", type=Path, default=None, help="知识库目录（默认：内置 knowledge/data）")
    sub = parser.add_subparsers(title="命令", metavar="命令")
    register_all(sub)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())

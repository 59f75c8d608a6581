"""The `qcbot` command line: knowledge base, questions, scores, chat and serve."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tomllib
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.commands.common import EXIT_INVALID, EXIT_OK, EXIT_USAGE, UsageError
from knowledge.errors import KnowledgeError, NotFound

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
EPILOG = """\
示例：
  qcbot ask 计量怎么得分？
  qcbot kb show shandong 17 --plan pingyin
  qcbot score --plan pingyin --template -o 答案.yaml
  qcbot chat
  qcbot serve --port 8080

每个命令的用法：qcbot 命令 -h（例如 qcbot score -h）。"""

# argparse's own words (headings, -h, its error messages), looked up through its gettext calls
ARGPARSE_ZH = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "show this help message and exit": "显示本帮助并退出",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选择：%(value)r（可选：%(choices)s）",
    "invalid %(type)s value: %(value)r": "无效的 %(type)s 值：%(value)r",
    "expected one argument": "需要一个值",
    "expected at most one argument": "最多一个值",
    "expected at least one argument": "至少需要一个值",
    "expected %s argument": "需要 %s 个值",
    "expected %s arguments": "需要 %s 个值",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "ignored explicit argument %r": "多余的值 %r",
    "one of the arguments %s is required": "参数 %s 必须提供其一",
    "ambiguous option: %(option)s could match %(matches)s": "有歧义的选项：%(option)s 可指 %(matches)s",
    "unexpected option string: %s": "意外的选项：%s",
    "can't open '%(filename)s': %(error)s": "无法打开“%(filename)s”：%(error)s",
}


def _zh(message: str) -> str:
    return ARGPARSE_ZH.get(message, message)


def _nzh(singular: str, plural: str, n: int) -> str:
    return _zh(singular if n == 1 else plural)


@contextlib.contextmanager
def _chinese() -> Iterator[None]:
    """While inside, argparse looks its own words up in ARGPARSE_ZH (it has no other hook)."""
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._, argparse.ngettext = _zh, _nzh  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the line breaks of descriptions and examples; lists sub-commands under their heading."""

    def _format_action(self, action: argparse.Action) -> str:
        text = super()._format_action(action)
        if isinstance(action, argparse._SubParsersAction):
            text = text.split("\n", 1)[1]  # drop the bare "命令" line above the list
        return text


class ChineseArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose headings, -h text and error messages are Chinese."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        with _chinese():
            super().__init__(*args, **kwargs)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        with _chinese():
            return super().parse_args(args, namespace)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        with _chinese():
            return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        with _chinese():
            return super().format_usage()

    def format_help(self) -> str:
        with _chinese():
            return super().format_help()

    def error(self, message: str) -> Any:
        with _chinese():
            super().error(message)


def version() -> str:
    """The installed package's version, else the one in pyproject.toml (a bare checkout)."""
    try:
        return metadata.version("qcbot")
    except metadata.PackageNotFoundError:
        pass
    try:
        return str(tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "未知"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `qcbot` command."""
    _utf8_stdio()
    parser = build_parser()
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


def _utf8_stdio() -> None:
    for stream in (sys.stdout, sys.stderr, sys.stdin):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="replace")


def build_parser() -> argparse.ArgumentParser:
    """The whole `qcbot` parser, every sub-command registered."""
    from bot.commands import register_all

    parser = ChineseArgumentParser(
        prog="qcbot",
        description="质量强县助手：知识库查询、问答、自评打分，以及 Telegram / 企业微信机器人。",
        epilog=EPILOG,
    )
    parser.add_argument(
        "--version", action="version", version=f"qcbot {version()}", help="显示版本号并退出"
    )
    parser.add_argument(
        "--data", type=Path, default=None, help="知识库目录（默认：内置 knowledge/data）"
    )
    sub = parser.add_subparsers(title="命令", metavar="命令")
    register_all(sub)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())

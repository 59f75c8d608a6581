"""Helpers shared by the sub-commands (and `bot/cli.py`, which imports them; never the reverse)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.config import Config, ConfigError
from knowledge.loader import load_knowledge
from knowledge.model import KnowledgeBase

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command-line argument is wrong; the message is shown as one line."""


@lru_cache(maxsize=4)
def _load(data_dir: Path | None, plans: Path | None = None) -> KnowledgeBase:
    return load_knowledge(data_dir, plans)


def load_kb(args: argparse.Namespace) -> KnowledgeBase:
    """The knowledge base named by --data (default: the packaged one) with QCBOT_PLANS_DIR's plans, loaded once."""
    return _load(getattr(args, "data", None), plans_dir())


def plans_dir() -> Path | None:
    """The deployment's plans directory (QCBOT_PLANS_DIR, or plans_dir in the QCBOT_CONFIG file), if any."""
    try:
        configured = Config.load().plans_dir
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    return Path(configured).expanduser() if configured else None


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """Print JSON with --json, otherwise the Chinese text."""
    if getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(text)


def show_help(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """A handler for a command given without its sub-command: its help, exit code 2."""

    def handler(args: argparse.Namespace) -> int:
        parser.print_help()
        return EXIT_USAGE

    return handler

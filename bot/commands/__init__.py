"""Sub-commands of the `qcbot` command line, one module each."""

from __future__ import annotations

import argparse
from typing import Any

from bot.commands import ask, chat, kb, package, plan, score, serve


def register_all(sub: argparse._SubParsersAction[Any]) -> None:
    """Add every sub-command to the parser."""
    for module in (kb, ask, score, chat, serve, package, plan):
        module.register(sub)

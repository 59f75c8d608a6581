"""The /help reply and the polite refusals; the commands themselves are in `handlers/commands.py`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from handlers.core import Reply

if TYPE_CHECKING:
    from handlers.commands import Command


@dataclass(frozen=True)
class FlowWord:
    """A word understood during a self-assessment."""

    word: str
    summary: str


FLOW_WORDS: tuple[FlowWord, ...] = (
    FlowWord("跳过", "先不答这题"),
    FlowWord("上一题", "回到上一题"),
    FlowWord("修改第5题", "改某一题的答案"),
    FlowWord("这题什么意思？", "解释当前题目"),
    FlowWord("暂停", "保存进度，稍后说“自评”继续"),
    FlowWord("取消", "退出自评，已填答案保留"),
    FlowWord("确认", "沿用其他部门已填的答案，不用重填"),
)


def help_text(county: str, commands: Sequence[Command], counties: int = 1) -> str:
    """What the bot does, one line and one example per command (`counties`: how many the service covers)."""
    lines = [f"我是{county}质量强县助手，能做这些："]
    if counties > 1:
        lines[0] = f"我是{county}质量强县助手（本服务覆盖{counties}个县（区），/county 查看或切换），能做这些："
    lines += [f"{c.name} {c.summary}，例：{c.example}" for c in commands if not c.admin]
    lines.append("质量强县办（管理员）专用：")
    lines += [f"{c.name} {c.summary}，例：{c.example}" for c in commands if c.admin]
    lines.append("自评时可回复：" + "、".join(f"“{w.word}”" for w in FLOW_WORDS))
    lines.append("群里请@我或用命令；私聊直接说。")
    return "\n".join(lines)


def help_reply(county: str, commands: Sequence[Command], counties: int = 1) -> list[Reply]:
    """The /help reply."""
    return [Reply(help_text(county, commands, counties))]


def admin_only(command: str) -> list[Reply]:
    """The polite refusal of an office command."""
    return [Reply(
        f"抱歉，{command} 是质量强县办（管理员）专用的命令。"
        "你可以用 /myscore、/gaps 查看本部门的情况；如需开通请联系质量强县办。"
    )]


def region_only(command: str) -> list[Reply]:
    """The polite refusal of `全部` (every county) to anyone but the city or province admins."""
    return [Reply(
        f"抱歉，{command} 全部（各县区汇总对比）是市（省）级管理员专用的。"
        f"你可以用 {command} 查看本县（区）的情况。"
    )]

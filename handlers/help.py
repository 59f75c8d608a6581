"""The command registry (name, Chinese words, help text, example) and the /help reply."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.core import Reply
from handlers.services import normalize


@dataclass(frozen=True)
class Command:
    """A command people can send, with the Chinese words that mean the same."""

    name: str  # "/assess"
    summary: str
    example: str
    words: tuple[str, ...] = ()  # exact messages that run it too ("自评")
    takes_args: bool = False
    admin: bool = False  # for the 质量强县办 (Config.admins) only


@dataclass(frozen=True)
class FlowWord:
    """A word understood during a self-assessment."""

    word: str
    summary: str


COMMANDS: tuple[Command, ...] = (
    Command("/help", "查看我能做什么", "/help", ("帮助", "/start", "菜单")),
    Command("/bind", "绑定你的部门（也可说“我是统计局的”）", "/bind 市场监管局", ("绑定",), True),
    Command("/assess", "开始或继续本部门自评，一次一题", "自评", ("自评", "开始自评", "继续自评")),
    Command("/myscore", "本部门各指标得分、占总分比例", "/myscore", ("我的得分", "得分")),
    Command("/gaps", "失分项按可补回分值排序，附措施（管理员：全县）", "/gaps", ("差距", "失分项"), True),
    Command("/ask", "问指标：分值、评分标准、责任单位、材料、时限", "/ask 计量怎么得分？", ("问",), True),
    Command("/remind", "近30天你会收到的提醒（管理员：全部）", "/remind", ("提醒", "我的提醒")),
    Command("/mute", "暂停给我的提醒（截止提醒、自评催办）", "/mute", ("免打扰", "暂停提醒")),
    Command("/unmute", "恢复给我的提醒", "/unmute", ("恢复提醒",)),
    Command(
        "/deadline", "查看时间节点；管理员可设置：日期 事项 [部门…]",
        "/deadline 2026-12-15 提交自评材料 统计局", ("时间节点", "截止时间"), True,
    ),
    Command("/progress", "各部门自评进度：指标、已答、完成率、估分", "/progress",
            ("各部门进度", "全县进度"), admin=True),
    Command("/export", "导出Excel：答案、得分、部门进度、时间节点、未答问题", "/export",
            ("导出",), admin=True),
    Command("/chart", "图表：各一级指标得分、各部门完成率", "/chart", ("图表",), admin=True),
)

FLOW_WORDS: tuple[FlowWord, ...] = (
    FlowWord("跳过", "先不答这题"),
    FlowWord("上一题", "回到上一题"),
    FlowWord("修改第5题", "改某一题的答案"),
    FlowWord("这题什么意思？", "解释当前题目"),
    FlowWord("暂停", "保存进度，稍后说“自评”继续"),
    FlowWord("取消", "退出自评，已填答案保留"),
)


@dataclass(frozen=True)
class CommandCall:
    """A recognised command and the text after it."""

    command: Command
    args: str


def parse_command(text: str) -> CommandCall | None:
    """The command a message runs ("/bind@qcbot 统计局", "自评"), if any."""
    word = normalize(text)
    head, _, rest = word.partition(" ")
    if head.startswith("/"):
        name = head.split("@", 1)[0].lower()
        found = next((c for c in COMMANDS if name == c.name or name in c.words), None)
        return CommandCall(found or UNKNOWN, rest.strip()) if found else CommandCall(UNKNOWN, name)
    for command in COMMANDS:
        if word in command.words:
            return CommandCall(command, "")
        if command.takes_args:
            for w in command.words:
                for sep in (" ", ":", "："):
                    if word.startswith(w + sep) and word[len(w) + 1 :].strip():
                        return CommandCall(command, word[len(w) + 1 :].strip())
    return None


UNKNOWN = Command("/unknown", "", "")


def help_text(county: str) -> str:
    """What the bot does, one line and one example per command."""
    lines = [f"我是{county}质量强县助手，能做这些："]
    lines += [f"{c.name} {c.summary}，例：{c.example}" for c in COMMANDS if not c.admin]
    lines.append("质量强县办（管理员）专用：")
    lines += [f"{c.name} {c.summary}，例：{c.example}" for c in COMMANDS if c.admin]
    lines.append("自评时可回复：" + "、".join(f"“{w.word}”" for w in FLOW_WORDS))
    lines.append("群里请@我或用命令；私聊直接说。")
    return "\n".join(lines)


def help_reply(county: str) -> list[Reply]:
    """The /help reply."""
    return [Reply(help_text(county))]


def unknown_reply(name: str) -> list[Reply]:
    """A command nobody registered."""
    return [Reply(f"不认识命令 {name[:30]}。发送 /help 查看可用命令。")]

"""The one command table: what people can send, the words that mean it, who may, what runs.

Help text (`handlers/help.py`), routing and the admin check (`handlers/dispatch.py`) all read
`COMMANDS`; a new command is one row here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from handlers import ask, assess, bind, bounds, evidence, office, results
from handlers.core import Incoming, Reply
from handlers.help import help_reply
from handlers.package.flow import on_package
from handlers.reminders import commands as remind
from handlers.services import Services, normalize

Route = Callable[[Services, Incoming, str], Awaitable[list[Reply]]]
COUNTY = "/county"  # also answered before a chat has a county (handlers/dispatch.py)


@dataclass(frozen=True)
class Command:
    """A command people can send, with the Chinese words that mean the same."""

    name: str  # "/assess"
    summary: str
    example: str
    run: Route
    words: tuple[str, ...] = ()  # exact messages that run it too ("自评")
    takes_args: bool = False  # "问 计量怎么得分" runs /ask with the rest
    admin: bool = False  # for the 质量强县办 (Config.admins) only; checked by the dispatcher
    reshow: bool = False  # an assessment in progress shows its current question again after it


async def _help(services: Services, message: Incoming, args: str) -> list[Reply]:
    return help_reply(services.plan.county, COMMANDS, len(services.region.counties()))


async def _assess(services: Services, message: Incoming, args: str) -> list[Reply]:
    return await assess.start(services, message)


async def _myscore(services: Services, message: Incoming, args: str) -> list[Reply]:
    return await results.on_myscore(services, message)


async def _county(services: Services, message: Incoming, args: str) -> list[Reply]:
    command = services.region.county_command
    if command is None:
        return [Reply(f"本服务只覆盖{services.plan.county}，无需选择。")]
    return await command(services, message, args)


async def _unknown(services: Services, message: Incoming, args: str) -> list[Reply]:
    return [Reply(f"不认识命令 {args[:30]}。发送 /help 查看可用命令。")]


COMMANDS: tuple[Command, ...] = (
    Command("/help", "查看我能做什么", "/help", _help, ("帮助", "/start", "菜单"), reshow=True),
    Command(
        COUNTY, "查看或选择本群所属县（区）（一个服务覆盖多个县时）", "/county 平阴县", _county,
        ("选择县区", "所属县区"), takes_args=True,
    ),
    Command(
        "/bind", "绑定你的部门（也可说“我是统计局的”）", "/bind 市场监管局", bind.on_command,
        ("绑定",), takes_args=True,
    ),
    Command(
        "/assess", "开始或继续本部门自评，一次一题", "自评", _assess,
        ("自评", "开始自评", "继续自评"),
    ),
    Command(
        "/myscore", "本部门各指标得分、占总分比例", "/myscore", _myscore, ("我的得分", "得分"),
        reshow=True,
    ),
    Command(
        "/gaps", "失分项按可补回分值排序，附措施（管理员：全县）", "/gaps", office.on_gaps,
        ("差距", "失分项"), takes_args=True, reshow=True,
    ),
    Command(
        "/ask", "问指标：分值、评分标准、责任单位、材料、时限", "/ask 计量怎么得分？",
        ask.on_question, ("问",), takes_args=True, reshow=True,
    ),
    Command(
        "/remind", "近30天你会收到的提醒（管理员：全部）", "/remind", remind.on_remind,
        ("提醒", "我的提醒"), reshow=True,
    ),
    Command(
        "/mute", "暂停给我的提醒（截止提醒、自评催办）", "/mute", remind.on_mute,
        ("免打扰", "暂停提醒"), reshow=True,
    ),
    Command("/unmute", "恢复给我的提醒", "/unmute", remind.on_unmute, ("恢复提醒",), reshow=True),
    Command(
        "/deadline", "查看时间节点；管理员可设置：日期 事项 [部门…]",
        "/deadline 2026-12-15 提交自评材料 统计局", remind.on_deadline,
        ("时间节点", "截止时间"), takes_args=True, reshow=True,
    ),
    Command(
        "/holiday", "节假日与调休：查看、设置放假或补班、删除", "/holiday 2027-10-01 2027-10-07 国庆",
        remind.on_holiday, ("节假日",), takes_args=True, admin=True,
    ),
    Command(
        "/progress", "各部门自评进度：指标、已答、完成率、估分（市级管理员：/progress 全部）", "/progress",
        office.on_progress, ("各部门进度", "全县进度"), admin=True,
    ),
    Command(
        "/bounds", "功效系数法满意值、不允许值：查看（官方/估算）、设定、恢复估算",
        "/bounds 第10项 变动幅度 满意 0.2 不允许 -0.1", bounds.on_bounds, ("界值", "功效系数界值"),
        takes_args=True, admin=True,
    ),
    Command(
        "/export", "导出Excel：答案、得分、部门进度、时间节点、未答问题（市级管理员：/export 全部）", "/export",
        office.on_export, ("导出",), admin=True,
    ),
    Command(
        "/chart", "图表：各一级指标得分、各部门完成率", "/chart", office.on_chart, ("图表",),
        admin=True,
    ),
    Command(
        "/evidence", "本部门证实性材料（按指标编号；管理员：全县）；直接发文件即可提交", "/evidence",
        evidence.on_list, ("材料", "我的材料", "证实性材料"), takes_args=True, reshow=True,
    ),
    Command(
        "/withdraw", "撤回一份材料（编号见 /evidence）", "删除材料 3", evidence.on_withdraw,
        ("删除材料", "撤回材料"), takes_args=True, reshow=True,
    ),
    Command(
        "/rename", "给一份材料改名", "重命名材料 3 标准发布公告截图", evidence.on_rename,
        ("重命名材料", "材料改名"), takes_args=True, reshow=True,
    ),
    Command(
        "/package", "打包申报材料：申请表、证实性材料、材料清单目录、缺项报告", "/package",
        on_package, ("申报材料", "打包材料"), admin=True,
    ),
)
UNKNOWN = Command("/unknown", "", "", _unknown)

# button payloads the flows put on their choices, by prefix
BUTTONS: dict[str, Route] = {
    assess.PAYLOAD: assess.on_button,
    ask.CHOICE_PAYLOAD: ask.on_choice,
    bind.PAYLOAD: bind.on_button,
    evidence.PAYLOAD: evidence.on_button,
}


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
        return CommandCall(found, rest.strip()) if found else CommandCall(UNKNOWN, name)
    for command in COMMANDS:
        if word in command.words:
            return CommandCall(command, "")
        if command.takes_args:
            for w in command.words:
                for sep in (" ", ":", "："):
                    if word.startswith(w + sep) and word[len(w) + 1 :].strip():
                        return CommandCall(command, word[len(w) + 1 :].strip())
    return None

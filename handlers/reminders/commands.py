"""Reminder commands: /remind (what is coming), /mute and /unmute, /deadline (the office sets dates)."""

from __future__ import annotations

from handlers.core import Incoming, Reply
from handlers.help import admin_only
from handlers.reminders.calendar import OFF, HolidayError, library_range, parse_holiday
from handlers.reminders.messages import (
    all_deadlines,
    concerning,
    describe,
    refresh_calendar,
    upcoming_occurrences,
)
from handlers.services import Services, actor
from knowledge.deadlines import DeadlineError, day_text, parse_deadline, upcoming
from knowledge.model import Deadline

UPCOMING_DAYS = 30
MAX_LINES = 15
MAX_DEADLINES = 12
_REMOVE = ("删除", "取消", "remove", "delete")


async def on_remind(services: Services, message: Incoming, args: str) -> list[Reply]:
    """/remind: the reminders coming to this person in the next 30 days (admins: every reminder)."""
    now = services.now()
    found = await upcoming_occurrences(services, now, UPCOMING_DAYS)
    admin = services.is_admin(message.channel, message.user_id)
    liaison = await services.storage.liaison(message.channel, message.user_id, services.plan.id)
    if not admin:
        if liaison is None:
            return [Reply("你还没有绑定部门，绑定后会收到本部门的截止提醒。先发送：/bind 部门名称")]
        found = concerning(found, message.channel, message.user_id, liaison.department)
    calendar = services.rules.calendar
    today = calendar.local(now).date()
    head = "近30天将发出的提醒（全部）：" if admin else "近30天你会收到的提醒："
    lines = [describe(o, today, calendar.note(o.due_at.date())) for o in found[:MAX_LINES]]
    if len(found) > MAX_LINES:
        lines.append(f"…共{len(found)}条")
    if not lines:
        head, lines = "近30天没有要发给你的提醒。", []
    muted = (message.channel, message.user_id) in await services.storage.muted()
    tail = ["你已暂停提醒，发送 /unmute 恢复。"] if muted else []
    nxt = upcoming(await all_deadlines(services), today)
    if nxt and liaison is not None and not admin:
        nxt = [d for d in nxt if d.departments is None or liaison.department in d.departments]
    if nxt:
        note = calendar.note(nxt[0].date)
        tail.append(f"下一个截止：{day_text(nxt[0].date)}{note} {nxt[0].text[:40]}")
    return [Reply("\n".join([head, *lines, *tail]))]


async def on_mute(services: Services, message: Incoming, args: str) -> list[Reply]:
    """/mute: no more reminders to this person (group digests still go to the group)."""
    changed = await services.storage.set_muted(message.channel, message.user_id, True)
    head = "好的，已暂停给你的提醒（截止提醒、自评催办）。" if changed else "你的提醒已经是暂停状态。"
    return [Reply(head + "群里的每周进度简报照常。发送 /unmute 恢复。")]


async def on_unmute(services: Services, message: Incoming, args: str) -> list[Reply]:
    """/unmute: reminders again."""
    changed = await services.storage.set_muted(message.channel, message.user_id, False)
    head = "已恢复提醒。" if changed else "你的提醒本来就是开启的。"
    return [Reply(head + "发送 /remind 查看近期提醒。")]


async def on_deadline(services: Services, message: Incoming, args: str) -> list[Reply]:
    """/deadline: list the dates; admins set one ("2026-12-15 提交自评材料 统计局") or delete one."""
    if not args:
        return [Reply(await deadlines_text(services))]
    if not services.is_admin(message.channel, message.user_id):
        return admin_only("/deadline（设置时间节点）")
    head, _, rest = args.partition(" ")
    if head in _REMOVE:
        return [Reply(await _remove(services, rest.strip()))]
    today = services.rules.calendar.local(services.now()).date()
    try:
        request = parse_deadline(args, services.departments, today)
    except DeadlineError as problem:
        return [Reply(str(problem))]
    stored = await services.storage.add_deadline(
        services.plan.id, request.date.isoformat(), request.text, request.departments, actor(message)
    )
    who = "、".join(request.departments) if request.departments else "全部部门"
    offsets = "、".join(str(d) for d in sorted(services.rules.remind_days, reverse=True))
    await refresh_calendar(services)
    calendar = services.rules.calendar
    note = calendar.note(request.date) or ("" if calendar.is_workday(request.date) else "（注意：当天不是工作日）")
    return [Reply(
        f"已设置时间节点 #{stored.id}：{day_text(request.date)}{note} {request.text}，涉及{who}。\n"
        f"将在截止前{offsets}天提醒相关联络员（遇周末、节假日提前到之前最后一个工作日）。\n"
        f"删除：/deadline 删除 {stored.id}"
    )]


async def _remove(services: Services, number: str) -> str:
    if not number.lstrip("#").isdigit():
        return "请写要删除的编号，例如：/deadline 删除 3（编号见 /deadline）"
    removed = await services.storage.remove_deadline(services.plan.id, int(number.lstrip("#")))
    return f"已删除时间节点 #{number.lstrip('#')}。" if removed else f"没有编号为 {number} 的时间节点（方案里的时间节点不能删除）。"


async def deadlines_text(services: Services) -> str:
    """The plan's and the office's dates still ahead (and how many have passed)."""
    await refresh_calendar(services)
    calendar = services.rules.calendar
    today = calendar.local(services.now()).date()
    every = await all_deadlines(services)
    ahead = upcoming(every, today)
    lines = [f"{services.plan.county}的时间节点："]
    lines += [_deadline_line(d) + calendar.note(d.date) for d in ahead[:MAX_DEADLINES]]
    if len(ahead) > MAX_DEADLINES:
        lines.append(f"…共{len(ahead)}个")
    if not ahead:
        lines.append("今后没有时间节点。")
    passed = len(every) - len(ahead)
    if passed:
        lines.append(f"已过去{passed}个（/export 的“时间节点”表里有全部）。")
    lines.append("管理员设置：/deadline 2026-12-15 提交自评材料 统计局")
    return "\n".join(lines)


def _deadline_line(d: Deadline) -> str:
    number = f"#{d.id.removeprefix('office:')} " if d.source == "office" else ""
    who = "、".join(d.departments[:4]) + ("等" if len(d.departments) > 4 else "") if d.departments else "全部部门"
    rolled = f"（原定{d.original.isoformat()}）" if d.original else ""
    return f"· {number}{day_text(d.date)}{rolled} {d.text[:40]}〔{who}〕"


# --- /holiday: the office's holidays and 调休 working days --------------------------------------


async def on_holiday(services: Services, message: Incoming, args: str) -> list[Reply]:
    """/holiday: list, add ("2027-10-01 2027-10-07 国庆", "补班 2027-10-09") or delete ("删除 3")."""
    if not args:
        return [Reply(await holidays_text(services))]
    head, _, rest = args.partition(" ")
    if head in _REMOVE:
        number = rest.strip().lstrip("#")
        if not number.isdigit():
            return [Reply("请写要删除的编号，例如：/holiday 删除 3（编号见 /holiday）")]
        removed = await services.storage.remove_holiday(int(number))
        await refresh_calendar(services)
        return [Reply(f"已删除节假日设置 #{number}。" if removed else f"没有编号为 {number} 的节假日设置。")]
    try:
        request = parse_holiday(args)
    except HolidayError as problem:
        return [Reply(str(problem))]
    stored = await services.storage.add_holiday(
        request.first.isoformat(), request.last.isoformat(), request.kind, request.name, actor(message)
    )
    await refresh_calendar(services)
    what = "放假" if request.kind == OFF else "调休上班"
    span = day_text(request.first) + ("" if request.last == request.first else f"至{day_text(request.last)}")
    return [Reply(
        f"已设置 #{stored.id}：{span} {what}{(' ' + request.name) if request.name else ''}。"
        f"提醒按此计算工作日。删除：/holiday 删除 {stored.id}"
    )]


async def holidays_text(services: Services) -> str:
    """The office's holiday entries and the years the built-in calendar covers."""
    rows = await services.storage.holidays()
    first, last = library_range()
    lines = [f"内置节假日数据覆盖{first}–{last}年；其他年份请办公室设置（或用 QCBOT_HOLIDAYS_FILE 文件）。"]
    for row in rows[-MAX_DEADLINES:]:
        span = row.first if row.first == row.last else f"{row.first}至{row.last}"
        what = "放假" if row.kind == OFF else "调休上班"
        lines.append(f"· #{row.id} {span} {what} {row.name}".rstrip())
    if not rows:
        lines.append("办公室还没有设置节假日。")
    lines.append("设置：/holiday 2027-10-01 2027-10-07 国庆；/holiday 补班 2027-10-09；/holiday 删除 编号")
    return "\n".join(lines)

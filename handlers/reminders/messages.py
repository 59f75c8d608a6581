"""Reminders at work: read who and what from storage, decide with the pure schedule, write the texts.

The rules (offsets, working time, exactly once, catch-up) are in `handlers.reminders.schedule`;
the async runner that claims and sends is `bot.scheduler`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from handlers.core import Reply
from handlers.county import (
    county_view,
    evidence_headline,
    gap_lines,
    headline,
    progress_line,
    unfinished_departments,
)
from handlers.reminders.calendar import OfficeDay
from handlers.reminders.schedule import (
    DEADLINE,
    NUDGE,
    Audience,
    Decision,
    Member,
    Occurrence,
    decide,
    occurrences,
)
from handlers.services import Services
from handlers.store import StoredDeadline, StoredHoliday
from knowledge.deadlines import day_text, upcoming
from knowledge.model import Deadline

DIGEST_DEPARTMENTS = 12
DIGEST_GAPS = 5
TASKS_LISTED = 6
MUTE_HINT = "不想收到提醒可发送 /mute，恢复发送 /unmute。"


def office_deadline(row: StoredDeadline) -> Deadline:
    """A deadline set in chat as the plan's deadlines are."""
    return Deadline(
        f"office:{row.id}", date.fromisoformat(row.date), row.text, row.departments, source="office"
    )


async def all_deadlines(services: Services) -> list[Deadline]:
    """The plan's dates (rolled) and the office's, by date."""
    office = [office_deadline(r) for r in await services.storage.office_deadlines(services.plan.id)]
    return sorted([*services.plan_deadlines(), *office], key=lambda d: (d.date, d.id))


async def audience(services: Services, channels: frozenset[str] | None = None) -> Audience:
    """Bound liaisons with their contacts and mutes, unfinished departments, digest groups."""
    storage = services.storage
    liaisons = await storage.liaisons(services.plan.id)
    contacts = await storage.contacts()
    muted = await storage.muted()
    members = []
    for lia in liaisons:
        seen = contacts.get((lia.channel, lia.user_id))
        members.append(Member(
            lia.channel, lia.user_id, lia.user_name or (seen.user_name if seen else ""),
            lia.department, seen.private_chat if seen else None, seen.group_chat if seen else None,
            (lia.channel, lia.user_id) in muted,
        ))
    bound = {(lia.channel, lia.user_id) for lia in liaisons}
    groups = sorted({
        (c.channel, c.group_chat) for key, c in contacts.items()
        if c.group_chat and (key in bound or services.is_admin(*key))
    })
    unfinished = await unfinished_departments(services)
    return Audience(tuple(members), unfinished, tuple(groups), channels)


def office_days(rows: Iterable[StoredHoliday]) -> list[OfficeDay]:
    """The days of the office's /holiday entries (a later entry for a day wins)."""
    out: list[OfficeDay] = []
    for row in rows:
        first, last = date.fromisoformat(row.first), date.fromisoformat(row.last)
        out += [OfficeDay(first + timedelta(days=i), row.kind, row.name) for i in range((last - first).days + 1)]
    return out


async def refresh_calendar(services: Services) -> None:
    """Load the office's /holiday entries into the working calendar (another process may add some)."""
    services.rules.calendar.office.replace_chat(office_days(await services.storage.holidays()))


async def due(services: Services, now: datetime, channels: frozenset[str] | None) -> Decision:
    """What to send, retry, drop and give up at `now` (back to the longest catch-up window)."""
    rules = services.rules
    await refresh_calendar(services)
    found = occurrences(
        await all_deadlines(services), await audience(services, channels), rules, now - rules.lookback, now
    )
    claimed = await services.storage.claimed([*(o.key for o in found), *(o.legacy_key for o in found)])
    pending = {
        k: c for k, c in (await services.storage.pending_claims()).items()
        if channels is None or c.channel in channels
    }
    return decide(found, claimed, now, rules, pending)


async def upcoming_occurrences(services: Services, now: datetime, days: int) -> list[Occurrence]:
    """Occurrences still to be sent within the next `days` days."""
    await refresh_calendar(services)
    found = occurrences(
        await all_deadlines(services), await audience(services), services.rules, now,
        now + timedelta(days=days),
    )
    claimed = await services.storage.claimed([*(o.key for o in found), *(o.legacy_key for o in found)])
    return [o for o in found if o.key not in claimed and o.legacy_key not in claimed]


# --- the messages ---------------------------------------------------------------------------


async def compose(services: Services, batch: Sequence[Occurrence], now: datetime) -> Reply:
    """One message for occurrences with the same delivery (one, or a group's deadline reminder)."""
    occurrence = batch[0]
    if occurrence.kind == DEADLINE:
        text = await _deadline_text(services, batch, now)
    elif occurrence.kind == NUDGE:
        text = await _nudge_text(services, occurrence)
    else:
        text = await digest_text(services, now)
    r = occurrence.recipient
    keys = [o.key for o in batch]
    return Reply(text, to_chat=r.chat_id, private=r.private, meta={"reminder": keys[0], "reminders": "\n".join(keys)})


def when_left(deadline: date, today: date) -> str:
    """今天截止 / 明天截止 / 还有3天."""
    days = (deadline - today).days
    return {0: "今天截止", 1: "明天截止"}.get(days, f"还有{days}天")


async def _deadline_text(services: Services, batch: Sequence[Occurrence], now: datetime) -> str:
    occurrence = batch[0]
    deadline = occurrence.deadline
    if deadline is None:
        return ""
    calendar = services.rules.calendar
    today = calendar.local(now).date()
    lines = [
        f"【截止提醒】{when_left(deadline.date, today)}：{deadline.text}",
        f"截止：{day_text(deadline.date)}{calendar.note(deadline.date, today)}",
    ]
    if deadline.original is not None:
        year = deadline.date.year
        lines.append(f"（方案原定{deadline.original.isoformat()}，已按{year}年度顺延）")
    r = occurrence.recipient
    if not r.private:
        departments = list(dict.fromkeys(d for o in batch for d in o.recipient.departments))
        lines.append("涉及：" + "、".join(departments) + "。请各联络员按时完成。")
        return "\n".join(lines)
    department = r.departments[0]
    lines += _tasks(services, deadline, department)
    lines += await _unanswered(services, department)
    lines.append(MUTE_HINT)
    return "\n".join(lines)


def _tasks(services: Services, deadline: Deadline, department: str) -> list[str]:
    mine = [
        services.framework.indicators[i] for i in deadline.tasks
        if department in services.responsibility.departments(services.framework.indicators[i])
    ]
    if not mine:
        return []
    lines = [f"本部门到期任务{len(mine)}项："]
    lines += [f"· {ind.id} {ind.label[:24]}" for ind in mine[:TASKS_LISTED]]
    if len(mine) > TASKS_LISTED:
        lines.append(f"…等{len(mine)}项，发送 /myscore 查看")
    return lines


async def _unanswered(services: Services, department: str) -> list[str]:
    answers = await services.storage.answers(services.plan.id, department)
    questions = services.questions(department)
    done = sum(q.fact.id in answers for q in questions)
    if not questions or done >= len(questions):
        return []
    return [f"本部门自评已答{done}/{len(questions)}题，发送“自评”继续。"]


async def _nudge_text(services: Services, occurrence: Occurrence) -> str:
    r = occurrence.recipient
    department = r.departments[0]
    answers = await services.storage.answers(services.plan.id, department)
    questions = services.questions(department)
    done = sum(q.fact.id in answers for q in questions)
    left = len(questions) - done
    if r.private:
        return (
            f"【自评提醒】{department}自评已答{done}/{len(questions)}题，还差{left}题。"
            f"发送“自评”继续，进度会保存。\n{MUTE_HINT}"
        )
    return (
        f"【自评提醒】{r.user_name or r.user_id}（{department}）：自评已答{done}/{len(questions)}题，"
        f"还差{left}题。私聊我或在群里@我说“自评”即可继续。"
    )


async def digest_text(services: Services, now: datetime) -> str:
    """The weekly digest: estimated county score, completion per department, top gaps, next deadline."""
    view = await county_view(services)
    checklist = view.assessment.checklist is not None
    lines = [f"【本周进度】{services.plan.county}质量强县自评", headline(view)]
    lines += [evidence_headline(view, len(services.framework.indicators)), "各部门完成情况："]
    shown = view.departments[:DIGEST_DEPARTMENTS]
    lines += [progress_line(p, checklist, view.evidence_of(p.department)) for p in shown]
    if len(view.departments) > len(shown):
        lines.append(f"…等{len(view.departments)}个部门，管理员可发送 /progress 查看全部")
    gaps = gap_lines(view, DIGEST_GAPS)
    if gaps:
        lines += [f"最该补的{len(gaps)}项：", *gaps]
    today = services.rules.calendar.local(now).date()
    nxt = upcoming(await all_deadlines(services), today)
    if nxt:
        lines.append(f"下一个截止：{day_text(nxt[0].date)} {nxt[0].text[:40]}")
    return "\n".join(lines)


def describe(occurrence: Occurrence, today: date, note: str = "") -> str:
    """One line for /remind: when, what, to whom (`note`: the calendar does not cover the day)."""
    when = occurrence.due_at.strftime("%m-%d %H:%M")
    week = "一二三四五六日"[occurrence.due_at.weekday()]
    if occurrence.kind == DEADLINE and occurrence.deadline is not None:
        left = when_left(occurrence.deadline.date, occurrence.due_at.date())
        what = f"截止提醒（{left}）：{occurrence.deadline.text[:30]}"
    elif occurrence.kind == NUDGE:
        what = "自评催办"
    else:
        what = "每周进度简报"
    r = occurrence.recipient
    if r.private:
        who = f"{r.user_name or r.user_id}（私聊）"
    elif r.user_id:
        who = f"{r.user_name or r.user_id}（群 {r.chat_id}）"
    else:
        who = f"群 {r.chat_id}" + (f"（{'、'.join(r.departments)}）" if r.departments else "")
    return f"· {when}（周{week}）{note} {what} → {who}"


def concerning(found: Iterable[Occurrence], channel: str, user_id: str, department: str | None) -> list[Occurrence]:
    """The occurrences that reach this person: theirs, and group reminders for their department."""
    out = []
    for o in found:
        r = o.recipient
        mine = (r.channel, r.user_id) == (channel, user_id)
        if mine or (not r.user_id and o.kind == DEADLINE and department in r.departments):
            out.append(o)
    return out

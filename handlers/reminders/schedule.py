"""Which reminders are due, to whom, and which are dropped: pure, with the clock passed in.

Three kinds:

* **deadline** — `remind_days` (default 7, 3 and 1) days before each deadline, at the opening
  hour (9:00), to the departments it concerns: each bound liaison privately where the bot knows
  their private chat, otherwise one message in the group where they were last seen, naming the
  departments.
* **nudge** — weekly (Mondays 10:00 by default) to each liaison whose department still has
  unanswered self-assessment questions; privately, else by name in their last group.
* **digest** — weekly (Fridays 16:00 by default) to every group where a liaison or admin was last
  seen: the county's estimated score, completion per department, the five largest gaps.

When: a reminder whose moment falls on a weekend, a public holiday or outside office hours
(Asia/Shanghai, `chinesecalendar`, adjusted working days count as working days) moves to the next
working moment; nothing is ever sent outside office hours.

Exactly once: every occurrence has a deterministic key — kind | target | deadline id | offset
| nominal day — and the runner claims it in SQLite (a unique key, INSERT … ON CONFLICT DO
NOTHING) before sending, so a restart or a second runner on the same database never sends it
again. A claim is never retried: a failed send is recorded, not repeated.

Catch-up after downtime: a due, unclaimed occurrence is sent at the first working moment at or
after it while it is still useful, and dropped (recorded, never sent) once it is stale:

* a deadline reminder is useful until its deadline day has ended; when several reminders of the
  same deadline to the same target are due at once, only the nearest one (smallest offset) is
  sent and the earlier ones are dropped as superseded;
* a digest is useful for 24 hours after its moment;
* a nudge is useful for 3 days after its moment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from handlers.reminders.calendar import WorkingTime
from knowledge.deadlines import concerns
from knowledge.model import Deadline

DEADLINE, NUDGE, DIGEST = "deadline", "nudge", "digest"
KINDS = (DEADLINE, NUDGE, DIGEST)
DIGEST_USEFUL = timedelta(hours=24)
NUDGE_USEFUL = timedelta(days=3)
STALE, SUPERSEDED = "stale", "superseded"


@dataclass(frozen=True)
class Rules:
    """When reminders go out (from the configuration)."""

    calendar: WorkingTime
    remind_days: tuple[int, ...] = (7, 3, 1)
    nudge_weekday: int = 0  # Monday
    nudge_hour: int = 10
    digest_weekday: int = 4  # Friday
    digest_hour: int = 16

    @property
    def lookback(self) -> timedelta:
        """How far back an unsent occurrence can still be useful."""
        days = max([*self.remind_days, NUDGE_USEFUL.days, 1])
        return timedelta(days=days + 2)


@dataclass(frozen=True)
class Member:
    """A bound liaison and where the bot can reach them."""

    channel: str
    user_id: str
    user_name: str
    department: str
    private_chat: str | None = None
    group_chat: str | None = None
    muted: bool = False


@dataclass(frozen=True)
class Audience:
    """Who may be reminded now: liaisons, unfinished departments, digest groups, live channels."""

    members: tuple[Member, ...]
    unfinished: frozenset[str] = frozenset()
    groups: tuple[tuple[str, str], ...] = ()  # (channel, chat id) that get the digest
    channels: frozenset[str] | None = None  # channels that can deliver; None = every channel

    def reachable(self, channel: str) -> bool:
        """True when a message can go out on this channel."""
        return self.channels is None or channel in self.channels


@dataclass(frozen=True)
class Recipient:
    """Where one reminder goes: a private chat, or a group (naming a person or departments)."""

    channel: str
    chat_id: str
    private: bool
    user_id: str = ""  # set when the reminder is for one person
    user_name: str = ""
    departments: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        """user:<channel>:<id> for a person, group:<channel>:<chat> for a group."""
        if self.user_id:
            return f"user:{self.channel}:{self.user_id}"
        return f"group:{self.channel}:{self.chat_id}"


@dataclass(frozen=True)
class Occurrence:
    """One reminder to one recipient at one moment."""

    kind: str
    recipient: Recipient
    day: date  # the nominal day (deadline − offset, or the week's day), before moving
    due_at: datetime  # the working moment it goes out
    deadline: Deadline | None = None
    offset: int = 0

    @property
    def key(self) -> str:
        """kind|target|deadline id|offset|day: the same occurrence always has the same key."""
        deadline = self.deadline.id if self.deadline is not None else "-"
        return "|".join(
            (self.kind, self.recipient.target, deadline, str(self.offset), self.day.isoformat())
        )

    def useful_until(self, calendar: WorkingTime) -> datetime:
        """After this moment the occurrence is stale and dropped instead of sent."""
        if self.kind == DEADLINE and self.deadline is not None:
            return calendar.at(self.deadline.date + timedelta(days=1), 0)
        return self.due_at + (DIGEST_USEFUL if self.kind == DIGEST else NUDGE_USEFUL)


@dataclass(frozen=True)
class Decision:
    """What a tick does: send these now; drop those (stale or superseded) for good."""

    send: tuple[Occurrence, ...] = ()
    drop: tuple[tuple[Occurrence, str], ...] = ()


# --- recipients -----------------------------------------------------------------------------


def deadline_recipients(deadline: Deadline, audience: Audience) -> list[Recipient]:
    """Liaisons of the departments concerned, privately; the rest through their last group."""
    out: list[Recipient] = []
    groups: dict[tuple[str, str], list[str]] = {}
    for m in audience.members:
        if m.muted or not concerns(deadline, m.department) or not audience.reachable(m.channel):
            continue
        if m.private_chat:
            out.append(Recipient(m.channel, m.private_chat, True, m.user_id, m.user_name, (m.department,)))
        elif m.group_chat:
            depts = groups.setdefault((m.channel, m.group_chat), [])
            if m.department not in depts:
                depts.append(m.department)
    out += [Recipient(ch, chat, False, departments=tuple(d)) for (ch, chat), d in groups.items()]
    return out


def nudge_recipients(audience: Audience) -> list[Recipient]:
    """Liaisons whose department has unanswered questions: privately, else named in their group."""
    out = []
    for m in audience.members:
        if m.muted or m.department not in audience.unfinished or not audience.reachable(m.channel):
            continue
        chat, private = (m.private_chat, True) if m.private_chat else (m.group_chat, False)
        if chat:
            out.append(Recipient(m.channel, chat, private, m.user_id, m.user_name, (m.department,)))
    return out


def digest_recipients(audience: Audience) -> list[Recipient]:
    """Every digest group on a live channel."""
    return [Recipient(ch, chat, False) for ch, chat in audience.groups if audience.reachable(ch)]


# --- occurrences ----------------------------------------------------------------------------


def occurrences(
    deadlines: Sequence[Deadline], audience: Audience, rules: Rules, start: datetime, end: datetime
) -> list[Occurrence]:
    """Every occurrence whose moment is within [start, end], in time order."""
    found = [*_deadline_occurrences(deadlines, audience, rules), *_weekly(audience, rules, start, end)]
    inside = [o for o in found if start <= o.due_at <= end]
    return sorted(inside, key=lambda o: (o.due_at, o.key))


def _deadline_occurrences(
    deadlines: Sequence[Deadline], audience: Audience, rules: Rules
) -> Iterable[Occurrence]:
    cal = rules.calendar
    for deadline in deadlines:
        recipients = deadline_recipients(deadline, audience)
        moments: dict[datetime, tuple[int, date]] = {}
        for offset in sorted(set(rules.remind_days), reverse=True):
            day = deadline.date - timedelta(days=offset)
            due = cal.next_open(cal.at(day, cal.start_hour))
            if due.date() <= deadline.date:  # moved past the deadline: never useful
                moments[due] = (offset, day)  # two moved to one moment: the nearer one only
        for due, (offset, day) in moments.items():
            for recipient in recipients:
                yield Occurrence(DEADLINE, recipient, day, due, deadline, offset)


def _weekly(audience: Audience, rules: Rules, start: datetime, end: datetime) -> Iterable[Occurrence]:
    cal = rules.calendar
    first = cal.local(start).date() - timedelta(days=7)
    last = cal.local(end).date()
    kinds = (
        (NUDGE, rules.nudge_weekday, rules.nudge_hour, nudge_recipients(audience)),
        (DIGEST, rules.digest_weekday, rules.digest_hour, digest_recipients(audience)),
    )
    for kind, weekday, hour, recipients in kinds:
        day = first + timedelta(days=(weekday - first.weekday()) % 7)
        while day <= last:
            due = cal.next_open(cal.at(day, hour))
            yield from (Occurrence(kind, r, day, due) for r in recipients)
            day += timedelta(weeks=1)


# --- the decision ---------------------------------------------------------------------------


def decide(
    candidates: Iterable[Occurrence], claimed: set[str], now: datetime, rules: Rules
) -> Decision:
    """Due and unclaimed: send the useful ones (office open only), drop stale and superseded ones."""
    due = [o for o in candidates if o.key not in claimed and o.due_at <= now]
    drop: list[tuple[Occurrence, str]] = []
    useful: list[Occurrence] = []
    for o in due:
        if now >= o.useful_until(rules.calendar):
            drop.append((o, STALE))
        else:
            useful.append(o)
    nearest: dict[tuple[str, str], int] = {}
    for o in useful:
        if o.kind == DEADLINE and o.deadline is not None:
            key = (o.recipient.target, o.deadline.id)
            nearest[key] = min(nearest.get(key, o.offset), o.offset)
    send: list[Occurrence] = []
    for o in useful:
        if o.kind == DEADLINE and o.deadline is not None and (
            o.offset != nearest[(o.recipient.target, o.deadline.id)]
        ):
            drop.append((o, SUPERSEDED))
            continue
        send.append(o)
    if not rules.calendar.is_open(now):
        send = []  # quiet hours: wait for the next working moment
    return Decision(tuple(send), tuple(drop))

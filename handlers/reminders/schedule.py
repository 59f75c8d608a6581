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

When: a deadline reminder whose day is not a working day (a weekend, a public holiday; adjusted
working days 调休 count as working days; see `handlers.reminders.calendar`) moves EARLIER, to the
last working day before it, at the opening hour — never later, so never past its deadline. When
two reminders of one deadline land on the same moment only the nearer one (smaller offset) is
kept. A weekly nudge or digest on a closed day moves to the last working day before it in the
same week (Monday to Sunday), else to the first working day after it in that week; a week with
no working day has none. Nothing is ever sent outside office hours (Asia/Shanghai).

Exactly once, per person: every occurrence has a deterministic key — kind | person | deadline
id | offset | nominal day — where the person is `user:<channel>:<id>` (deadline reminders and
nudges, whether they go privately or into a group) or `group:<channel>:<chat>` (the digest). The
chat is not in the key, so a liaison who moves from the group to a private chat is not reminded
again. Deadline reminders to several people in one group go out as one message, one key each.

Claimed → sent: the runner inserts the key (status `claimed`, attempts 1, INSERT … ON CONFLICT
DO NOTHING) before it composes and sends, and records `sent` with `sent_at` after the channel
accepted it. A claim left without a send — the process was killed, or the channel failed — is
retried once (attempts 2) while the occurrence is still useful; a claim given up (out of its
window, superseded, not due any more, or its retry failed) becomes `lost`, with one log line
naming the key.

Catch-up after downtime: a due, unclaimed occurrence is sent at the first working moment at or
after it while it is still useful, and dropped (recorded, never sent) once it is stale:

* a deadline reminder is useful until its deadline day has ended; when several reminders of the
  same deadline to the same person are due at once, only the nearest one (smallest offset) is
  sent and the earlier ones are dropped as superseded;
* a digest is useful for 24 hours after its moment;
* a nudge is useful for 3 days after its moment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from handlers.reminders.calendar import WorkingTime
from handlers.store import ClaimState
from knowledge.deadlines import concerns
from knowledge.model import Deadline

DEADLINE, NUDGE, DIGEST = "deadline", "nudge", "digest"
KINDS = (DEADLINE, NUDGE, DIGEST)
DIGEST_USEFUL = timedelta(hours=24)
NUDGE_USEFUL = timedelta(days=3)
STALE, SUPERSEDED = "stale", "superseded"
OUT_OF_WINDOW, RETRY_FAILED, NOT_DUE = "out of window", "retry failed", "not due any more"
PENDING = ("claimed", "failed")  # claimed and not (yet) sent
MAX_ATTEMPTS = 2  # the first send and one retry


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
        return timedelta(days=days + 9)  # deadline reminders can move earlier by a holiday week


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
        """The person: user:<channel>:<id>; a group digest: group:<channel>:<chat>."""
        if self.user_id:
            return f"user:{self.channel}:{self.user_id}"
        return f"group:{self.channel}:{self.chat_id}"


@dataclass(frozen=True)
class Occurrence:
    """One reminder to one person (or one digest group) at one moment."""

    kind: str
    recipient: Recipient
    day: date  # the nominal day (deadline − offset, or the week's day), before moving
    due_at: datetime  # the working moment it goes out
    deadline: Deadline | None = None
    offset: int = 0

    @property
    def key(self) -> str:
        """kind|person|deadline id|offset|day: the same occurrence always has the same key."""
        return self._key(self.recipient.target)

    @property
    def legacy_key(self) -> str:
        """The key before reminders were keyed by person (a deadline reminder in a group)."""
        if self.kind == DEADLINE and not self.recipient.private:
            return self._key(f"group:{self.recipient.channel}:{self.recipient.chat_id}")
        return self.key

    @property
    def delivery(self) -> tuple[str, ...]:
        """Occurrences with the same delivery go out as one message (a group's deadline reminder)."""
        r = self.recipient
        if self.kind == DEADLINE and not r.private:
            return (self.kind, r.channel, r.chat_id, self._key(""))
        return (self.key,)

    def _key(self, target: str) -> str:
        deadline = self.deadline.id if self.deadline is not None else "-"
        return "|".join((self.kind, target, deadline, str(self.offset), self.day.isoformat()))

    def useful_until(self, calendar: WorkingTime) -> datetime:
        """After this moment the occurrence is stale and dropped instead of sent."""
        if self.kind == DEADLINE and self.deadline is not None:
            return calendar.at(self.deadline.date + timedelta(days=1), 0)
        return self.due_at + (DIGEST_USEFUL if self.kind == DIGEST else NUDGE_USEFUL)


@dataclass(frozen=True)
class Decision:
    """What a tick does: send new ones, retry unsent claims, drop unclaimed ones, give up claims."""

    send: tuple[Occurrence, ...] = ()
    drop: tuple[tuple[Occurrence, str], ...] = ()
    retry: tuple[Occurrence, ...] = ()
    lost: tuple[tuple[str, str], ...] = ()  # (key, reason): claims given up


# --- recipients -----------------------------------------------------------------------------


def deadline_recipients(deadline: Deadline, audience: Audience) -> list[Recipient]:
    """Each liaison of the departments concerned: privately where known, else in their last group."""
    out: list[Recipient] = []
    for m in audience.members:
        if m.muted or not concerns(deadline, m.department) or not audience.reachable(m.channel):
            continue
        chat, private = (m.private_chat, True) if m.private_chat else (m.group_chat, False)
        if chat:
            out.append(Recipient(m.channel, chat, private, m.user_id, m.user_name, (m.department,)))
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


def deadline_moments(deadline: Deadline, rules: Rules) -> dict[datetime, tuple[int, date]]:
    """When each offset's reminder goes out (moved earlier off closed days), nearer offsets winning."""
    cal = rules.calendar
    moments: dict[datetime, tuple[int, date]] = {}
    for offset in sorted(set(rules.remind_days), reverse=True):
        day = deadline.date - timedelta(days=offset)
        working = cal.last_workday(day)
        if working is not None:  # two moved to one moment: the nearer one only
            moments[cal.at(working, cal.start_hour)] = (offset, day)
    return moments


def _deadline_occurrences(
    deadlines: Sequence[Deadline], audience: Audience, rules: Rules
) -> Iterable[Occurrence]:
    for deadline in deadlines:
        recipients = deadline_recipients(deadline, audience)
        for due, (offset, day) in deadline_moments(deadline, rules).items():
            for recipient in recipients:
                yield Occurrence(DEADLINE, recipient, day, due, deadline, offset)


def weekly_moment(calendar: WorkingTime, day: date, hour: int) -> datetime | None:
    """A weekly reminder's moment: its day, else the last working day before it in the same
    week, else the first working day after it in that week; None when the week is closed."""
    monday = day - timedelta(days=day.weekday())
    before = [day - timedelta(days=i) for i in range((day - monday).days + 1)]
    after = [day + timedelta(days=i) for i in range(1, 7 - day.weekday())]
    for candidate in (*before, *after):
        if calendar.is_workday(candidate):
            return calendar.at(candidate, hour)
    return None


def _weekly(audience: Audience, rules: Rules, start: datetime, end: datetime) -> Iterable[Occurrence]:
    cal = rules.calendar
    first = cal.local(start).date() - timedelta(days=7)
    last = cal.local(end).date() + timedelta(days=7)
    kinds = (
        (NUDGE, rules.nudge_weekday, rules.nudge_hour, nudge_recipients(audience)),
        (DIGEST, rules.digest_weekday, rules.digest_hour, digest_recipients(audience)),
    )
    for kind, weekday, hour, recipients in kinds:
        day = first + timedelta(days=(weekday - first.weekday()) % 7)
        while day <= last:
            due = weekly_moment(cal, day, hour)
            if due is not None:
                yield from (Occurrence(kind, r, day, due) for r in recipients)
            day += timedelta(weeks=1)


# --- the decision ---------------------------------------------------------------------------


def decide(
    candidates: Iterable[Occurrence],
    claims: Mapping[str, ClaimState],
    now: datetime,
    rules: Rules,
    pending: Mapping[str, ClaimState] | None = None,
) -> Decision:
    """Send the due, unclaimed and useful; retry unsent claims once; drop and give up the rest.

    `claims` holds the state of the candidates' keys; `pending` the claims not yet sent on the
    channels that can deliver (those no candidate matches any more are given up). Sends and
    retries wait for office hours.
    """
    cal = rules.calendar
    every = list(candidates)
    due = [o for o in every if o.due_at <= now]
    new: list[Occurrence] = []
    unsent: list[Occurrence] = []
    drop: list[tuple[Occurrence, str]] = []
    lost: list[tuple[str, str]] = []
    live: list[Occurrence] = []  # sent, or still to send: they compete for "nearest"
    for o in due:
        state = claims.get(o.key)
        if state is None and o.legacy_key in claims:
            continue  # claimed under the old key: that claim was final
        if state is not None and state.status not in PENDING:
            if state.status == "sent":
                live.append(o)
            continue
        stale = now >= o.useful_until(cal)
        if state is None and stale:
            drop.append((o, STALE))
        elif state is None:
            new.append(o)
            live.append(o)
        elif stale or state.attempts >= MAX_ATTEMPTS:
            lost.append((o.key, OUT_OF_WINDOW if stale else RETRY_FAILED))
        else:
            unsent.append(o)
            live.append(o)
    nearest: dict[tuple[str, str], int] = {}
    for o in live:
        if o.kind == DEADLINE and o.deadline is not None:
            mark = (o.recipient.target, o.deadline.id)
            nearest[mark] = min(nearest.get(mark, o.offset), o.offset)

    def superseded(o: Occurrence) -> bool:
        return o.kind == DEADLINE and o.deadline is not None and (
            o.offset != nearest[(o.recipient.target, o.deadline.id)])

    drop += [(o, SUPERSEDED) for o in new if superseded(o)]
    lost += [(o.key, SUPERSEDED) for o in unsent if superseded(o)]
    send = [o for o in new if not superseded(o)]
    retry = [o for o in unsent if not superseded(o)]
    known = {o.key for o in every}
    lost += [(key, NOT_DUE) for key in (pending or {}) if key not in known]
    if not cal.is_open(now):
        send, retry = [], []  # quiet hours: wait for the next working moment
    return Decision(tuple(send), tuple(drop), tuple(retry), tuple(lost))

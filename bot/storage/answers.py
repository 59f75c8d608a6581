"""The county's answers: one row per plan and fact, its author, confirmations by other departments.

Blocking helpers run inside a transaction on the writer. Every fact asks about the county (one
申请表 per county), so departments sharing an indicator share its answer: the latest given counts,
each change goes to answer_history with who made it, and giving (or confirming, 确认) the value
another department gave records agreement without taking over its authorship.
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from handlers.store import Actor, StoredAnswer, Value

_ANSWER = "select * from answers where plan = ?"
_CONFIRMED = "select fact_id, department, value from answer_confirmations where plan = ?"
_UPSERT_ANSWER = (
    "insert into answers (plan, fact_id, department, value, updated_by, updated_at, channel,"
    " user_name) values (?, ?, ?, ?, ?, ?, ?, ?) on conflict (plan, fact_id) do update set"
    " department = excluded.department, value = excluded.value, updated_by = excluded.updated_by,"
    " updated_at = excluded.updated_at, channel = excluded.channel, user_name = excluded.user_name"
)
_CONFIRM = (
    "insert into answer_confirmations (plan, fact_id, department, value, confirmed_by, user_name,"
    " channel, confirmed_at) values (?, ?, ?, ?, ?, ?, ?, ?) on conflict (plan, fact_id, department)"
    " do update set value = excluded.value, confirmed_by = excluded.confirmed_by,"
    " user_name = excluded.user_name, channel = excluded.channel, confirmed_at = excluded.confirmed_at"
)


def read_answers(db: Database, plan: str, department: str | None = None) -> list[StoredAnswer]:
    """The plan's answers by fact id, each with the departments that confirmed its current value."""
    where, args = _ANSWER, [plan]
    if department is not None:
        where, args = where + " and department = ?", [*args, department]
    rows = list(db.query(where + " order by fact_id", args))
    confirmed: dict[tuple[str, str], list[str]] = {}
    for fact_id, dept, value in db.execute(_CONFIRMED + " order by confirmed_at", [plan]).fetchall():
        confirmed.setdefault((fact_id, value), []).append(dept)
    return [StoredAnswer(
        plan=row["plan"], department=row["department"] or "", fact_id=row["fact_id"],
        value=json.loads(row["value"]), updated_by=row["updated_by"] or "",
        updated_at=row["updated_at"], channel=row["channel"] or "", user_name=row["user_name"] or "",
        confirmed=tuple(d for d in confirmed.get((row["fact_id"], row["value"]), [])
                        if d != row["department"]),
    ) for row in rows]


def _current(db: Database, plan: str, fact_id: str) -> tuple[str, str] | None:
    """(value JSON, author department) of the county's answer to a fact, if any."""
    row = db.execute("select value, department from answers where plan = ? and fact_id = ?",
                     [plan, fact_id]).fetchone()
    return (row[0], row[1] or "") if row else None


def save_one(
    db: Database, plan: str, department: str, fact_id: str, value: Value, who: Actor, now: str
) -> bool:
    """Store `department`'s answer to a fact as the county's; True when the value changed."""
    new = json.dumps(value, ensure_ascii=False)
    current = _current(db, plan, fact_id)
    old = current[0] if current else None
    if current is not None and old == new and current[1] != department:
        confirm_one(db, plan, department, fact_id, new, who, now)  # the same value: agreed
        return False
    db.execute(_UPSERT_ANSWER, [plan, fact_id, department, new, who.user_id, now, who.channel,
                                who.user_name])
    if old == new:
        return False
    db.table("answer_history").insert(
        {"plan": plan, "department": department, "fact_id": fact_id, "old_value": old,
         "new_value": new, "changed_by": who.user_id, "changed_at": now, "channel": who.channel,
         "user_name": who.user_name})
    return True


def confirm_one(
    db: Database, plan: str, department: str, fact_id: str, value: str, who: Actor, now: str
) -> bool:
    """Record that `department` agrees with the county's answer, if it still is `value`."""
    current = _current(db, plan, fact_id)
    if current is None or current[0] != value:
        return False
    db.execute(_CONFIRM, [plan, fact_id, department, value, who.user_id, who.user_name,
                          who.channel, now])
    return True

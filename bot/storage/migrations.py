"""The schema as ordered migrations (sqlite-utils `Migrations`); applied on every open."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("qcbot")


@MIGRATIONS()
def m001_liaisons_and_answers(db: Database) -> None:
    """Liaisons, the departments' answers and every change to them."""
    db.table("liaisons").create(
        {"channel": str, "user_id": str, "plan": str, "user_name": str,
         "department": str, "bound_at": str},
        pk=("channel", "user_id", "plan"),
        not_null={"department", "bound_at"},
    )
    db.table("liaisons").create_index(["plan", "department"])
    db.table("answers").create(
        {"plan": str, "department": str, "fact_id": str, "value": str,
         "updated_by": str, "updated_at": str, "channel": str},
        pk=("plan", "department", "fact_id"),
        not_null={"value", "updated_at"},
    )
    db.table("answer_history").create(
        {"id": int, "plan": str, "department": str, "fact_id": str, "old_value": str,
         "new_value": str, "changed_by": str, "changed_at": str, "channel": str},
        pk="id",
        not_null={"plan", "department", "fact_id", "new_value", "changed_at"},
    )
    db.table("answer_history").create_index(["plan", "department", "fact_id"])


@MIGRATIONS()
def m002_conversations(db: Database) -> None:
    """Per user per chat state, and self-assessment progress per user, plan and department."""
    db.table("conversations").create(
        {"channel": str, "chat_id": str, "user_id": str, "state": str, "updated_at": str},
        pk=("channel", "chat_id", "user_id"),
        not_null={"state"},
    )
    db.table("assessments").create(
        {"channel": str, "user_id": str, "plan": str, "department": str, "position": int,
         "fact_id": str, "return_to": int, "status": str, "updated_at": str},
        pk=("channel", "user_id", "plan", "department"),
        not_null={"position", "status"},
    )


@MIGRATIONS()
def m003_question_log(db: Database) -> None:
    """Every question put to the librarian, with what it answered."""
    db.table("question_log").create(
        {"id": int, "asked_at": str, "channel": str, "chat_id": str, "user_id": str,
         "question": str, "kind": str, "intent": str, "hits": str, "abstained": int,
         "answer": str},
        pk="id",
    )
    db.table("question_log").create_index(["asked_at"])


@MIGRATIONS()
def m004_reminders(db: Database) -> None:
    """Deadlines set in chat, where people were last seen, who muted reminders, sent reminders."""
    db.table("deadlines").create(
        {"id": int, "plan": str, "date": str, "text": str, "departments": str,
         "created_by": str, "created_at": str, "channel": str},
        pk="id",
        not_null={"plan", "date", "text", "created_at"},
    )
    db.table("deadlines").create_index(["plan", "date"])
    db.table("contacts").create(
        {"channel": str, "user_id": str, "user_name": str, "private_chat": str,
         "group_chat": str, "last_chat": str, "seen_at": str},
        pk=("channel", "user_id"),
        not_null={"last_chat", "seen_at"},
    )
    db.table("mutes").create(
        {"channel": str, "user_id": str, "muted_at": str},
        pk=("channel", "user_id"),
    )
    # one row per reminder occurrence: the primary key is the claim (exactly once)
    db.table("reminders").create(
        {"key": str, "kind": str, "channel": str, "chat_id": str, "target": str,
         "deadline_id": str, "offset_days": int, "day": str, "due_at": str,
         "claimed_at": str, "status": str, "detail": str},
        pk="key",
        not_null={"kind", "status", "claimed_at"},
    )
    db.table("reminders").create_index(["due_at"])


@MIGRATIONS()
def m005_reminder_sends_and_holidays(db: Database) -> None:
    """Reminders record their sends (sent_at, attempts); the office's holidays and 调休 days."""
    reminders = db.table("reminders")
    if "sent_at" not in reminders.columns_dict:
        reminders.add_column("sent_at", str)
    if "attempts" not in reminders.columns_dict:
        reminders.add_column("attempts", int, not_null_default=1)
    db.execute("update reminders set sent_at = claimed_at where status = 'sent' and sent_at is null")
    reminders.create_index(["status"], if_not_exists=True)
    db.table("holidays").create(
        {"id": int, "first": str, "last": str, "kind": str, "name": str,
         "created_by": str, "created_at": str, "channel": str},
        pk="id",
        not_null={"first", "last", "kind", "created_at"},
        if_not_exists=True,
    )


@MIGRATIONS()
def m006_evidence(db: Database) -> None:
    """Evidence files (证实性材料) departments sent: one row per file per indicator."""
    db.table("evidence").create(
        {"id": int, "plan": str, "framework": str, "indicator": str, "department": str,
         "uploader": str, "channel": str, "user_id": str, "name": str, "size": int,
         "media_type": str, "sha256": str, "received_at": str, "status": str},
        pk="id",
        not_null={"plan", "name", "size", "sha256", "received_at", "status"},
        if_not_exists=True,
    )
    db.table("evidence").create_index(["plan", "department", "indicator"], if_not_exists=True)
    db.table("evidence").create_index(["sha256"], if_not_exists=True)


@MIGRATIONS()
def m007_one_county_answer(db: Database) -> None:
    """One answer per plan and fact (the county's), keeping its author; the others go to history.

    Every fact asks about the county (one 申请表 per county), so a shared indicator's answers
    are merged: the latest stays (department/updated_by/user_name name its author), and each
    earlier different value becomes an answer_history row replaced by the next one. Departments
    that confirm another's answer without retyping it are kept in `answer_confirmations`.
    """
    for name in ("answers", "answer_history"):
        if "user_name" not in db.table(name).columns_dict:
            db.table(name).add_column("user_name", str)
    db.execute(
        "update answers set user_name = (select l.user_name from liaisons l where"
        " l.channel = answers.channel and l.user_id = answers.updated_by and l.plan = answers.plan)"
        " where user_name is null")
    rows = db.execute(  # no rowid: the same statements run on the PostgreSQL backend
        "select plan, fact_id, department, value, updated_by, updated_at, channel, user_name"
        " from answers order by plan, fact_id, updated_at, department").fetchall()
    groups: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in rows:
        groups.setdefault((row[0], row[1]), []).append(tuple(row))
    for (plan, fact_id), group in groups.items():
        for before, after in zip(group, group[1:], strict=False):
            if before[3] != after[3]:  # an earlier different value, replaced by the next one
                db.execute(
                    "insert into answer_history (plan, department, fact_id, old_value, new_value,"
                    " changed_by, changed_at, channel, user_name) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [plan, after[2], fact_id, before[3], after[3], *after[4:8]])
        for dropped in group[:-1]:
            db.execute("delete from answers where plan = ? and fact_id = ? and department = ?",
                       [plan, fact_id, dropped[2]])
    db.table("answers").transform(pk=("plan", "fact_id"))
    db.table("answer_history").create_index(["plan", "fact_id"], if_not_exists=True)
    db.table("answer_confirmations").create(
        {"plan": str, "fact_id": str, "department": str, "value": str, "confirmed_by": str,
         "user_name": str, "channel": str, "confirmed_at": str},
        pk=("plan", "fact_id", "department"),
        not_null={"value", "confirmed_at"},
        if_not_exists=True,
    )


@MIGRATIONS()
def m008_bounds(db: Database) -> None:
    """The office's 功效系数法 bounds (/bounds): x满意 and x不允许 per plan and measure, who and when."""
    db.table("bounds").create(
        {"plan": str, "measure": str, "satisfied": float, "allowed": float,
         "set_by": str, "user_id": str, "channel": str, "set_at": str},
        pk=("plan", "measure"),
        not_null={"satisfied", "allowed", "set_at"},
        if_not_exists=True,
    )


@MIGRATIONS()
def m009_shared_state(db: Database) -> None:
    """State the serve replicas share: ids handled once, short-lived values, send-rate counts."""
    db.table("seen").create(
        {"scope": str, "key": str, "expires_at": float},
        pk=("scope", "key"), not_null={"expires_at"}, if_not_exists=True,
    )
    db.table("seen").create_index(["expires_at"], if_not_exists=True)
    db.table("kv").create(
        {"scope": str, "key": str, "value": str, "expires_at": float},
        pk=("scope", "key"), not_null={"value", "expires_at"}, if_not_exists=True,
    )
    db.table("kv").create_index(["expires_at"], if_not_exists=True)
    db.table("rate").create(
        {"bucket": str, "second": int, "hits": int},
        pk=("bucket", "second"), not_null={"hits"}, if_not_exists=True,
    )


@MIGRATIONS()
def m010_county(db: Database) -> None:
    """Every row names its county (plan id): a `county` column where there is no `plan` column.

    Keys include it where two counties' rows could collide (the same chat, user or reminder key);
    `rate` stays without: a send limit belongs to the webhook, whoever sends. Existing rows get ''
    until `Storage.open(…, default_county=…)` gives them the deployment's county.
    """
    keyed = {
        "conversations": ("county", "channel", "chat_id", "user_id"),
        "contacts": ("county", "channel", "user_id"),
        "mutes": ("county", "channel", "user_id"),
        "reminders": ("county", "key"),
        "seen": ("county", "scope", "key"),
        "kv": ("county", "scope", "key"),
    }
    for name in (*keyed, "question_log", "holidays"):
        if "county" not in db.table(name).columns_dict:
            db.table(name).add_column("county", str, not_null_default="")
    for name, pk in keyed.items():
        db.table(name).transform(pk=pk)
    db.table("question_log").create_index(["county", "abstained"], if_not_exists=True)
    db.table("holidays").create_index(["county"], if_not_exists=True)
    db.table("reminders").create_index(["county", "status"], if_not_exists=True)


@MIGRATIONS()
def m011_leases(db: Database) -> None:
    """Message claims as leases: the replica holding one, until when, the message, and the answer once final."""
    db.table("leases").create(
        {"scope": str, "key": str, "owner": str, "expires_at": float, "final": int, "attempts": int,
         "work": str, "answer": str},
        pk=("scope", "key"), not_null={"owner", "expires_at", "final", "attempts"}, if_not_exists=True,
    )
    db.table("leases").create_index(["scope", "final", "expires_at"], if_not_exists=True)


def migrate(db: Database) -> list[str]:
    """Apply pending migrations in order; return the names applied now."""
    pending = [m.name for m in MIGRATIONS.pending(db)]
    MIGRATIONS.apply(db)
    return pending

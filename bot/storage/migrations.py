"""The schema as ordered migrations (sqlite-utils `Migrations`); applied on every open."""

from __future__ import annotations

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


def migrate(db: Database) -> list[str]:
    """Apply pending migrations in order; return the names applied now."""
    pending = [m.name for m in MIGRATIONS.pending(db)]
    MIGRATIONS.apply(db)
    return pending

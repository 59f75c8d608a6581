"""Scoring conversations (tests/data/dialogues*.yaml) turn by turn; shared by tests/test_dialogue.py and the bench."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.dialogue import Context, converse
from knowledge.qa import Librarian
from knowledge.query import is_english

DATA = Path(__file__).parent / "data"
DEV = DATA / "dialogues.yaml"
HELDOUT = DATA / "dialogues_heldout.yaml"  # written separately, blind to the code; reported when present

# one turn in, the `qcbot ask --json` shape out: (plan, chat, user, text, department)
Turn = Callable[[str, str, str, str, str | None], dict[str, Any]]


@dataclass
class Tally:
    """Right / asked for one group of turns."""

    right: int = 0
    total: int = 0

    @property
    def rate(self) -> float:
        return self.right / self.total if self.total else 0.0


@dataclass
class Report:
    """Accuracy by kind of turn: first turns, follow-ups, questions back, English turns."""

    groups: dict[str, Tally] = field(default_factory=dict)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def add(self, group: str, ok: bool) -> None:
        tally = self.groups.setdefault(group, Tally())
        tally.total += 1
        tally.right += ok

    def rate(self, group: str) -> float:
        """The share right in a group (0 when it is empty)."""
        return self.groups.get(group, Tally()).rate

    def summary(self) -> dict[str, Any]:
        return {name: f"{t.right}/{t.total} = {t.rate:.3f}" for name, t in sorted(self.groups.items())}


def load(path: Path = DEV) -> list[dict[str, Any]]:
    """The conversations of a dialogue set."""
    return list(yaml.safe_load(path.read_text(encoding="utf-8")) or [])


def in_process(librarian: Librarian) -> tuple[Turn, Callable[[], None]]:
    """A turn function keeping contexts per (chat, user) as the CLI does, and a reset between conversations."""
    contexts: dict[tuple[str, str], Context] = {}
    clock = [0.0]

    def turn(plan: str, chat: str, user: str, text: str, department: str | None) -> dict[str, Any]:
        clock[0] += 1.0
        answer, contexts[(chat, user)] = converse(
            librarian, text, contexts.get((chat, user)), plan, department, clock[0]
        )
        return answer.to_json()

    return turn, contexts.clear


def evaluate(conversations: list[dict[str, Any]], turn: Turn, reset: Callable[[], None]) -> Report:
    """Run every conversation from a fresh start and score each turn against its `expect`."""
    report = Report()
    for conv in conversations:
        reset()
        spoken: set[tuple[str, str]] = set()
        plan = conv.get("plan") or "pingyin"
        for t in conv["turns"]:
            who = (str(t["chat"]), str(t["user"]))
            got = turn(plan, who[0], who[1], str(t["text"]), t.get("department"))
            expect = t.get("expect") or {}
            ok, why = check(expect, got)
            group = "clarify" if expect.get("clarify") else "follow_up" if who in spoken else "first"
            report.add(group, ok)
            report.add("all", ok)
            if is_english(str(t["text"])):
                report.add("english", ok)
            if not ok:
                report.misses.append({"id": conv.get("id"), "group": group, "text": t["text"], "why": why,
                                      "got": [got["kind"], [h["id"] for h in got["hits"][:3]], got["answer"][:60]]})
            spoken.add(who)
    return report


def check(expect: dict[str, Any], got: dict[str, Any]) -> tuple[bool, str]:
    """Whether one answer meets its expectation, and what failed."""
    hits = got["hits"]
    if expect.get("clarify"):
        ok = not hits and got["kind"] == "out_of_scope" and ("？" in got["answer"] or "?" in got["answer"])
        return ok, "" if ok else "no question back"
    if expect.get("out_of_scope") and got["kind"] != "out_of_scope":
        return False, "not declined"
    if "kind" in expect and got["kind"] != expect["kind"]:
        return False, f"kind {got['kind']}"
    if "ids" in expect:
        ids = {str(i) for i in expect["ids"]}
        if not hits or hits[0]["id"] not in ids:
            return False, "top-1"
        if expect.get("framework") and hits[0]["framework"] != expect["framework"]:
            return False, f"framework {hits[0]['framework']}"
    if "yes_no" in expect and not got["answer"].startswith(str(expect["yes_no"])):
        return False, "yes/no"
    return True, ""

"""Scoring the Q&A against the labelled dev set (shared by the accuracy test and bench/bench_qa.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEVSET = Path(__file__).parent / "data" / "devset.yaml"


@dataclass(frozen=True)
class Case:
    """One labelled question."""

    q: str
    plan: str
    kind: str
    intent: str
    framework: str | None
    ids: tuple[str, ...]
    department: str | None
    tags: tuple[str, ...]


@dataclass
class Report:
    """Accuracy figures over a dev set."""

    top1: float = 0.0
    top3: float = 0.0
    in_scope: int = 0
    declined_off_topic: float = 0.0
    off_topic: int = 0
    wrongly_declined: int = 0
    department_f1: float = 0.0
    departments: int = 0
    kind_accuracy: float = 0.0
    intent_accuracy: float = 0.0
    misses: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "misses"}


def load_devset(path: Path = DEVSET) -> list[Case]:
    """The labelled questions."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Case(
            q=str(item["q"]),
            plan=item.get("plan") or "pingyin",
            kind=item["kind"],
            intent=item.get("intent") or "",
            framework=item.get("framework"),
            ids=tuple(str(i) for i in item.get("ids") or ()),
            department=item.get("department"),
            tags=tuple(item.get("tags") or ()),
        )
        for item in raw
    ]


Answerer = Callable[[Case], dict[str, Any]]


def evaluate(cases: Sequence[Case], answer: Answerer) -> Report:
    """Run every case through `answer` (returning the `qcbot ask --json` shape) and score it."""
    report = Report()
    top1 = top3 = kinds = intents = declined = 0
    f1s: list[float] = []
    for case in cases:
        got = answer(case)
        hits = [(h["framework"], h["id"]) for h in got["hits"]]
        kinds += got["kind"] == case.kind
        intents += got["intent"] == case.intent
        if case.kind == "out_of_scope":
            report.off_topic += 1
            declined += got["kind"] == "out_of_scope"
            if got["kind"] != "out_of_scope":
                report.misses.append(_miss(case, got, "not declined"))
            continue
        if got["kind"] == "out_of_scope":
            report.wrongly_declined += 1
        if case.kind == "department":
            f1s.append(_f1({i for _, i in hits if _ == case.framework}, set(case.ids)))
            if f1s[-1] < 1:
                report.misses.append(_miss(case, got, f"department F1 {f1s[-1]:.2f}"))
            continue
        if not case.ids:
            continue
        report.in_scope += 1
        expected = {(case.framework, i) for i in case.ids}
        ok1 = bool(hits) and hits[0] in expected
        ok3 = any(h in expected for h in hits[:3])
        top1 += ok1
        top3 += ok3
        if not ok1:
            report.misses.append(_miss(case, got, "top-1"))
    report.top1 = top1 / max(1, report.in_scope)
    report.top3 = top3 / max(1, report.in_scope)
    report.declined_off_topic = declined / max(1, report.off_topic)
    report.departments = len(f1s)
    report.department_f1 = sum(f1s) / max(1, len(f1s))
    report.kind_accuracy = kinds / max(1, len(cases))
    report.intent_accuracy = intents / max(1, len(cases))
    return report


def _f1(got: set[str], expected: set[str]) -> float:
    if not got and not expected:
        return 1.0
    tp = len(got & expected)
    if tp == 0:
        return 0.0
    precision, recall = tp / len(got), tp / len(expected)
    return 2 * precision * recall / (precision + recall)


def _miss(case: Case, got: dict[str, Any], why: str) -> dict[str, Any]:
    return {
        "why": why,
        "q": case.q,
        "plan": case.plan,
        "expected": [case.kind, case.framework, list(case.ids)],
        "got": [got["kind"], got["framework"], [h["id"] for h in got["hits"][:3]]],
        "intent": [case.intent, got["intent"]],
    }

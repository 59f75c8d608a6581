"""Scoring benchmark: a full county (every fact answered, all departments) per system, in ms.

For each system it prints one JSON line with p50/p99 over --runs runs of
  score     score_framework on typed answers (what `qcbot score` runs after validation);
  checked   the answers as typed text (是、95%、三项…) read and checked, then scored;
  cli       the whole `qcbot score --answers` path minus process start: YAML file text parsed,
            checked, scored, rendered as text and as JSON.
Target: score p50 ≤ 5 ms.

Run: .venv/bin/python bench/bench_score.py [--runs 500]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.commands.score import Scope, _units  # noqa: E402
from knowledge.loader import load_knowledge  # noqa: E402
from knowledge.model import KnowledgeBase  # noqa: E402
from knowledge.rules import Fact, Value  # noqa: E402
from scoring.answer_file import check_answers, parse_answer_text  # noqa: E402
from scoring.answers import example  # noqa: E402
from scoring.engine import framework_facts, score_framework  # noqa: E402
from scoring.report import full_text  # noqa: E402
from scoring.samples import best_answers  # noqa: E402

COUNTIES = [("shandong", "pingyin"), ("hunan", None), ("henan", "minquan"), ("jinan", "jinan")]
TODAY = date(2020, 1, 15)
TARGET_MS = 5.0


def as_text(fact: Fact, value: Value) -> str:
    """A value as a liaison types it."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if fact.type == "percent":
        return f"{value:g}{fact.shown_unit}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def full_county(kb: KnowledgeBase, fw_id: str, plan_id: str | None) -> tuple[Scope, dict[str, str]]:
    """Every fact answered as text: the best answers, sample text and dates for the rest."""
    plan = kb.plan(plan_id) if plan_id else None
    fw = kb.framework(fw_id)
    units, verbatim = _units(kb, fw, plan)
    best = best_answers(fw, plan=plan)
    facts = framework_facts(fw)
    text = {
        fid: as_text(fact, best[fid]) if fid in best else example(fact)
        for fid, fact in facts.items()
        if not fact.is_derived  # computed from the raw figures, never typed
    }
    return Scope(fw, plan, units, verbatim), text


def timed(fn: Callable[[], object], runs: int) -> dict[str, float]:
    """p50/p99/max in ms after a short warm-up."""
    for _ in range(10):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[max(0, int(len(times) * 0.99) - 1)], 3),
        "max_ms": round(times[-1], 3),
    }


def bench(scope: Scope, text: dict[str, str], runs: int) -> dict[str, Any]:
    facts = framework_facts(scope.framework)
    typed, problems = check_answers(facts, text)
    assert not problems, problems
    yaml_text = "".join(f"{json.dumps(k, ensure_ascii=False)}: {v}\n" for k, v in text.items())

    def units(ind_id: str) -> tuple[str, ...]:
        return scope.units.get(ind_id, ())

    def score(values: dict[str, Value]) -> Any:
        return score_framework(
            scope.framework, values, plan=scope.plan, units_for=units, today=TODAY, exact=True
        )

    def checked() -> Any:
        values, _ = check_answers(facts, text)
        return score(values)

    def cli() -> Any:
        read = parse_answer_text(yaml_text)
        values, _ = check_answers(facts, read.values)
        result = score(values)
        json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
        return full_text(result, scope.framework, scope.title, None, TODAY)

    result = score(typed)
    return {
        "system": scope.framework.id,
        "plan": scope.plan.id if scope.plan else None,
        "facts": len(text),
        "total": result.total,
        "max": result.max,
        "checklist_done": result.checklist.done if result.checklist else None,
        "score": timed(lambda: score(typed), runs),
        "checked": timed(checked, runs),
        "cli": timed(cli, max(50, runs // 5)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=500, help="runs per system")
    args = parser.parse_args()
    kb = load_knowledge()
    worst = 0.0
    for fw_id, plan_id in COUNTIES:
        scope, text = full_county(kb, fw_id, plan_id)
        line = bench(scope, text, args.runs)
        worst = max(worst, line["score"]["p50_ms"])
        print(json.dumps(line, ensure_ascii=False))
    print(
        json.dumps({"target_ms": TARGET_MS, "worst_score_p50_ms": worst, "ok": worst <= TARGET_MS})
    )


if __name__ == "__main__":
    main()

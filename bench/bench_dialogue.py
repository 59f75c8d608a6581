"""Dialogue benchmark: follow-ups on the dev and held-out conversations, the single-question dev set,
warm per-question latency, and rank-bm25 over default jieba on the same questions (with the ratio).

Run: .venv/bin/python bench/bench_dialogue.py [--misses N]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_qa import baseline  # noqa: E402
from knowledge.dialogue import converse  # noqa: E402
from knowledge.loader import load_knowledge  # noqa: E402
from knowledge.qa import Librarian  # noqa: E402
from tests.dialogue_eval import DEV, HELDOUT, evaluate, in_process, load  # noqa: E402
from tests.qa_eval import Case, load_devset  # noqa: E402
from tests.qa_eval import evaluate as evaluate_single  # noqa: E402


def timings(times: list[float]) -> dict[str, float]:
    """p50 / p99 / max of a list of milliseconds."""
    times = sorted(times)
    return {"n": len(times), "p50_ms": round(statistics.median(times), 3),
            "p99_ms": round(times[max(0, int(len(times) * 0.99) - 1)], 3), "max_ms": round(times[-1], 3)}


def latency(librarian: Librarian, cases: list[Case], rounds: int = 5) -> tuple[dict[str, float], dict[str, float]]:
    """Warm latency of `ask` (no context) and of `converse` (a first turn), the answer cache dropped each time."""
    gc.collect()
    gc.freeze()
    single: list[float] = []
    turn: list[float] = []
    for _ in range(rounds):
        for case in cases:
            librarian.forget_answers()
            start = time.perf_counter()
            librarian.ask(case.q, plan=case.plan)
            single.append((time.perf_counter() - start) * 1000)
            librarian.forget_answers()
            start = time.perf_counter()
            converse(librarian, case.q, None, case.plan)
            turn.append((time.perf_counter() - start) * 1000)
    return timings(single), timings(turn)


def follow_up_latency(librarian: Librarian, rounds: int = 5) -> dict[str, float]:
    """Warm latency of every turn of the dev conversations."""
    conversations = load(DEV)
    times: list[float] = []
    for _ in range(rounds):
        for conv in conversations:
            context = None
            for t in conv["turns"]:
                librarian.forget_answers()
                start = time.perf_counter()
                _, context = converse(librarian, t["text"], context, conv.get("plan"), t.get("department"))
                times.append((time.perf_counter() - start) * 1000)
    return timings(times)


def bm25_latency(cases: list[Case], rounds: int = 5) -> dict[str, float]:
    """rank-bm25 over default-jieba tokens of the indicator texts, per question."""
    import jieba
    from rank_bm25 import BM25Okapi

    jieba.setLogLevel(60)
    kb = load_knowledge()
    docs = [ind for fw in kb.frameworks.values() for ind in fw.indicators.values()]
    texts = [" ".join([i.title, i.editorial.display, i.level1, i.level2 or "", i.criteria, *(ln.content for ln in i.lines)]) for i in docs]
    bm25 = BM25Okapi([jieba.lcut(t) for t in texts])
    times: list[float] = []
    for _ in range(rounds):
        for case in cases:
            start = time.perf_counter()
            scores = bm25.get_scores(jieba.lcut(case.q))
            sorted(range(len(docs)), key=lambda i: -scores[i])[:8]
            times.append((time.perf_counter() - start) * 1000)
    return timings(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", type=int, default=0, help="print this many missed dev turns")
    args = parser.parse_args()
    librarian = Librarian(load_knowledge())
    dev = evaluate(load(DEV), *in_process(librarian))
    print("dialogue dev     ", json.dumps(dev.summary(), ensure_ascii=False))
    if HELDOUT.exists():
        held = evaluate(load(HELDOUT), *in_process(librarian))
        print("dialogue heldout ", json.dumps(held.summary(), ensure_ascii=False))
    else:
        print("dialogue heldout  (tests/data/dialogues_heldout.yaml not present)")
    cases = load_devset()
    single = evaluate_single(cases, lambda c: librarian.ask(c.q, plan=c.plan).to_json())
    print("single dev       ", json.dumps({k: single.summary()[k] for k in ("top1", "top3", "declined_off_topic", "department_f1")}))
    print("bm25 dev         ", json.dumps({k: v for k, v in baseline(cases).items() if k in ("top1", "top3")}))
    ask, first = latency(librarian, cases)
    turns = follow_up_latency(librarian)
    bm25 = bm25_latency(cases)
    print("latency ask      ", json.dumps(ask))
    print("latency 1st turn ", json.dumps(first))
    print("latency all turns", json.dumps(turns))
    print("latency bm25     ", json.dumps(bm25))
    print("ratio qcbot/bm25  p50 ask {:.2f}, p50 turn {:.2f}".format(ask["p50_ms"] / bm25["p50_ms"], turns["p50_ms"] / bm25["p50_ms"]))
    for miss in dev.misses[: args.misses]:
        print("  miss", json.dumps(miss, ensure_ascii=False))


if __name__ == "__main__":
    main()

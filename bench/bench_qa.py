"""Q&A benchmark: accuracy on the dev set vs a plain BM25 baseline, latency, cold start and memory.

Run: .venv/bin/python bench/bench_qa.py [--misses N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.loader import load_knowledge  # noqa: E402
from knowledge.qa import Librarian  # noqa: E402
from tests.qa_eval import Case, evaluate, load_devset  # noqa: E402

# written separately, without looking at the code or the dev set (its first run guided a few general fixes)
HELDOUT = ROOT / "tests" / "data" / "heldout.yaml"


def baseline(cases: list[Case]) -> dict[str, Any]:
    """rank-bm25 over default-jieba tokens of the same indicator texts; it never declines."""
    import jieba
    from rank_bm25 import BM25Okapi

    jieba.setLogLevel(60)
    kb = load_knowledge()
    docs = [ind for fw in kb.frameworks.values() for ind in fw.indicators.values()]
    texts = [
        " ".join([ind.title, ind.editorial.display, ind.level1, ind.level2 or "", ind.criteria, *(ln.content for ln in ind.lines)])
        for ind in docs
    ]
    bm25 = BM25Okapi([jieba.lcut(t) for t in texts])

    def answer(case: Case) -> dict[str, Any]:
        scores = bm25.get_scores(jieba.lcut(case.q))
        order = sorted(range(len(docs)), key=lambda i: -scores[i])[:8]
        hits = [{"framework": docs[i].framework, "id": docs[i].id, "title": docs[i].title, "score": float(scores[i])} for i in order]
        return {"kind": "indicator", "intent": "lookup", "framework": hits[0]["framework"], "hits": hits}

    return evaluate(cases, answer).summary()


def latency(librarian: Librarian, cases: list[Case], rounds: int = 5) -> dict[str, float]:
    """Warm per-question latency in milliseconds (the GC frozen after start-up, as bot/app.py does)."""
    import gc

    gc.collect()
    gc.freeze()
    times: list[float] = []
    for _ in range(rounds):
        for case in cases:
            librarian.forget_answers()  # measure the work, not the cache of repeated questions
            start = time.perf_counter()
            librarian.ask(case.q, plan=case.plan)
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "questions": len(times),
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[int(len(times) * 0.99) - 1], 3),
        "max_ms": round(times[-1], 3),
    }


def _run(command: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one process (fed `stdin`, when given, then end of input)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        stdin=subprocess.PIPE if stdin is not None else None,
    )
    if process.stdin is not None:
        process.stdin.write((stdin or "").encode("utf-8"))
        process.stdin.close()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"{command} failed with status {status}")
    return wall, usage.ru_maxrss / 1024


def cold_start(runs: int = 5) -> dict[str, float]:
    """Process start to first answer printed (index cache warm), and a first run that builds it.

    `ask` is one question on the command line; `chat` is the console channel on the whole app
    (storage, handlers) answering one message from stdin, as `echo 计量怎么得分 | qcbot chat` does.
    """
    qcbot = ROOT / ".venv" / "bin" / "qcbot"
    program = str(qcbot) if qcbot.exists() else "qcbot"
    command = [program, "ask", "计量怎么得分？"]
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "QCBOT_CACHE_DIR": cache}
        first, first_rss = _run(command, env)
        measured = [_run(command, env) for _ in range(runs)]
        chat = [program, "chat", "--db", str(Path(cache) / "chat.db")]
        chats = [_run(chat, env, stdin="计量怎么得分\n") for _ in range(runs)]
    walls = [wall for wall, _ in measured]
    chat_walls = [wall for wall, _ in chats]
    return {
        "runs": runs,
        "median_s": round(statistics.median(walls), 3),
        "max_s": round(max(walls), 3),
        "peak_rss_mb": round(max(rss for _, rss in measured), 1),
        "first_run_building_cache_s": round(first, 3),
        "first_run_peak_rss_mb": round(first_rss, 1),
        "chat_median_s": round(statistics.median(chat_walls), 3),
        "chat_max_s": round(max(chat_walls), 3),
        "chat_peak_rss_mb": round(max(rss for _, rss in chats), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", type=int, default=0, help="print this many misclassified questions")
    args = parser.parse_args()
    # first, while this process is small: a child's peak RSS counts the parent's pages until exec
    print("cold    ", json.dumps(cold_start()))
    cases = load_devset()
    librarian = Librarian(load_knowledge())
    report = evaluate(cases, lambda c: librarian.ask(c.q, plan=c.plan).to_json())
    print("qcbot   ", json.dumps(report.summary(), ensure_ascii=False))
    english = [c for c in cases if "english" in c.tags]
    english_report = evaluate(english, lambda c: librarian.ask(c.q, plan=c.plan).to_json())
    print("english ", json.dumps({"n": len(english), **english_report.summary()}, ensure_ascii=False))
    heldout = evaluate(load_devset(HELDOUT), lambda c: librarian.ask(c.q, plan=c.plan).to_json())
    print("heldout ", json.dumps(heldout.summary(), ensure_ascii=False))
    print("baseline", json.dumps(baseline(cases), ensure_ascii=False))
    print("latency ", json.dumps(latency(librarian, cases)))
    for miss in report.misses[: args.misses]:
        print("  miss", json.dumps(miss, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""What the replicas' shared state costs per message: id claims, answer records, send slots.

Two Storage objects on one SQLite file (WAL), as two replicas open it. Claims are made one at
a time (the cost a lone message pays) and `--concurrency` at once (the group commit: claims
that arrive while a transaction runs share the next one); every claim must be won exactly once.

Run: .venv/bin/python bench/bench_shared.py [--count 5000] [--concurrency 100]
Prints one JSON object; exit 1 when a claim was won twice or not at all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.storage import Storage  # noqa: E402


async def _sequential(a: Storage, b: Storage, count: int) -> dict[str, float]:
    """Each id claimed on A then on B, one at a time: microseconds per claim."""
    times, won = [], 0
    for i in range(count):
        started = time.perf_counter()
        won += await a.first_time("bench", f"seq{i}", 60)
        won -= await b.first_time("bench", f"seq{i}", 60)
        times.append((time.perf_counter() - started) / 2 * 1e6)
    times.sort()
    return {"claims": count * 2, "won_once": won == count, "p50_us": round(statistics.median(times), 1),
            "p99_us": round(times[int(len(times) * 0.99)], 1)}


async def _concurrent(a: Storage, b: Storage, count: int, concurrency: int) -> dict[str, float]:
    """`concurrency` claims in flight at once, every id offered to both: claims per second."""
    gate = asyncio.Semaphore(concurrency)

    async def claim(store: Storage, key: str) -> bool:
        async with gate:
            return await store.first_time("bench", key, 60)

    started = time.perf_counter()
    results = await asyncio.gather(*(claim(s, f"con{i}") for i in range(count) for s in (a, b)))
    seconds = time.perf_counter() - started
    return {"claims": len(results), "won_once": sum(results) == count,
            "claims_per_s": round(len(results) / seconds)}


async def _records(a: Storage, b: Storage, count: int) -> dict[str, float]:
    """An answer recorded on A and read on B (what a WeCom retry on the other replica costs)."""
    started = time.perf_counter()
    for i in range(count):
        await a.share_values("bench.answer", {f"r{i}": "x" * 400}, 60)
        assert await b.shared_value("bench.answer", f"r{i}") is not None
    return {"pairs": count, "us_per_pair": round((time.perf_counter() - started) / count * 1e6, 1)}


async def main(count: int, concurrency: int) -> int:
    """Run the three measurements on a fresh database; the exit code."""
    with tempfile.TemporaryDirectory() as tmp:
        a = await Storage.open(Path(tmp) / "shared.db")
        b = await Storage.open(Path(tmp) / "shared.db")
        try:
            sequential = await _sequential(a, b, count)
            concurrent = await _concurrent(a, b, count, concurrency)
            records = await _records(a, b, count // 5)
            report = {"command": " ".join(["python", *sys.argv]), "sequential": sequential,
                      "concurrent": concurrent, "records": records}
        finally:
            await a.close()
            await b.close()
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0 if sequential["won_once"] and concurrent["won_once"] else 1


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=5000, help="ids claimed (default 5000)")
    parser.add_argument("--concurrency", type=int, default=100, help="claims in flight (default 100)")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = _args()
    sys.exit(asyncio.run(main(arguments.count, arguments.concurrency)))

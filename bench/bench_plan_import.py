"""Plan import benchmark: the 临淄 table rewritten as a county keeps it, per format.

For each format (xlsx, docx, csv) it writes the table with tests/plan_tables.py (reordered rows,
reworded titles, merged cells, 牵头/配合 columns, joined units, one row that belongs to no
indicator), imports it --runs times and prints one JSON line: rows placed correctly / total
(the extra row counts as correct when it is left unplaced), rows written, rows marked 请核对,
and the import time (p50 / max, ms; the index is built once, before timing, as the command's
cache would have it).
Target: ≥ 95% of rows placed correctly in every format.

Run: .venv/bin/python bench/bench_plan_import.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.loader import load_knowledge  # noqa: E402
from knowledge.plan_import import import_table  # noqa: E402
from knowledge.qa import Librarian  # noqa: E402
from tests import plan_tables  # noqa: E402

TARGET = 0.95


def main() -> int:
    """Print one JSON line per format; exit 1 when a format is under the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    started = time.perf_counter()
    library = Librarian(load_knowledge(), default_plan="linzi").library
    print(json.dumps({"index_build_ms": round((time.perf_counter() - started) * 1000)}))
    rows = plan_tables.county_rows()
    expected = plan_tables.expected(rows)
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        for fmt, write in plan_tables.WRITERS.items():
            path = write(Path(folder) / f"临淄任务表.{fmt}", rows)
            times, result = [], None
            for _ in range(max(1, args.runs)):
                start = time.perf_counter()
                result = import_table(path, library, "shandong", "临淄区", "linzi_import")
                times.append((time.perf_counter() - start) * 1000)
            assert result is not None
            correct = sum(
                (r.placement.indicator.id if r.placement.indicator else None) == expected[r.row.no] for r in result.rows
            )
            share = correct / len(result.rows)
            failed |= share < TARGET
            print(json.dumps({
                "format": fmt,
                "placed_correctly": f"{correct}/{len(result.rows)}",
                "share": round(share, 3),
                "written": sum(r.written for r in result.rows),
                "review": len(result.review),
                "p50_ms": round(statistics.median(times), 1),
                "max_ms": round(max(times), 1),
            }, ensure_ascii=False))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

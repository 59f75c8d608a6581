"""Many counties in one process: 100 county plans beside the built-in four, memory and answer time.

The parent makes 100 county plans with `qcbot plan import`'s own code from the tables of
tests/plan_tables.py, varied per county (name, a subset of rows, 牵头/配合 swapped on some rows):
two in three from the 临淄 (Shandong) table, one in three from the Henan (民权-style) table. They go
into a temporary QCBOT_PLANS_DIR. Each measured run is a fresh child process that starts the app as
`serve` does (bot.app.create_app; with QCBOT_COUNTIES_FILE naming every county and one chat each
when the config has it, else one Services per plan built here), then, through every county's
dispatcher: a round of questions and a 自评 (bind 统计局, answer until done), the answers
forgotten, and a second round timed (warm p50 / p99 per question). It prints one JSON line:
RSS after load, peak RSS, librarian load time, answer times, 自评 finished.

Runs: `builtin` (the four plans, no plans directory) · `counties-cold` (100 counties, empty cache)
· `counties` (100, cache warm) · `plus-one` (one more county plan added: start time; the shared
index must not be rebuilt) · `full-build` (the old way for comparison: the whole knowledge base
with 101 plans indexed from scratch, timed only).
Target: peak RSS ≤ 400 MB with 100 counties.

Run: .venv/bin/python bench/bench_counties.py [--counties 100] [--questions 6] [--no-counties-file]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MB = 400.0
QUESTIONS = (
    "强制检定谁负责", "计量怎么得分？", "我们财政局负责哪些指标？", "质量月活动要准备什么材料",
    "领导小组办公室设在哪", "什么时候截止", "标准化工作有哪些指标？", "质量精神口号是什么",
)
FIRST = "东西南北中上下安平宁泰广长永兴新"
SECOND = "山河阳城源丰林台江川"


# --- the county plans ----------------------------------------------------------------------


def county_name(n: int) -> str:
    """A made-up county name, different for every n below 150."""
    return FIRST[n % len(FIRST)] + SECOND[(n // len(FIRST)) % len(SECOND)] + ("县" if n % 4 else "区")


def make_plans(folder: Path, count: int, seed: int = 15) -> list[str]:
    """Write `count` county plans into folder by importing varied tables; their ids."""
    from knowledge.loader import load_knowledge
    from knowledge.plan_import import import_table, plan_yaml
    from knowledge.qa import Librarian
    from tests import plan_tables

    library = Librarian(load_knowledge(), default_plan="linzi").library
    rng = random.Random(seed)
    linzi, henan = plan_tables.county_rows(), plan_tables.henan_rows()
    tables = folder.parent / "tables"
    tables.mkdir(exist_ok=True)
    ids = []
    for n in range(count):
        plan_id = f"county{n:03d}"
        if n % 3 == 2:
            rows = [r for r in henan if rng.random() > 0.1] or henan
            path = plan_tables.write_henan_csv(tables / f"{plan_id}.csv", rows)
            framework = "henan"
        else:
            picked = [r for r in linzi if rng.random() > 0.1] or linzi
            swapped = [
                dataclasses.replace(r, lead=r.support[0], support=(r.lead, *r.support[1:])) if r.support and rng.random() < 0.2 else r
                for r in picked
            ]
            path = plan_tables.write_csv(tables / f"{plan_id}.csv", swapped, encoding="utf-8")
            framework = "shandong"
        result = import_table(path, library, framework, county_name(n), plan_id)
        (folder / f"{plan_id}.yaml").write_text(plan_yaml(result), encoding="utf-8")
        ids.append(plan_id)
    return ids


# --- one measured process ------------------------------------------------------------------


def rss_mb() -> float:
    """This process's resident set now."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    """This process's peak resident set (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def child(args: argparse.Namespace) -> dict[str, Any]:
    """Start the app, send questions and a 自评 through every county, time a warm round."""
    from bot.app import create_app
    from bot.config import Config
    from handlers.core import Incoming

    plans_dir = Path(args.plans) if args.plans else None
    plan_ids = sorted(p.stem for p in plans_dir.glob("*.yaml")) if plans_dir else []
    values: dict[str, Any] = {
        "plan": plan_ids[0] if plan_ids else "pingyin",
        "db_path": str(Path(args.work) / f"{args.run}.db"),
        "cache_dir": args.cache,
        "export_dir": str(Path(args.work) / "exports"),
    }
    if plans_dir is not None:
        values["plans_dir"] = str(plans_dir)
    use_file = not args.no_counties_file and "counties_file" in {f.name for f in dataclasses.fields(Config)}
    base = rss_mb()
    started = time.perf_counter()
    if args.run == "full-build":
        from knowledge.loader import load_knowledge
        from knowledge.qa import Librarian

        Librarian(load_knowledge(plans_dir=plans_dir), default_plan=values["plan"])
        return {"run": args.run, "plans": len(plan_ids), "full_build_s": round(time.perf_counter() - started, 3)}
    from knowledge.cache import load_librarian

    librarian = load_librarian(default_plan=values["plan"], directory=Path(args.cache), plans_dir=plans_dir)
    load_s = time.perf_counter() - started
    counties = plan_ids or list(librarian.kb.plans)
    if use_file:
        counties_file = Path(args.work) / f"{args.run}-counties.yaml"
        lines = ["counties:"] + [f"  {pid}: {{chats: [\"console:chat-{pid}\"]}}" for pid in counties]
        counties_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        values["counties_file"] = str(counties_file)
    app = await create_app(Config.from_mapping(values), librarian=librarian)
    handlers = {pid: app.handler for pid in counties}
    if not use_file:  # one Services per county, built as create_app builds the one
        from bot.app import MeteredDispatcher

        services = app.handler.services
        handlers = {pid: MeteredDispatcher(dataclasses.replace(services, plan=app.kb.plan(pid))) for pid in counties}
    after_load = rss_mb()

    def message(pid: str, text: str, user: str = "u1", payload: str | None = None) -> Incoming:
        return Incoming(channel="console", chat_id=f"chat-{pid}", chat_type="private", user_id=f"{pid}-{user}",
                        user_name="联络员", text=text, payload=payload, mentioned=True)

    questions = QUESTIONS[: args.questions]
    finished = 0
    for pid in counties:  # round 1: every county answers and self-assesses
        for q in questions:
            await handlers[pid].handle(message(pid, q))
        finished += await assess(handlers[pid], pid, message)
    librarian.forget_answers()
    times: list[float] = []
    for pid in counties:  # round 2, warm: the same questions, answers computed afresh
        for q in questions:
            t0 = time.perf_counter()
            await handlers[pid].handle(message(pid, q, user="u2"))
            times.append((time.perf_counter() - t0) * 1000)
    await app.close()
    ordered = sorted(times)
    return {
        "run": args.run,
        "counties": len(counties),
        "counties_file": use_file,
        "rss_start_mb": round(base, 1),
        "rss_after_load_mb": round(after_load, 1),
        "peak_rss_mb": round(peak_mb(), 1),
        "librarian_load_s": round(load_s, 3),
        "questions": len(times),
        "warm_p50_ms": round(statistics.median(ordered), 2),
        "warm_p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 2),
        "assessments_finished": f"{finished}/{len(counties)}",
        "per_plan_built": librarian.library.responsibility.built(),
    }


async def assess(handler: Any, pid: str, message: Any) -> int:
    """Bind 统计局 (财政局 where the plan names 统计局 for nothing) and answer its 自评 (a button's first
    choice, else 1); 1 when it finished."""
    for department in ("统计局", "财政局"):
        await handler.handle(message(pid, f"/bind {department}"))
        replies = await handler.handle(message(pid, "自评"))
        if "暂无自评题目" not in "\n".join(r.text for r in replies):
            break
    for _ in range(200):
        text = "\n".join(r.text for r in replies)
        if "自评完成" in text:
            return 1
        choices = [c for r in replies for c in r.choices]
        if choices:
            replies = await handler.handle(message(pid, choices[0].label, payload=choices[0].payload))
        else:
            replies = await handler.handle(message(pid, "1"))
    return 0


# --- orchestration -------------------------------------------------------------------------


def run_child(run: str, work: Path, cache: Path, plans: Path | None, args: argparse.Namespace) -> dict[str, Any]:
    """One measured run in a fresh process; its JSON line."""
    command = [sys.executable, __file__, "--child", run, "--work", str(work), "--cache", str(cache),
               "--questions", str(args.questions)]
    if plans is not None:
        command += ["--plans", str(plans)]
    if args.no_counties_file:
        command.append("--no-counties-file")
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        return {"run": run, "error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    """Print one JSON line per run and a summary; exit 1 when the memory target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=100)
    parser.add_argument("--questions", type=int, default=6)
    parser.add_argument("--no-counties-file", action="store_true", help="build one Services per plan here")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    parser.add_argument("--work", default="", help=argparse.SUPPRESS)
    parser.add_argument("--cache", default="", help=argparse.SUPPRESS)
    parser.add_argument("--plans", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.run = args.child
        print(json.dumps(asyncio.run(child(args)), ensure_ascii=False))
        return 0
    with tempfile.TemporaryDirectory(prefix="qcbot-counties-") as folder:
        work = Path(folder)
        plans = work / "plans"
        plans.mkdir()
        started = time.perf_counter()
        ids = make_plans(plans, args.counties + 1)
        (plans / f"{ids[-1]}.yaml").rename(work / "later.yaml")  # the one added later
        print(json.dumps({"made_plans": args.counties, "import_s": round(time.perf_counter() - started, 2)}))
        run_child("builtin-cold", work, work / "cache-builtin", None, args)  # builds the cache
        results = [run_child("builtin", work, work / "cache-builtin", None, args)]
        results.append(run_child("counties-cold", work, work / "cache", plans, args))
        results.append(run_child("counties", work, work / "cache", plans, args))
        index = next((work / "cache").glob("librarian-*.pickle"), None)
        before = index.stat().st_mtime_ns if index else None
        (work / "later.yaml").rename(plans / f"{ids[-1]}.yaml")
        plus = run_child("plus-one", work, work / "cache", plans, args)
        plus["index_rebuilt"] = index is None or not index.exists() or index.stat().st_mtime_ns != before
        results.append(plus)
        results.append(run_child("full-build", work, work / "cache-full", plans, args))
        for result in results:
            print(json.dumps(result, ensure_ascii=False))
    counties = next(r for r in results if r["run"] == "counties")
    ok = "peak_rss_mb" in counties and counties["peak_rss_mb"] <= TARGET_MB and not plus.get("index_rebuilt", True)
    print(json.dumps({"target_peak_rss_mb": TARGET_MB, "met": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

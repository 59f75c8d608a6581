"""Two `qcbot serve` replicas on one PostgreSQL, WeCom callbacks alternating, one SIGKILLed mid-run.

Starts a throwaway PostgreSQL (tests/pg.py: initdb on 127.0.0.1), then the real `qcbot serve
--wecom` (knowledge base, librarian, storage) as N replicas (QCBOT_REPLICAS=N) on it, each
pinned to a core when the machine allows; a load generator in a separate process plays WeCom
(bench_wecom's signed, encrypted group @-mentions, open loop at a fixed rate, alternating between
the replicas). A callback whose replica is gone, or that gets no answer in 5 s, is sent again to
the other replica, as WeCom retries. The generator's response_url accepts one push per message,
as WeCom's does. Halfway through, replica A is SIGKILLed (`--kill`).

Per msgid the answers that reached the user are counted (passive replies + accepted pushes):
lost = none, twice = more than one. Latency is from the first send to the HTTP answer (retries
included). The same load on one replica is run for comparison.

Run: .venv/bin/python bench/bench_replicas.py [--rate 500] [--duration 15] [--runs two,two-kill,one]
Prints one JSON object per run and exits 1 when a target is missed (p99 <= 100 ms without a kill; 0 lost and 0 twice in every run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_wecom as wb  # noqa: E402

from bot.channels.wecom_bot import BUSY  # noqa: E402
from bot.channels.wecom_crypto import WeComCrypto  # noqa: E402

HTTP_DEADLINE_S = 5.0  # WeCom's wait for an answer before it retries
PUSH_WAIT_S = 40.0  # late answers: a lapsed claim is taken over after at most 10 s
# The targets: at 500 req/s over two replicas p99 <= 100 ms; with one SIGKILLed mid-run
# 0 lost and 0 twice (that run's p99, the survivor taking the whole load on one core, is printed).
TARGETS = {"p99_ms": 100.0, "lost": 0, "twice": 0}
KILL_TARGETS = {"lost": 0, "twice": 0}
RUNS = {"two-kill": (2, True), "two": (2, False), "one": (1, False)}


def main() -> int:
    args = _args()
    if args.load:
        ports = [int(p) for p in args.ports.split(",")]
        print(json.dumps(asyncio.run(load(ports, args.rate, args.duration)), ensure_ascii=False))
        return 0
    from tests.pg import PgServer, find_bin

    found = find_bin()
    if found is None:
        raise SystemExit("no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql")
    server = PgServer(found).start()
    ok = True
    try:
        report: dict[str, Any] = {"machine": f"{os.cpu_count()} cpu", "command": " ".join(sys.argv)}
        for name in args.runs.split(","):
            replicas, kill = RUNS[name]
            report[name] = run(server.fresh_database(), replicas, kill, args.rate, args.duration)
            ok = ok and report[name]["pass"]
            print(json.dumps({name: report[name]}, ensure_ascii=False), flush=True)
    finally:
        server.stop()
    return 0 if ok else 1


def run(url: str, replicas: int, kill: bool, rate: float, duration: float) -> dict[str, Any]:
    """Start the replicas on `url`, run the generator, SIGKILL replica A halfway when `kill`."""
    pinned = wb._can_pin()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**wb._server_env(tmp), "QCBOT_DATABASE_URL": url, "QCBOT_REPLICAS": str(replicas)}
        servers, ports, logs = [], [], []
        for n in range(replicas):
            port = wb._free_port()
            log = open(Path(tmp) / f"replica{n}.log", "w+")  # noqa: SIM115 (closed below)
            servers.append(subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve", "--wecom", "--port", str(port)],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
                preexec_fn=wb._pin(n % 2) if pinned else None,
            ))
            ports.append(port)
            logs.append(log)
        try:
            for server, port in zip(servers, ports, strict=True):
                wb._wait_healthy(port, server)
            result = _generate(ports, rate, duration, servers[0] if kill else None)
        finally:
            for server in servers:
                if server.poll() is None:
                    server.send_signal(signal.SIGTERM)
            for server in servers:
                try:
                    server.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
        events: dict[str, int] = {}
        for log in logs:
            log.seek(0)
            for line in log:
                for event in ("wecom_bot_recovered", "wecom_replay", "wecom_bot_lost", "wecom_bot_busy"):
                    if f'"event": "{event}"' in line:
                        events[event] = events.get(event, 0) + 1
            log.close()
    result.update(replicas=replicas, killed="A at half time" if kill else "none",
                  pinned="replica n on cpu n % 2" if pinned else "no", server_events=events,
                  exits=[s.returncode for s in servers])
    targets = KILL_TARGETS if kill else TARGETS
    result["pass"] = all(result[k] <= v for k, v in targets.items())
    return result


def _generate(ports: list[int], rate: float, duration: float, victim: subprocess.Popen[Any] | None) -> dict[str, Any]:
    generator = subprocess.Popen(
        [sys.executable, __file__, "--load", "--ports", ",".join(map(str, ports)),
         "--rate", str(rate), "--duration", str(duration)],
        stdout=subprocess.PIPE, text=True,
    )
    assert generator.stdout is not None
    started = generator.stdout.readline()  # "start": the first request is being sent
    if victim is not None and started:
        time.sleep(duration / 2)
        victim.send_signal(signal.SIGKILL)
    out, _ = generator.communicate(timeout=duration + PUSH_WAIT_S + 120)
    if generator.returncode:
        raise SystemExit(f"generator failed ({generator.returncode})")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


class OncePushes:
    """response_url as WeCom has it: one push per message accepted, a second one refused."""

    def __init__(self) -> None:
        self.accepted: dict[int, float] = {}
        self.refused = 0

    async def handle(self, request: Any) -> Any:
        from aiohttp import web

        code = int(request.query.get("response_code", "RC-1")[2:])
        await request.read()
        if code in self.accepted:
            self.refused += 1
            return web.json_response({"errcode": 846605, "errmsg": "response_url used"})
        self.accepted[code] = time.perf_counter()
        return web.json_response({"errcode": 0, "errmsg": "ok"})


async def load(ports: list[int], rate: float, duration: float) -> dict[str, Any]:
    """Send `rate` callbacks per second for `duration` s, alternating ports, retrying on the other."""
    import aiohttp
    from aiohttp import web

    pushes = OncePushes()
    app = web.Application()
    app.router.add_post("/cgi-bin/aibot/response", pushes.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    push_port = wb._free_port()
    await web.TCPSite(runner, "127.0.0.1", push_port).start()
    requests = wb.prepare(int(rate * duration), f"http://127.0.0.1:{push_port}")
    crypto = WeComCrypto(wb.TOKEN, wb.AES_KEY, "")
    outcome: list[tuple[str, float, bytes]] = [("unsent", 0.0, b"")] * len(requests)
    retried = 0
    lag = 0.0
    timeout = aiohttp.ClientTimeout(total=HTTP_DEADLINE_S)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=400), timeout=timeout) as http:

        async def one(i: int, query: dict[str, str], body: bytes) -> None:
            nonlocal retried
            sent = time.perf_counter()
            kind, answer = "failed", b""
            for attempt in range(4):  # WeCom: the first send and three retries
                port = ports[(i + attempt) % len(ports)]
                try:
                    async with http.post(f"http://127.0.0.1:{port}/wecom/bot", params=query, data=body,
                                         headers={"Content-Type": "application/json"}) as response:
                        answer = await response.read()
                        kind = "ok" if response.status == 200 else f"http_{response.status}"
                    break
                except (aiohttp.ClientError, TimeoutError):
                    retried += 1
            outcome[i] = (kind, (time.perf_counter() - sent) * 1000, answer)

        print("start", flush=True)
        start = time.perf_counter()
        tasks = []
        for i, (query, body) in enumerate(requests):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                lag = max(lag, -delay)
            tasks.append(asyncio.create_task(one(i, query, body)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        passive, acked, busy, errors = set(), set(), 0, 0
        for i, (kind, _, answer) in enumerate(outcome):
            if kind != "ok":
                errors += 1
            elif not answer:
                acked.add(i)
            elif wb._passive_text(crypto, answer) == BUSY:
                busy += 1
                passive.add(i)
            else:
                passive.add(i)
        deadline = time.perf_counter() + PUSH_WAIT_S
        while time.perf_counter() < deadline and not acked <= pushes.accepted.keys() | passive:
            await asyncio.sleep(0.1)
        await asyncio.sleep(2.0)  # a second answer would come now
    await runner.cleanup()
    answered = {i: (i in passive) + (i in pushes.accepted) for i in range(len(requests))}
    latencies = sorted(ms for kind, ms, _ in outcome if kind == "ok")
    return {
        "requests": len(requests), "achieved_rps": round(len(requests) / elapsed, 1),
        "client_lag_ms": round(lag * 1000, 1), "retried_sends": retried,
        "p50_ms": _pct(latencies, 0.50), "p99_ms": _pct(latencies, 0.99),
        "max_ms": round(latencies[-1], 1) if latencies else 0.0,
        "passive": len(passive), "pushed": len(pushes.accepted), "second_pushes_refused": pushes.refused,
        "busy": busy, "http_errors": errors,
        "lost": sum(1 for n in answered.values() if n == 0),
        "twice": sum(1 for n in answered.values() if n > 1),
    }


def _pct(values: list[float], q: float) -> float:
    return round(values[min(len(values) - 1, int(q * len(values)))], 1) if values else 0.0


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--runs", default="two,two-kill,one")
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ports", default="", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())

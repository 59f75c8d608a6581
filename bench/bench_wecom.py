"""WeCom 智能机器人 callback under load: does overload degrade instead of collapsing?

`qcbot serve --wecom` (the real handler: knowledge base, librarian, storage) runs in one process
pinned to one core; a load generator pinned to another core plays WeCom: unique encrypted group
@-mentions with valid signatures, sent open-loop at a fixed rate to 127.0.0.1 only, each with a
response_url pointing at a fake server inside the generator that records every pushed answer.
A plain aiohttp echo server is loaded the same way in the same run, to show what this machine
and client can do at all; the ratio of the two achieved rates is printed.

Every request must get an HTTP answer within 5 s: a passive reply, or an empty acknowledgement
followed by exactly one pushed answer (a "busy" reply or a second answer counts against).

Run: .venv/bin/python bench/bench_wecom.py [--rate 1500] [--low-rate 500] [--duration 15]
     [--runs echo,real,real-low[,adapter]] [--rounds 2]
Prints one JSON object per run as it finishes and a summary; exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.channels.wecom_bot import BUSY  # noqa: E402
from bot.channels.wecom_crypto import WeComCrypto  # noqa: E402

TOKEN = "benchToken2024"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
HTTP_DEADLINE_S = 5.0  # WeCom drops a callback it got no answer to within 5 s
PUSH_WAIT_S = 90.0  # how long the generator waits for late answers after the last request
MAX_REQUESTS = 30_000
MAX_DURATION_S = 60.0
SERVER_CORE, CLIENT_CORE = 0, 1
TARGETS = {
    "high": {"sync_p99_ms": 100.0, "lost": 0, "late": 0, "busy": 0, "twice": 0, "errors": 0},
    "low": {"p99_ms": 50.0, "lost": 0, "late": 0, "busy": 0, "twice": 0, "errors": 0},
}


def _devset_questions() -> list[str]:
    """The labelled dev set's questions: a realistic, varied mix (falls back to a short list)."""
    try:
        import yaml

        path = ROOT / "tests" / "data" / "devset.yaml"
        return [str(item["q"]) for item in yaml.safe_load(path.read_text(encoding="utf-8"))]
    except (OSError, KeyError, TypeError):
        return FALLBACK_QUESTIONS


FALLBACK_QUESTIONS = [
    "计量怎么得分？",
    "标准化工作有哪些指标？",
    "县委书记参会能得几分？",
    "我们财政局负责哪些指标？",
    "质量强县评价一共多少分？",
    "认证认可怎么评？",
    "品牌建设有什么要求？",
    "检验检测机构的指标是什么？",
    "质量工作领导小组要成立吗？",
    "食品安全相关的指标有哪些？",
]


# --- orchestration ------------------------------------------------------------------------


def main() -> int:
    args = _args()
    if args.load:
        result = asyncio.run(
            load(args.port, args.rate, args.duration, args.connections, args.mode, args.first_id)
        )
        print(json.dumps(result, ensure_ascii=False))
        return 0
    if args.serve_echo:
        asyncio.run(serve_plain_echo(args.port))
        return 0
    if args.serve_adapter:
        asyncio.run(serve_adapter(args.port))
        return 0
    pinned = _can_pin()
    report: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cpu",
        "pinned": f"server cpu {SERVER_CORE}, client cpu {CLIENT_CORE}" if pinned else "no",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    for name in args.runs.split(","):
        rate = args.low_rate if name == "real-low" else args.rate
        rounds = args.rounds if name == "real" else 1
        report[name] = run(name, rate, args.duration, args.connections, pinned, rounds)
        print(json.dumps({name: report[name]}, ensure_ascii=False), flush=True)
    report["summary"] = summary(report)
    print(json.dumps(report["summary"], ensure_ascii=False, indent=2))
    return 0 if all(report[n]["pass"] for n in ("real", "real-low") if n in report) else 1


SERVERS: dict[str, list[str]] = {
    "real": ["-m", "bot.cli", "serve", "--wecom", "--port", "{port}"],
    "real-low": ["-m", "bot.cli", "serve", "--wecom", "--port", "{port}"],
    "adapter": [__file__, "--serve-adapter", "--port", "{port}"],
    "echo": [__file__, "--serve-echo", "--port", "{port}"],
}


def run(
    name: str, rate: float, duration: float, connections: int, pinned: bool, rounds: int = 1
) -> dict[str, Any]:
    """Start one server, run the generator (in a second process) `rounds` times, collect figures.

    Later rounds send fresh message ids: their RSS shows whether memory keeps growing.
    """
    port = _free_port()
    command = [sys.executable, *(part.format(port=port) for part in SERVERS[name])]
    mode = "echo" if name == "echo" else "wecom"
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "server.log", "w+") as logs:
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_server_env(tmp),
            stdout=subprocess.DEVNULL,
            stderr=logs,  # a file, never a pipe: a full pipe would stall the server
            preexec_fn=_pin(SERVER_CORE) if pinned else None,
        )
        try:
            started = _wait_healthy(port, server)
            rss = {"before": _rss_mb(server.pid, "VmRSS")}
            results = []
            for round_ in range(rounds):
                first_id = round_ * MAX_REQUESTS
                results.append(_generate(port, rate, duration, connections, mode, first_id, pinned))
                time.sleep(1.0)  # let the server's last pushes and write-behind finish
                rss["peak" if round_ == 0 else f"peak_round_{round_ + 1}"] = _rss_mb(
                    server.pid, "VmHWM"
                )
                rss["after" if round_ == 0 else f"after_round_{round_ + 1}"] = _rss_mb(
                    server.pid, "VmRSS"
                )
            result = results[0]
            for number, later in enumerate(results[1:], start=2):
                result[f"round_{number}"] = {k: later[k] for k in ROUND_KEYS}
            result["server_rss_mb"] = rss
            result["server_start_s"] = round(started, 2)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        logs.seek(0)
        lines = logs.read().splitlines()
    result["server_exit"] = server.returncode
    result["server_errors_logged"] = sum('"level": "error"' in line for line in lines)
    result["server_error_sample"] = [line[:300] for line in lines if '"error"' in line][:3]
    result["pass"] = _passes(name, result)
    return result


def _generate(
    port: int,
    rate: float,
    duration: float,
    connections: int,
    mode: str,
    first_id: int,
    pinned: bool,
) -> dict[str, Any]:
    generator = subprocess.run(
        [
            *[sys.executable, __file__, "--load", "--port", str(port)],
            *["--rate", str(rate), "--duration", str(duration), "--first-id", str(first_id)],
            *["--connections", str(connections), "--mode", mode],
        ],
        capture_output=True,
        text=True,
        timeout=duration + PUSH_WAIT_S + 120,
        check=True,
        preexec_fn=_pin(CLIENT_CORE) if pinned else None,
    )
    result: dict[str, Any] = json.loads(generator.stdout.strip().splitlines()[-1])
    return result


ROUND_KEYS = ("achieved_rps", "lost", "twice", "busy", "late", "errors", "p99_ms", "sync_p99_ms")


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The figures the targets name, side by side."""
    out: dict[str, Any] = {"command": report["command"], "pinned": report["pinned"]}
    echo = report.get("echo", {})
    for name in ("real", "real-low", "adapter"):
        if name not in report:
            continue
        r = report[name]
        out[name] = {
            k: r.get(k)
            for k in (
                "target_rps",
                "achieved_rps",
                "replies",
                "acks",
                "pushed",
                "lost",
                "twice",
                "busy",
                "late",
                "errors",
                "p50_ms",
                "p99_ms",
                "max_ms",
                "sync_p99_ms",
                "push_p99_s",
                "last_push_s",
                "server_rss_mb",
                "round_2",
                "pass",
            )
            if k in r
        }
        if echo and echo["target_rps"] == r["target_rps"]:
            out[name]["ratio_to_echo"] = round(r["achieved_rps"] / echo["achieved_rps"], 3)
    if echo:
        out["echo_achieved_rps"] = echo["achieved_rps"]
    return out


def _passes(name: str, result: dict[str, Any]) -> bool:
    if name == "echo":
        return bool(result["errors"] == 0)
    targets = TARGETS["low" if name == "real-low" else "high"]
    checks = [result["server_exit"] == 0]
    for later in (v for k, v in result.items() if k.startswith("round_")):
        checks += [later[k] == 0 for k in ("lost", "twice", "busy", "late", "errors")]
    for key, limit in targets.items():
        value = result[key]
        checks.append(value <= limit and value >= 0 if key.endswith("_ms") else value == limit)
    return all(checks)


def _server_env(tmp: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QCBOT_")}
    env.update(
        {
            "QCBOT_HOST": "127.0.0.1",
            "QCBOT_DB_PATH": str(Path(tmp) / "bench.db"),
            "QCBOT_CACHE_DIR": str(Path(tempfile.gettempdir()) / "qcbot-bench-cache"),
            "QCBOT_LOG_LEVEL": "INFO",
            "QCBOT_WECOM_BOT_TOKEN": TOKEN,
            "QCBOT_WECOM_BOT_AES_KEY": AES_KEY,
            "QCBOT_WECOM_API_BASE": "http://127.0.0.1:9",  # never called: no 自建应用 here
        }
    )
    return env


def _can_pin() -> bool:
    try:
        return {SERVER_CORE, CLIENT_CORE} <= os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return False


def _pin(core: int) -> Callable[[], None]:
    return lambda: os.sched_setaffinity(0, {core})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(port: int, server: subprocess.Popen[Any]) -> float:
    start = time.monotonic()
    while time.monotonic() - start < 90:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                if b'"ok"' in conn.recv(4096):
                    return time.monotonic() - start
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not become healthy in 90 s")


def _rss_mb(pid: int, field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return -1.0


# --- servers to compare with --------------------------------------------------------------


async def serve_plain_echo(port: int) -> None:
    """A bare aiohttp server that returns the body it was sent: the machine's ceiling."""
    from aiohttp import web

    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read(), content_type="application/json")

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/wecom/bot", echo)
    app.router.add_get("/healthz", health)
    await _serve_until_term(app, port, None)


async def serve_adapter(port: int) -> None:
    """The same channel code and routes as `qcbot serve --wecom`, behind a trivial handler."""
    from bot.config import Config
    from bot.serve import build_channels, plan_channels, stop_channels, web_app
    from handlers.core import Incoming, Reply

    class Echo:
        async def handle(self, message: Incoming) -> list[Reply]:
            return [Reply(text=f"答：{message.text}")]

    config = Config.load()
    channels = build_channels(config, Echo(), plan_channels(config, wecom=True))
    await _serve_until_term(web_app(channels), port, lambda: stop_channels(channels))


async def _serve_until_term(app: Any, port: int, stop: Callable[[], Any] | None) -> None:
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    done = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, done.set)
    await done.wait()
    await runner.cleanup()
    if stop is not None:
        await stop()


# --- load generator (second process) ------------------------------------------------------


def prepare(count: int, push_base: str, first_id: int = 0) -> list[tuple[dict[str, str], bytes]]:
    """Signed, encrypted callbacks: distinct msgids and response_urls, 200 users in 20 groups."""
    questions = _devset_questions()
    crypto = WeComCrypto(TOKEN, AES_KEY, "")
    stamp = str(int(time.time()))
    requests = []
    for i in range(first_id, first_id + count):
        message = {
            "msgid": f"BENCH{i}",
            "aibotid": "AIBOTID",
            "chatid": f"CHAT{i % 20}",
            "chattype": "group",
            "from": {"userid": f"user{i % 200}"},
            "response_url": f"{push_base}/cgi-bin/aibot/response?response_code=RC{i}",
            "msgtype": "text",
            "text": {"content": f"@质量强县助手 {questions[i % len(questions)]}"},
        }
        encrypted = crypto.encrypt(json.dumps(message, ensure_ascii=False))
        nonce = str(100000 + i)
        query = {
            "msg_signature": crypto.sign(stamp, nonce, encrypted),
            "timestamp": stamp,
            "nonce": nonce,
        }
        requests.append((query, json.dumps({"encrypt": encrypted}).encode()))
    return requests


class Pushes:
    """The fake response_url endpoint: every pushed answer, by response_code, with its time."""

    def __init__(self) -> None:
        self.at: dict[int, list[float]] = {}
        self.empty = 0
        self.first_id = 0

    async def handle(self, request: Any) -> Any:
        from aiohttp import web

        code = int(request.query.get("response_code", "RC-1")[2:]) - self.first_id
        body = await request.json()
        if not body.get("markdown", {}).get("content"):
            self.empty += 1
        self.at.setdefault(code, []).append(time.perf_counter())
        return web.json_response({"errcode": 0, "errmsg": "ok"})


async def load(
    port: int, rate: float, duration: float, connections: int, mode: str, first_id: int = 0
) -> dict[str, Any]:
    """Send `rate` requests per second for `duration` seconds (open loop), then await pushes."""
    import aiohttp
    from aiohttp import web

    pushes = Pushes()
    app = web.Application()
    app.router.add_post("/cgi-bin/aibot/response", pushes.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    push_port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", push_port).start()

    requests = prepare(int(rate * duration), f"http://127.0.0.1:{push_port}", first_id)
    pushes.first_id = first_id
    url = f"http://127.0.0.1:{port}/wecom/bot"
    answers: list[tuple[str, float, float, bytes]] = [("unsent", 0.0, 0.0, b"")] * len(requests)
    lag = 0.0
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=HTTP_DEADLINE_S + 5)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def one(i: int, query: dict[str, str], body: bytes) -> None:
            sent = time.perf_counter()
            try:
                headers = {"Content-Type": "application/json"}
                async with http.post(url, params=query, data=body, headers=headers) as response:
                    answer = await response.read()
                kind = "ok" if response.status == 200 else f"http_{response.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                kind, answer = type(exc).__name__, b""
            done = time.perf_counter()
            answers[i] = (kind, (done - sent) * 1000, done, answer)

        start = time.perf_counter()
        tasks = []
        for i, (query, body) in enumerate(requests):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                lag = max(lag, -delay)
            tasks.append(asyncio.create_task(one(i, query, body)))
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=HTTP_DEADLINE_S + 30)
        elapsed = time.perf_counter() - start
        stats = _classify(answers, mode)
        await _await_pushes(pushes, stats["ack_ids"])
    await runner.cleanup()
    return _figures(answers, stats, pushes, rate, elapsed, lag, start)


def _classify(answers: list[tuple[str, float, float, bytes]], mode: str) -> dict[str, Any]:
    """Sort the HTTP answers: passive reply, busy reply, empty acknowledgement, error."""
    crypto = WeComCrypto(TOKEN, AES_KEY, "")
    out: dict[str, Any] = {"reply_ids": set(), "ack_ids": set(), "busy": 0, "errors": {}}
    for i, (kind, _, _, body) in enumerate(answers):
        if kind != "ok":
            out["errors"][kind] = out["errors"].get(kind, 0) + 1
        elif mode == "echo":
            out["reply_ids"].add(i)
        elif not body:
            out["ack_ids"].add(i)
        elif _passive_text(crypto, body) == BUSY:
            out["busy"] += 1
        else:
            out["reply_ids"].add(i)
    return out


def _passive_text(crypto: WeComCrypto, body: bytes) -> str:
    try:
        data = json.loads(body)
        plain = json.loads(
            crypto.verify_and_decrypt(
                data["msgsignature"], str(data["timestamp"]), data["nonce"], data["encrypt"]
            )
        )
        part = plain.get("stream") or plain.get("text") or {}
        return str(part.get("content", ""))
    except Exception:  # noqa: BLE001  (anything undecryptable is simply not an answer)
        return "<undecryptable>"


async def _await_pushes(pushes: Pushes, acked: set[int]) -> None:
    """Until every acknowledged request has a push (or PUSH_WAIT_S), then a moment for extras."""
    deadline = time.perf_counter() + PUSH_WAIT_S
    while time.perf_counter() < deadline and not acked <= pushes.at.keys():
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)


def _figures(
    answers: list[tuple[str, float, float, bytes]],
    stats: dict[str, Any],
    pushes: Pushes,
    rate: float,
    elapsed: float,
    lag: float,
    start: float,
) -> dict[str, Any]:
    acked, replied = stats["ack_ids"], stats["reply_ids"]
    ok = [a[1] for a in answers if a[0] == "ok"]
    sync = sorted(answers[i][1] for i in replied)
    push_delays = sorted(pushes.at[i][0] - answers[i][2] for i in acked if i in pushes.at)
    last_push = max((t[-1] for t in pushes.at.values()), default=start) - start
    ok.sort()
    return {
        "sent": len(answers),
        "target_rps": rate,
        "duration_s": round(elapsed, 2),
        "send_lag_max_ms": round(lag * 1000, 1),
        "achieved_rps": round((len(replied) + len(acked)) / elapsed, 1),
        "replies": len(replied),
        "acks": len(acked),
        "pushed": sum(1 for i in acked if i in pushes.at),
        "lost": len(acked - pushes.at.keys()),
        "twice": sum(len(v) - 1 for v in pushes.at.values()) + len(replied & pushes.at.keys()),
        "empty_pushes": pushes.empty,
        "busy": stats["busy"],
        "late": sum(1 for ms in ok if ms > HTTP_DEADLINE_S * 1000),
        "errors": sum(stats["errors"].values()),
        "error_kinds": stats["errors"],
        "p50_ms": _round(_percentile(ok, 0.50)),
        "p99_ms": _round(_percentile(ok, 0.99)),
        "max_ms": _round(ok[-1] if ok else -1.0),
        "sync_p50_ms": _round(_percentile(sync, 0.50)),
        "sync_p99_ms": _round(_percentile(sync, 0.99)),
        "push_p50_s": _round(_percentile(push_delays, 0.50), 3),
        "push_p99_s": _round(_percentile(push_delays, 0.99), 3),
        "last_push_s": _round(last_push, 2),
    }


def _percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def _round(value: float, digits: int = 2) -> float:
    return round(value, digits)


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=1500.0, help="overload rate (default 1500)")
    parser.add_argument(
        "--low-rate", type=float, default=500.0, help="the real-low run's rate (default 500)"
    )
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of load (default 15)")
    parser.add_argument(
        "--connections", type=int, default=256, help="client connection pool (default 256)"
    )
    parser.add_argument(
        "--runs",
        default="echo,real,real-low",
        help="echo, real, real-low, adapter (default: first 3)",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="loads in a row on the real server (default 2)"
    )
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--first-id", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="wecom", help=argparse.SUPPRESS)
    parser.add_argument("--serve-echo", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-adapter", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if (
        max(args.rate, args.low_rate) * args.duration > MAX_REQUESTS
        or args.duration > MAX_DURATION_S
    ):
        parser.error(f"bounded: at most {MAX_REQUESTS} requests and {MAX_DURATION_S:.0f} s a run")
    if not 1 <= args.rounds <= 3:
        parser.error("--rounds: 1 to 3")
    unknown = set(args.runs.split(",")) - SERVERS.keys()
    if unknown and not (args.load or args.serve_echo or args.serve_adapter):
        parser.error(f"unknown runs: {', '.join(sorted(unknown))}")
    return args


if __name__ == "__main__":
    raise SystemExit(main())

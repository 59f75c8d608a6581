"""WeCom callback load test: `qcbot serve --wecom` in one process, a load generator in another.

The generator plays WeCom: encrypted 智能机器人 group @-mentions with valid signatures, sent
open-loop at a fixed rate to 127.0.0.1 only, bounded in count and time. The server answers
with the real handler (bot.app.create_app: knowledge base, librarian, storage); a second run
puts a trivial echo handler behind the same channel code to show the adapter's own cost.

Run: .venv/bin/python bench/bench_wecom.py [--rate 550] [--duration 20] [--only real|echo]
Prints one JSON object: achieved rps, p50/p99 latency, errors, server peak RSS, pass/fail.
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.channels.wecom_crypto import WeComCrypto  # noqa: E402

TOKEN = "benchToken2024"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
def _devset_questions() -> list[str]:
    """The labelled dev set's questions: a realistic, varied mix (falls back to a short list)."""
    try:
        import yaml

        path = Path(__file__).resolve().parent.parent / "tests" / "data" / "devset.yaml"
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
QUESTIONS = _devset_questions()
TARGETS = {"rps": 500.0, "p99_ms": 50.0, "rss_mb": 200.0}


# --- orchestration ------------------------------------------------------------------------


def main() -> int:
    args = _args()
    if args.load:
        result = asyncio.run(load(args.port, args.rate, args.duration, args.connections))
        print(json.dumps(result))
        return 0
    if args.serve_echo:
        asyncio.run(serve_echo(args.port))
        return 0
    runs = {
        name: run(args, name) for name in (["real", "echo"] if args.only is None else [args.only])
    }
    report = {"machine": f"{os.cpu_count()} cpu", "targets": TARGETS, **runs}
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0 if all(r["pass"] for name, r in runs.items() if name == "real") else 1


SERVERS = {
    "real": ["-m", "bot.cli", "serve", "--wecom", "--port", "{port}"],
    "echo": [__file__, "--serve-echo", "--port", "{port}"],
}


def run(args: argparse.Namespace, name: str) -> dict[str, Any]:
    """Start one server, run the generator in a second process, collect the figures."""
    port = _free_port()
    command = [sys.executable, *(part.format(port=port) for part in SERVERS[name])]
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_server_env(tmp),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            started = _wait_healthy(port, server)
            generator = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--load",
                    "--port",
                    str(port),
                    "--rate",
                    str(args.rate),
                    "--duration",
                    str(args.duration),
                    "--connections",
                    str(args.connections),
                ],
                capture_output=True,
                text=True,
                timeout=args.duration + 60,
                check=True,
            )
            result = json.loads(generator.stdout.strip().splitlines()[-1])
            result["server_peak_rss_mb"] = _peak_rss_mb(server.pid)
            result["server_start_s"] = round(started, 2)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                _, err = server.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                _, err = server.communicate()
    result["server_exit"] = server.returncode
    result["server_errors_logged"] = sum('"level": "error"' in line for line in err.splitlines())
    result["handler"] = (
        "bot.app.create_app (real)" if name == "real" else "echo (channel code only)"
    )
    result["pass"] = _passes(result)
    return result


async def serve_echo(port: int) -> None:
    """The same channel code and routes as `qcbot serve --wecom`, behind a trivial handler."""
    import signal as signals

    from aiohttp import web

    from bot.config import Config
    from bot.serve import build_channels, plan_channels, stop_channels, web_app
    from handlers.core import Incoming, Reply

    class Echo:
        async def handle(self, message: Incoming) -> list[Reply]:
            return [Reply(text=f"答：{message.text}")]

    config = Config.load()
    channels = build_channels(config, Echo(), plan_channels(config, wecom=True))
    runner = web.AppRunner(web_app(channels), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signals.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()
    await stop_channels(channels)


def _server_env(tmp: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QCBOT_")}
    env.update(
        {
            "QCBOT_HOST": "127.0.0.1",
            "QCBOT_DB_PATH": str(Path(tmp) / "bench.db"),
            "QCBOT_LOG_LEVEL": "WARNING",
            "QCBOT_WECOM_BOT_TOKEN": TOKEN,
            "QCBOT_WECOM_BOT_AES_KEY": AES_KEY,
            "QCBOT_WECOM_API_BASE": "http://127.0.0.1:9",  # never called: answers are passive
        }
    )
    return env


def _passes(result: dict[str, Any]) -> bool:
    return (
        result["achieved_rps"] >= TARGETS["rps"]
        and result["p99_ms"] <= TARGETS["p99_ms"]
        and result["server_peak_rss_mb"] <= TARGETS["rss_mb"]
        and result["errors"] == 0
        and result["server_exit"] == 0
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(port: int, server: subprocess.Popen[str]) -> float:
    start = time.monotonic()
    while time.monotonic() - start < 60:
        if server.poll() is not None:
            raise SystemExit(f"server exited: {server.stderr.read() if server.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                if b'"ok"' in conn.recv(4096):
                    return time.monotonic() - start
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not become healthy in 60 s")


def _peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set size."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return -1.0


# --- load generator (second process) ------------------------------------------------------


def prepare(count: int) -> list[tuple[dict[str, str], bytes]]:
    """Signed, encrypted callbacks: distinct msgids, users and questions."""
    crypto = WeComCrypto(TOKEN, AES_KEY, "")
    stamp = str(int(time.time()))
    requests = []
    for i in range(count):
        message = {
            "msgid": f"BENCH{i}",
            "aibotid": "AIBOTID",
            "chatid": f"CHAT{i % 20}",
            "chattype": "group",
            "from": {"userid": f"user{i % 200}"},
            "response_url": "http://127.0.0.1:9/cgi-bin/aibot/response",
            "msgtype": "text",
            "text": {"content": f"@质量强县助手 {QUESTIONS[i % len(QUESTIONS)]}"},
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


async def load(port: int, rate: float, duration: float, connections: int) -> dict[str, Any]:
    """Send `rate` requests per second for `duration` seconds (open loop); measure each."""
    import aiohttp

    requests = prepare(int(rate * duration))
    url = f"http://127.0.0.1:{port}/wecom/bot"
    latencies: list[float] = []
    failures: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=10)
    ) as http:

        async def one(query: dict[str, str], body: bytes) -> None:
            sent = time.perf_counter()
            try:
                async with http.post(
                    url, params=query, data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    answer = await response.read()
                ok = response.status == 200 and answer.startswith(b'{"encrypt"')
                key = (
                    "ok"
                    if ok
                    else f"http_{response.status}"
                    if response.status != 200
                    else "no_passive_answer"
                )
            except (aiohttp.ClientError, TimeoutError) as exc:
                key = type(exc).__name__
            if key == "ok":
                latencies.append((time.perf_counter() - sent) * 1000)
            else:
                failures[key] = failures.get(key, 0) + 1

        start = time.perf_counter()
        tasks = []
        for i, (query, body) in enumerate(requests):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(query, body)))
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "sent": len(requests),
        "target_rps": rate,
        "duration_s": round(elapsed, 2),
        "achieved_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 0.50), 2),
        "p99_ms": round(_percentile(latencies, 0.99), 2),
        "max_ms": round(latencies[-1], 2) if latencies else -1,
        "errors": sum(failures.values()),
        "error_kinds": failures,
    }


def _percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else -1.0


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--rate", type=float, default=550.0, help="requests per second (default 550)"
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load (default 20)")
    parser.add_argument("--connections", type=int, default=64, help="client connection pool size")
    parser.add_argument(
        "--only", choices=["real", "echo"], default=None, help="run one server only"
    )
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-echo", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rate * args.duration > 20_000 or args.duration > 60:
        parser.error("bounded: at most 20 000 requests and 60 s")
    return args


if __name__ == "__main__":
    raise SystemExit(main())

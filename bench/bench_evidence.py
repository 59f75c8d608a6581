"""Evidence intake benchmark: files streamed through the real core into the content-addressed store.

Prints one JSON line: per file size, the seconds to receive (hash while writing, detect by content,
fsync, rename, record) and the peak RSS growth, which must stay far below the file size (the
file is never held in memory). Also an oversize stream refused at the limit.

Run: .venv/bin/python bench/bench_evidence.py [--mb 20] [--files 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import create_app  # noqa: E402
from bot.config import Config  # noqa: E402
from handlers.core import Attachment, Incoming  # noqa: E402

CHUNK = 64 * 1024


def stream(size: int, seed: int) -> AsyncIterator[bytes]:
    """A PDF-looking stream of `size` bytes, different per seed, made as it is read."""

    async def chunks() -> AsyncIterator[bytes]:
        body = bytes([seed % 251]) * CHUNK
        sent = 0
        while sent < size:
            piece = (b"%PDF-1.7\n" + body)[: min(CHUNK, size - sent)] if sent == 0 else body[: min(CHUNK, size - sent)]
            sent += len(piece)
            yield piece

    return chunks()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(mb: int, files: int) -> dict[str, object]:
    size = mb * 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        config = Config.from_mapping({"plan": "pingyin", "db_path": f"{tmp}/q.db", "evidence_max_mb": mb})
        app = await create_app(config)
        try:
            base = rss_mb()
            started = time.perf_counter()
            for n in range(files):
                attachment = Attachment(f"f{n}.pdf", size, fetch=partial(stream, size, n))
                await app.handler.handle(Incoming("console", "c", "private", "u", "u", "第14项", attachment=attachment))
            seconds = (time.perf_counter() - started) / files
            big = Attachment("big.pdf", None, fetch=partial(stream, size * 5, 99))
            refused = time.perf_counter()
            await app.handler.handle(Incoming("console", "c", "private", "u", "u", "第14项", attachment=big))
            stored = len(await app.storage.evidence("pingyin"))
            return {
                "file_mb": mb, "files": files, "stored": stored,
                "seconds_per_file": round(seconds, 3), "mb_per_second": round(mb / seconds, 1),
                "oversize_refused_seconds": round(time.perf_counter() - refused, 3),
                "peak_rss_growth_mb": round(rss_mb() - base, 1),
            }
        finally:
            await app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--files", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.mb, args.files))))


if __name__ == "__main__":
    main()

"""申报材料 package benchmark: a county with 43 indicators, 300 files and 1 GB of evidence.

Generates the evidence (random bytes, content-addressed like the store keeps it) in a temporary
directory, then builds the package in a child process and prints the build's seconds and the
child's peak RSS (resource.getrusage(RUSAGE_CHILDREN)). Targets: ≤ 30 s and ≤ 200 MB.
Cleans up after itself.

Run: .venv/bin/python bench/bench_package.py [--files 300] [--megabytes 1024]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 30.0
TARGET_RSS_MB = 200.0
KINDS = (("会议纪要", ".pdf", "application/pdf"), ("活动照片", ".jpg", "image/jpeg"),
         ("文件", ".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
         ("统计表", ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))


def make_evidence(folder: Path, files: int, total: int) -> list[dict[str, object]]:
    """Write `files` random files adding up to `total` bytes under folder/blobs; their records."""
    from knowledge.loader import load_knowledge

    framework = load_knowledge().framework("shandong")
    indicators = [i.id for i in framework.scored_indicators]  # the 43 三级指标
    blobs = folder / "blobs"
    blobs.mkdir()
    size = total // files
    records = []
    for n in range(files):
        digest = hashlib.sha256()
        scratch = blobs / "incoming"
        with scratch.open("wb") as out:
            left = size
            while left:
                chunk = os.urandom(min(left, 1 << 20))
                digest.update(chunk)
                out.write(chunk)
                left -= len(chunk)
        sha = digest.hexdigest()
        scratch.rename(blobs / sha)
        stem, ext, media = KINDS[n % len(KINDS)]
        records.append({
            "id": n + 1, "plan": "pingyin", "framework": "shandong",
            "indicator": indicators[n % len(indicators)], "department": "市场监管局",
            "uploader": "王科长", "channel": "telegram", "user_id": "42",
            "name": f"{stem}{n:03d}{ext}", "size": size, "media_type": media, "sha256": sha,
            "received_at": f"2022-07-{1 + n % 25:02d}T0{n % 10}:00:00+00:00", "status": "active",
        })
    return records


def child(folder: Path) -> None:
    """Build the package from folder/records.json; print the seconds it took as JSON."""
    from handlers.package.build import build_package
    from handlers.store import EvidenceFile, StoredAnswer
    from knowledge.loader import load_knowledge

    kb = load_knowledge()
    plan = kb.plan("pingyin")
    records = json.loads((folder / "records.json").read_text(encoding="utf-8"))
    evidence = [EvidenceFile(**r) for r in records]
    answers = [StoredAnswer("pingyin", "市场监管局", "i1_slogan", True, "42", "2022-07-20T01:00:00+00:00", "telegram")]
    blobs = folder / "blobs"
    start = time.perf_counter()
    package = build_package(plan, kb.framework("shandong"), answers, evidence, lambda sha: blobs / sha, folder / "out")
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": round(seconds, 2), "entries": len(package.entries), "zip_bytes": package.size}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    folder = Path(tempfile.mkdtemp(prefix="qcbot-bench-package-"))
    try:
        made = time.perf_counter()
        records = make_evidence(folder, args.files, args.megabytes << 20)
        (folder / "records.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
        print(f"generated {args.files} files, {args.megabytes} MB in {time.perf_counter() - made:.1f} s")
        done = subprocess.run([sys.executable, __file__, "--child", str(folder)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        result = json.loads(done.stdout.strip().splitlines()[-1])
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
        result["peak_rss_mb"] = round(rss_mb, 1)
        result["ok"] = result["seconds"] <= TARGET_SECONDS and rss_mb <= TARGET_RSS_MB
        print(json.dumps(result))
        return 0 if result["ok"] else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

"""Regenerate knowledge/data/words.txt: the words of jieba's dictionary used at least 30 times.

Maintenance only (run after upgrading jieba): `.venv/bin/python scripts/make_words.py`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jieba

WORDS_FILE = Path(__file__).resolve().parent.parent / "knowledge" / "data" / "words.txt"


def write_general_words(target: Path = WORDS_FILE, min_freq: int = 30) -> int:
    """Write the words of jieba's dictionary used at least min_freq times; return how many."""
    source = Path(jieba.get_dict_file().name)
    lines = source.read_text(encoding="utf-8").splitlines()
    keep = [ln for ln in lines if int(ln.split()[1]) >= min_freq]
    target.write_text("\n".join(keep) + "\n", encoding="utf-8")
    return len(keep)


def main() -> None:
    """Parse the arguments and write the file."""
    parser = argparse.ArgumentParser(description="重新生成 knowledge/data/words.txt（jieba 通用词表）")
    parser.add_argument("--min-freq", type=int, default=30, help="保留的最低词频（默认 30）")
    parser.add_argument("--output", type=Path, default=WORDS_FILE, help="写入的文件")
    args = parser.parse_args()
    count = write_general_words(args.output, args.min_freq)
    print(f"{args.output}: {count} 个词")


if __name__ == "__main__":
    main()

"""Build the charts' font once: Noto Sans CJK SC cut down to what the charts can ever need.

Kept: printable ASCII, every character of GB2312 (its 6,763 hanzi and its symbols), CJK symbols
and punctuation (U+3000–303F), full-width forms (U+FF00–FFEF), general punctuation, and every
character of knowledge/data/**/*.yaml (so department names and 一级指标 titles outside GB2312
are kept too). Vertical-writing tables and hinting are dropped (the charts write horizontally;
FreeType hints CFF outlines itself). The font stays under the SIL Open Font License 1.1
(OFL.txt beside it); its only Reserved Font Name is "Source", which the Noto name does not use.

Needs fontTools (a test dependency, not a runtime one). Run it again when tests/test_charts.py
reports a knowledge-base character the font lacks, with a full Noto Sans CJK SC Regular .otf
(the one used was version 1.004 from the `mplfonts` 0.0.11 wheel; `pip download mplfonts`):

    .venv/bin/python handlers/reports/fonts/build_subset.py path/to/NotoSansCJKsc-Regular.otf
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
TARGET = HERE / "NotoSansCJKsc-Regular-subset.otf"
RANGES = ((0x20, 0x7E), (0x2000, 0x206F), (0x3000, 0x303F), (0xFF00, 0xFFEF))


def gb2312() -> set[str]:
    """Every character GB2312 encodes (rows 0xA1–0xF7, cells 0xA1–0xFE)."""
    found: set[str] = set()
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                found.add(bytes((row, cell)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return found


def knowledge_characters() -> set[str]:
    """Every character of the knowledge base's YAML files."""
    text = "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "knowledge" / "data").rglob("*.yaml")))
    return {c for c in text if c.isprintable() and not c.isspace()}


def wanted() -> list[int]:
    """The code points to keep, sorted."""
    chars = gb2312() | knowledge_characters() | {" "}
    points = {ord(c) for c in chars}
    for low, high in RANGES:
        points.update(range(low, high + 1))
    return sorted(points)


def main() -> int:
    """Subset SOURCE into handlers/reports/fonts/; print what was kept."""
    from fontTools import subset  # the build's only dependency beyond the standard library

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="NotoSansCJKsc-Regular.otf (full)")
    parser.add_argument("--output", type=Path, default=TARGET)
    args = parser.parse_args()
    options = subset.Options()
    options.name_IDs = ["*"]  # keep copyright, licence, trademark and designer records
    options.hinting = False
    options.drop_tables += ["vhea", "vmtx", "VORG", "BASE", "DSIG"]
    options.layout_features = ["kern", "palt", "halt", "locl", "ccmp", "liga"]
    font = subset.load_font(str(args.source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted())
    subsetter.subset(font)
    subset.save_font(font, str(args.output), options)
    cmap = font.getBestCmap()
    print(f"{args.output.name}: {len(cmap)} characters, {args.output.stat().st_size / 2**20:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

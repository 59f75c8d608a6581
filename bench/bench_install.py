"""Install size: a fresh venv with the runtime install of qcbot (no test extras).

Copies the project's sources (the packages and pyproject.toml, optionally another pyproject, e.g.
`git show HEAD:pyproject.toml > /tmp/old.toml`) to a temporary folder, creates a fresh venv there,
runs `pip install <copy>` (pip's own cache and index, no extras), then prints the size of the
venv's site-packages (1 MB = 2**20 bytes, as `du -m`) and its 10 largest distributions (files
listed in each one's RECORD), and checks that the installed package draws a chart with its
font. The temporary folder is removed afterwards; the working tree is
never built in (no build/ or .egg-info left behind).

Run: .venv/bin/python bench/bench_install.py [--pyproject FILE] [--target-mb 250]
Prints one JSON object; exit 1 when the size is over the target.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("bot", "knowledge", "scoring", "handlers", "qcbot")
MB = 2**20

# Runs inside the fresh venv: sizes per distribution from RECORD, and the whole site-packages.
MEASURE = r"""
import json, os, site, sys
from importlib.metadata import distributions
root = next(p for p in site.getsitepackages() if p.endswith("site-packages"))
total = 0
for base, _, names in os.walk(root):
    total += sum(os.path.getsize(os.path.join(base, n)) for n in names if not os.path.islink(os.path.join(base, n)))
sizes = {}
for dist in distributions(path=[root]):
    size = 0
    for entry in dist.files or []:
        path = os.path.realpath(entry.locate())
        if path.startswith(root) and os.path.isfile(path):
            size += os.path.getsize(path)
    sizes[dist.metadata["Name"]] = size
json.dump({"site_packages": root, "total": total, "sizes": sizes}, sys.stdout)
"""


# Also run inside it, from outside the copied sources: the installed package draws a chart.
SMOKE = r"""
import json, sys, tempfile
from pathlib import Path
from handlers.reports.charts import Bar, bar_chart, cjk_font_path, covered
out = bar_chart(Path(tempfile.mkdtemp()) / "c.png", "各部门自评完成率", [Bar("市场监管局", 50, 100)], "", True)
json.dump({"font": str(cjk_font_path()), "characters": len(covered()), "png_bytes": out.stat().st_size}, sys.stdout)
"""


def copy_project(into: Path, pyproject: Path) -> Path:
    """The sources pip needs, without caches, plus the chosen pyproject.toml."""
    project = into / "qcbot-src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        shutil.copytree(ROOT / name, project / name, ignore=ignore)
    shutil.copy2(pyproject, project / "pyproject.toml")
    if (ROOT / "README.md").is_file():
        shutil.copy2(ROOT / "README.md", project / "README.md")
    return project


def measure(pyproject: Path) -> dict[str, object]:
    """Install into a fresh venv in a temporary folder; sizes in MB; the folder is removed."""
    with tempfile.TemporaryDirectory(prefix="qcbot-install-") as tmp:
        project = copy_project(Path(tmp), pyproject)
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        started = time.perf_counter()
        pip = subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(project)],
            capture_output=True, text=True,
        )
        if pip.returncode:
            sys.exit(f"pip install failed ({pip.returncode}):\n{pip.stderr[-4000:]}")
        seconds = time.perf_counter() - started
        found = json.loads(subprocess.run([python, "-c", MEASURE], check=True, capture_output=True,
                                          text=True).stdout)
        chart = json.loads(subprocess.run([python, "-c", SMOKE], check=True, capture_output=True,
                                          text=True, cwd=tmp).stdout)
    sizes: dict[str, int] = found["sizes"]
    largest = sorted(sizes.items(), key=lambda item: -item[1])[:10]
    return {
        "pyproject": str(pyproject),
        "site_packages_mb": round(found["total"] / MB, 1),
        "distributions": len(sizes),
        "largest_mb": {name: round(size / MB, 1) for name, size in largest},
        "install_seconds": round(seconds, 1),
        "chart": {**chart, "font": Path(chart["font"]).name},
    }


def main() -> int:
    """Measure, print one JSON object, exit 1 when over the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml",
                        help="the pyproject.toml to install with (default: the working tree's)")
    parser.add_argument("--target-mb", type=float, default=250.0)
    args = parser.parse_args()
    result = measure(args.pyproject.resolve())
    result["target_mb"] = args.target_mb
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0 if float(result["site_packages_mb"]) <= args.target_mb else 1  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())

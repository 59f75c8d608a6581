"""A disk cache of the built Librarian, so a new process answers its first question fast.

Building the index (parsing the YAML, segmenting every indicator, the typo tables) takes about a
second; unpickling it takes a few hundredths. The cache key is a hash of every knowledge file and
of every Python file under knowledge/ and scoring/ (subpackages such as knowledge/steps/ included),
so editing either rebuilds it. The cache lives in the directory passed in (the config's
QCBOT_CACHE_DIR), else $QCBOT_CACHE_DIR, else $XDG_CACHE_HOME/qcbot, else ~/.cache/qcbot; if it
can't be written the bot simply builds in memory each time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import tempfile
from pathlib import Path

from knowledge.loader import DATA_DIR, load_knowledge
from knowledge.qa import Librarian

log = logging.getLogger(__name__)
FORMAT = 2  # bump when the pickled shape changes in a way the code hash would not catch
_ROOT = Path(__file__).resolve().parent.parent
_CODE = (_ROOT / "knowledge", _ROOT / "scoring")  # every .py below these shapes the pickled index


def cache_dir() -> Path:
    """Where cached indexes are kept."""
    explicit = os.environ.get("QCBOT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qcbot"


def code_files() -> list[Path]:
    """The Python files whose code shapes the pickled index, in a stable order."""
    return sorted(p for folder in _CODE if folder.is_dir() for p in folder.rglob("*.py"))


def fingerprint(data_dir: Path, plans_dir: Path | None = None) -> str:
    """Hash of the knowledge files (and a plans directory's), the code that reads them and the Python version."""
    digest = hashlib.sha256(f"{FORMAT}:{sys.version}".encode())
    for folder in (data_dir, plans_dir):
        if folder is None or not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(f"{folder is plans_dir}:{path.relative_to(folder)}".encode())
            digest.update(path.read_bytes())
    for path in code_files():
        digest.update(str(path.relative_to(_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def load_librarian(
    data_dir: Path | None = None,
    default_plan: str = "pingyin",
    directory: Path | None = None,
    plans_dir: Path | None = None,
) -> Librarian:
    """The Librarian for a knowledge directory (and a deployment's plans directory), from the cache in
    `directory` (default cache_dir()) when current."""
    root = data_dir or DATA_DIR
    path = (directory or cache_dir()) / f"librarian-{fingerprint(root, plans_dir)}.pickle"
    librarian = _read(path)
    if librarian is None:
        librarian = Librarian(load_knowledge(data_dir, plans_dir), default_plan=default_plan)
        _write(path, librarian)
    librarian.default_plan = librarian.kb.plan(default_plan).id
    return librarian


def _read(path: Path) -> Librarian | None:
    try:
        with path.open("rb") as handle:
            obj = pickle.load(handle)  # noqa: S301 - our own cache file, keyed by content hash
    except FileNotFoundError:
        return None
    except Exception:  # a corrupt or stale cache is rebuilt, never fatal
        log.warning("ignoring unreadable index cache %s", path, exc_info=True)
        return None
    return obj if isinstance(obj, Librarian) else None


def _write(path: Path, librarian: Librarian) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as handle:
            pickle.dump(librarian, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, path)
        for old in path.parent.glob("librarian-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        log.info("index cache not written to %s", path, exc_info=True)

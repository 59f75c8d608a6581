"""A disk cache of the built Librarian, so a new process answers its first question fast.

Building the index (parsing the YAML, segmenting every indicator, the typo tables) takes about a
second; unpickling it takes a few hundredths. The cache key is a hash of every knowledge file and
of every Python file under knowledge/ and scoring/ (subpackages such as knowledge/steps/ included),
so editing either rebuilds it. The cache lives in the directory passed in (the config's
QCBOT_CACHE_DIR), else $QCBOT_CACHE_DIR, else $XDG_CACHE_HOME/qcbot, else ~/.cache/qcbot; if it
can't be written the bot simply builds in memory each time.

A deployment's county plans (QCBOT_PLANS_DIR) are not part of that key: the index is built from
the packaged knowledge only, and the county plans are laid over it (Library.with_plans). Each plan
file is validated once and kept by the hash of its bytes (plans-<key>.pickle), so adding, editing
or removing one county's plan parses that file alone and rebuilds nothing shared.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import tempfile
from pathlib import Path

from knowledge.departments import DepartmentIndex
from knowledge.errors import KnowledgeError
from knowledge.loader import (
    DATA_DIR,
    check_responsible,
    load_knowledge,
    parse_plan,
    plan_files,
    read_yaml,
)
from knowledge.model import KnowledgeBase, Plan
from knowledge.qa import Librarian

log = logging.getLogger(__name__)
FORMAT = 3  # bump when the pickled shape changes in a way the code hash would not catch
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
    """The Librarian for a knowledge directory from the cache in `directory` (default cache_dir()) when
    current, with a deployment's plans directory laid over it."""
    root = data_dir or DATA_DIR
    folder = directory or cache_dir()
    key = fingerprint(root)
    path = folder / f"librarian-{key}.pickle"
    librarian = _read(path)
    if librarian is None:
        kb = load_knowledge(data_dir)
        librarian = Librarian(kb, default_plan=default_plan if default_plan in kb.plans else next(iter(kb.plans)))
        _write(path, librarian)
    if plans_dir is not None:
        plans = county_plans(plans_dir, librarian.kb, folder / f"plans-{key}.pickle")
        if plans:
            librarian.library = librarian.library.with_plans(plans)
    librarian.default_plan = librarian.kb.plan(default_plan).id
    return librarian


def county_plans(plans_dir: Path, kb: KnowledgeBase, store: Path | None = None) -> dict[str, Plan]:
    """The validated plans of a deployment's plans directory by id; files seen before come from `store`."""
    known = _read_plans(store) if store is not None else {}
    seen: dict[str, Plan] = {}
    out: dict[str, Plan] = {}
    files: dict[str, Path] = {}
    index: DepartmentIndex | None = None
    for path in plan_files(plans_dir):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        plan = known.get(digest)
        if plan is None:
            plan = parse_plan(path.name, read_yaml(path), kb.frameworks)
            index = index or DepartmentIndex(kb.departments)
            check_responsible(plan, index)
        if plan.id in kb.plans:
            raise KnowledgeError(str(path), "id", f"方案编号 {plan.id} 与内置方案 {plan.id}（{kb.plans[plan.id].county}）重名，请改用另一个编号")
        if plan.id in out:
            raise KnowledgeError(str(path), "id", f"方案编号 {plan.id} 与方案 {files[plan.id]} 重名，请改用另一个编号")
        seen[digest], out[plan.id], files[plan.id] = plan, plan, path
    if store is not None and seen.keys() != known.keys():
        _write(store, seen, "plans-*.pickle")
    return out


def _read_plans(path: Path) -> dict[str, Plan]:
    try:
        with path.open("rb") as handle:
            obj = pickle.load(handle)  # noqa: S301 - our own cache file, keyed by content hash
    except FileNotFoundError:
        return {}
    except Exception:  # a corrupt cache is rebuilt, never fatal
        log.warning("ignoring unreadable plan cache %s", path, exc_info=True)
        return {}
    if not isinstance(obj, dict) or not all(isinstance(v, Plan) for v in obj.values()):
        return {}
    return obj


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


def _write(path: Path, obj: object, stale: str = "librarian-*.pickle") -> None:
    """Write a cache file atomically and drop the older ones matching `stale`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as handle:
            pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, path)
        for old in path.parent.glob(stale):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        log.info("cache not written to %s", path, exc_info=True)

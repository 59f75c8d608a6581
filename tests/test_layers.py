"""Dependencies point one way: bot → handlers → scoring → knowledge (imports read with ast)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = ("knowledge", "scoring", "handlers", "bot")  # each layer may import only those before it


def module_name(path: Path, root: Path = ROOT) -> str:
    """The dotted module name of a file below root."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, root: Path = ROOT) -> set[str]:
    """Every module a file imports, anywhere in it (functions and TYPE_CHECKING blocks too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base)
            out.add(target)
            out.update(f"{target}.{alias.name}" for alias in node.names)
    return out


def violations(layer: str, root: Path = ROOT) -> list[str]:
    """`module → import` lines where a module of this layer imports a layer above it."""
    above = ORDER[ORDER.index(layer) + 1 :]
    found = []
    for path in sorted((root / layer).rglob("*.py")):
        for name in sorted(imported(path, root)):
            if name.split(".")[0] in above:
                found.append(f"{module_name(path, root)} → {name}")
    return found


def test_every_kind_of_import_is_seen(tmp_path: Path) -> None:
    package = tmp_path / "knowledge" / "sub"
    package.mkdir(parents=True)
    (tmp_path / "knowledge" / "__init__.py").write_text("", encoding="utf-8")
    (package / "__init__.py").write_text("from .. import text\n", encoding="utf-8")
    (package / "mod.py").write_text(
        "import json\n"
        "from typing import TYPE_CHECKING\n"
        "from . import sibling\n"
        "if TYPE_CHECKING:\n"
        "    from scoring.engine import score_framework\n"
        "def later():\n"
        "    import bot.cli\n",
        encoding="utf-8",
    )
    names = imported(package / "mod.py", tmp_path)
    assert {"json", "knowledge.sub.sibling", "scoring.engine", "bot.cli"} <= names
    assert "knowledge.text" in imported(package / "__init__.py", tmp_path)
    assert violations("knowledge", tmp_path) == [
        "knowledge.sub.mod → bot.cli",
        "knowledge.sub.mod → scoring.engine",
        "knowledge.sub.mod → scoring.engine.score_framework",
    ]


@pytest.mark.parametrize(
    "layer",
    [
        "knowledge",
        "scoring",
        "handlers",
    ],
)
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    assert violations(layer) == []

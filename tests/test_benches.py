"""Every bench script still imports what it measures (benches run outside the suite; a rename
in the code must not leave one broken until someone runs it)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("bench_*.py")))
def test_bench_script_imports(script: str) -> None:
    spec = importlib.util.spec_from_file_location(f"bench_{script[:-3]}", BENCH / script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)  # each script runs only under __main__
    finally:
        del sys.modules[spec.name]
    assert callable(getattr(module, "main", None)), f"{script} has no main()"


def _load(script: str) -> object:
    spec = importlib.util.spec_from_file_location(f"bench_{script[:-3]}", BENCH / script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("framework", "plan"), [
    ("shandong", "pingyin"), ("hunan", None), ("henan", "minquan"), ("jinan", "jinan"),
])
def test_bench_score_answers_pass_the_checks(kb, framework: str, plan: str | None) -> None:
    """The county bench_score times is one a liaison could type: every answer passes the checks."""
    bench = _load("bench_score.py")
    try:
        scope, text = bench.full_county(kb, framework, plan)  # type: ignore[attr-defined]
        _, problems = bench.check_answers(bench.framework_facts(scope.framework), text)  # type: ignore[attr-defined]
    finally:
        del sys.modules["bench_bench_score"]
    assert problems == []

"""Many county plans over one index: the shared library, per-plan overlays, and the plan cache.

(Memory and start-time figures are measured by bench/bench_counties.py, not asserted here.)
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from knowledge import cache
from knowledge.errors import KnowledgeError
from knowledge.library import PerPlan
from knowledge.loader import load_knowledge
from knowledge.plan_import import import_table, plan_yaml
from knowledge.qa import Librarian
from tests import plan_tables

QUESTIONS = ("强制检定谁负责", "计量怎么得分？", "我们财政局负责哪些指标？", "领导小组办公室设在哪", "什么时候截止")


@pytest.fixture(scope="module")
def county_plans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three imported county plans (two Shandong, one Henan) in a plans directory."""
    folder = tmp_path_factory.mktemp("counties")
    plans = folder / "plans"
    plans.mkdir()
    library = Librarian(load_knowledge(), default_plan="linzi").library
    tables = [
        ("gaoqing", "高青县", "shandong", plan_tables.write_csv(folder / "a.csv")),
        ("huantai", "桓台县", "shandong", plan_tables.write_xlsx(folder / "b.xlsx")),
        ("ningling", "宁陵县", "henan", plan_tables.write_henan_csv(folder / "c.csv")),
    ]
    for plan_id, county, framework, path in tables:
        result = import_table(path, library, framework, county, plan_id)
        (plans / f"{plan_id}.yaml").write_text(plan_yaml(result), encoding="utf-8")
    return plans


def answers(librarian: Librarian, plan: str) -> list[dict[str, object]]:
    return [librarian.ask(q, plan).to_json() for q in QUESTIONS]


def first_hits(librarian: Librarian, plan: str) -> list[tuple[object, object]]:
    return [(a["kind"], list(a["hits"])[:1]) for a in answers(librarian, plan)]  # type: ignore[call-overload]


def test_county_plans_are_overlays_and_answer_as_a_full_build(county_plans: Path, tmp_path: Path, librarian: Librarian) -> None:
    overlaid = cache.load_librarian(default_plan="gaoqing", directory=tmp_path, plans_dir=county_plans)
    full = Librarian(load_knowledge(plans_dir=county_plans), default_plan="gaoqing")
    assert list(overlaid.kb.plans) == list(full.kb.plans)
    for plan in ("gaoqing", "ningling"):
        assert first_hits(overlaid, plan) == first_hits(full, plan)
    assert answers(overlaid, "pingyin") == answers(librarian, "pingyin")  # the built-in plans answer as before
    assert overlaid.library.scope("桓台县的计量谁负责", "gaoqing").plan == "huantai"  # a county's name is a scope
    assert overlaid.library.plan_of_framework["henan"] == "minquan"  # a built-in plan still speaks for its system
    assert overlaid.library.responsibility.built() <= len(overlaid.kb.plans)


def test_adding_a_county_plan_parses_that_file_alone(
    county_plans: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    for path in sorted(county_plans.glob("*.yaml"))[:2]:
        (plans / path.name).write_bytes(path.read_bytes())
    cache.load_librarian(directory=tmp_path, plans_dir=plans)
    index = next(tmp_path.glob("librarian-*.pickle"))
    written = index.stat().st_mtime_ns
    parsed: list[str] = []
    real = cache.parse_plan

    def counting(file: str, data: object, frameworks: object) -> object:
        parsed.append(file)
        return real(file, data, frameworks)  # type: ignore[arg-type]

    monkeypatch.setattr(cache, "parse_plan", counting)
    added = sorted(county_plans.glob("*.yaml"))[2]
    (plans / added.name).write_bytes(added.read_bytes())
    librarian = cache.load_librarian(default_plan=added.stem, directory=tmp_path, plans_dir=plans)
    assert parsed == [added.name] and index.stat().st_mtime_ns == written  # the index is not rebuilt
    assert librarian.default_plan == added.stem and len(librarian.kb.plans) == 4 + 3
    (plans / added.name).unlink()
    parsed.clear()
    assert added.stem not in cache.load_librarian(directory=tmp_path, plans_dir=plans).kb.plans and parsed == []


def test_a_county_plan_may_not_take_a_built_in_id(county_plans: Path, tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    text = (county_plans / "gaoqing.yaml").read_text(encoding="utf-8").replace("id: gaoqing", "id: linzi")
    (plans / "mine.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"mine.yaml: id: 方案编号 linzi 与内置方案 linzi（临淄区）重名"):
        cache.load_librarian(directory=tmp_path, plans_dir=plans)
    (plans / "again.yaml").write_text(text.replace("id: linzi", "id: twice"), encoding="utf-8")
    (plans / "mine.yaml").write_text(text.replace("id: linzi", "id: twice"), encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"mine.yaml: id: 方案编号 twice 与方案 .*again.yaml 重名"):
        cache.load_librarian(directory=tmp_path, plans_dir=plans)


def test_per_plan_structures_are_built_on_use_and_bounded(librarian: Librarian) -> None:
    library = librarian.library
    kept = PerPlan(lambda: library.kb.plans, library._responsibility, limit=2)
    assert len(kept) == 4 and list(kept) == list(library.kb.plans) and kept.built() == 0
    first = kept["pingyin"]
    kept["linzi"]
    kept["minquan"]
    assert kept.built() == 2 and kept["pingyin"] is not first  # dropped, then built again
    assert kept["pingyin"].departments(library.kb.frameworks["shandong"].indicators["17"]) == first.departments(
        library.kb.frameworks["shandong"].indicators["17"]
    )
    with pytest.raises(KeyError):
        kept["nowhere"]


def test_the_pickled_library_leaves_the_overlays_out(librarian: Librarian) -> None:
    librarian.ask("强制检定谁负责", "linzi")
    assert librarian.library.responsibility.built() >= 1
    copy = pickle.loads(pickle.dumps(librarian))
    assert copy.library.responsibility.built() == 0 and copy.library.plan_facts.built() == 0
    assert copy.ask("强制检定谁负责", "linzi").to_json() == librarian.ask("强制检定谁负责", "linzi").to_json()

"""The Q&A pipeline: its documented step order, each step alone on a Query, one search per question, the cache."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from bot.app import create_app
from bot.config import Config
from knowledge import cache, qa
from knowledge.loader import DATA_DIR
from knowledge.qa import STEPS, Answer, Intent, Kind, Librarian, Query
from knowledge.retrieval import Hit
from knowledge.steps import (
    aggregate,
    definition,
    department,
    not_found,
    number,
    plan,
    search,
    system,
)
from tests.qa_eval import DEVSET, load_devset

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["number", "form", "department", "system", "plan", "definition", "aggregate", "search", "not_found"]


def _step_names() -> list[str]:
    return [step.__module__.removeprefix("knowledge.steps.") for step in STEPS]


def test_steps_run_in_the_documented_order() -> None:
    assert _step_names() == ORDER
    documented = re.search(r"^(number → .*)$", qa.__doc__ or "", re.MULTILINE)
    assert documented is not None
    assert [w.split()[0] for w in documented.group(1).rstrip(".").split(" → ")] == ORDER
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = re.search(r"`Librarian\.ask`: ([^)]*)\)", readme)
    assert row is not None and row.group(1).split(" → ") == ORDER


# (step, a question that step answers, what it answers, a question it passes on)
CASES: list[tuple[ModuleType, str, tuple[Kind, Intent], str]] = [
    (number, "第17项是啥", (Kind.INDICATOR, Intent.LOOKUP), "计量怎么得分？"),
    (department, "我们财政局负责哪些指标", (Kind.DEPARTMENT, Intent.DEPARTMENT), "计量怎么得分？"),
    (system, "湖南合格线多少分", (Kind.FRAMEWORK, Intent.SYSTEM), "计量怎么得分？"),
    (plan, "材料发哪个邮箱", (Kind.FRAMEWORK, Intent.LOOKUP), "计量怎么得分？"),
    (definition, "四上企业是啥", (Kind.DEFINITION, Intent.DEFINITION), "计量怎么得分？"),
    (aggregate, "标准化这块总共几分", (Kind.FRAMEWORK, Intent.AGGREGATE), "计量怎么得分？"),
    (search, "县委书记参会能得几分", (Kind.INDICATOR, Intent.POINTS), "今天天气怎么样"),
    (not_found, "今天天气怎么样", (Kind.OUT_OF_SCOPE, Intent.OUT_OF_SCOPE), ""),
]


@pytest.mark.parametrize(("step", "question", "expected", "other"), CASES, ids=[c[0].__name__ for c in CASES])
def test_each_step_answers_alone_on_a_query(
    librarian: Librarian, step: ModuleType, question: str, expected: tuple[Kind, Intent], other: str
) -> None:
    query = librarian.understand(question)
    answer = step.answer(query, query.scope)
    assert isinstance(answer, Answer) and (answer.kind, answer.intent) == expected
    assert answer.to_json() == librarian.ask(question).to_json()  # the pipeline stops at this step
    if other:
        passed = librarian.understand(other)
        assert step.answer(passed, passed.scope) is None


def test_a_step_answers_in_the_scope_it_is_given(librarian: Librarian) -> None:
    query = librarian.understand("第15行怎么得分")
    hunan = librarian.library.scope_of("hunan", query.scope.plan)
    answer = number.answer(query, hunan)
    assert answer is not None and answer.framework == "hunan" and answer.hits[0][0].id == "15"


def test_the_search_runs_at_most_once_per_question(librarian: Librarian, monkeypatch: pytest.MonkeyPatch) -> None:
    library = librarian.library
    calls: list[str] = []
    real_rank = library.rank

    def counting(query: Query, scope: object) -> list[Hit]:
        calls.append(query.raw)
        return real_rank(query, scope)  # type: ignore[arg-type]

    monkeypatch.setattr(library, "rank", counting)
    cases = load_devset() + load_devset(DEVSET.parent / "heldout.yaml")
    searched = 0
    for case in cases:
        calls.clear()
        query = library.understand(case.q, case.plan)
        qa.run(query)
        assert len(calls) <= 1, case.q
        searched += len(calls)
        assert query.search is query.search  # a cached field, not recomputed
    assert searched > len(cases) // 2


def test_kinds_and_intents_serialise_to_plain_strings(librarian: Librarian) -> None:
    data = json.loads(json.dumps(librarian.ask("县委书记参会能得几分").to_json(), ensure_ascii=False))
    assert (data["kind"], data["intent"]) == ("indicator", "points")
    raw = librarian.ask("县委书记参会能得几分").to_json()
    assert type(raw["kind"]) is str and type(raw["intent"]) is str
    assert {str(k) for k in Kind} == {"indicator", "department", "definition", "framework", "out_of_scope"}


def test_a_query_is_typed_and_frozen(librarian: Librarian) -> None:
    query = librarian.understand("記量要准备啥材料")
    assert query.intent is Intent.EVIDENCE and query.fixes
    assert "计量" in query.words
    with pytest.raises(AttributeError):
        query.text = "x"  # type: ignore[misc]


def test_the_cache_key_covers_every_code_file_of_the_index() -> None:
    files = {p.relative_to(ROOT).as_posix() for p in cache.code_files()}
    assert {"knowledge/qa.py", "knowledge/query.py", "knowledge/library.py", "knowledge/steps/search.py"} <= files
    expected = {p.relative_to(ROOT).as_posix() for top in ("knowledge", "scoring") for p in (ROOT / top).rglob("*.py")}
    assert files == expected


def test_editing_a_nested_code_file_changes_the_cache_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    step = tmp_path / "knowledge" / "steps" / "a_step.py"
    step.parent.mkdir(parents=True)
    step.write_text("X = 1\n", encoding="utf-8")
    monkeypatch.setattr(cache, "_ROOT", tmp_path)
    monkeypatch.setattr(cache, "_CODE", (tmp_path / "knowledge", tmp_path / "scoring"))
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR / "plans", data / "plans")
    before = cache.fingerprint(data)
    step.write_text("X = 2\n", encoding="utf-8")
    assert cache.fingerprint(data) != before


async def test_the_app_loads_the_prebuilt_index(tmp_path: Path, librarian: Librarian) -> None:
    librarian.ask("计量怎么得分？")
    index = tmp_path / "cache" / f"librarian-{cache.fingerprint(DATA_DIR)}.pickle"
    cache._write(index, librarian)
    written = index.stat().st_ino
    config = Config.from_mapping(
        {"plan": "linzi", "db_path": str(tmp_path / "qcbot.db"), "cache_dir": str(tmp_path / "cache")}
    )
    app = await create_app(config)
    try:
        assert index.stat().st_ino == written  # read, not rebuilt and rewritten
        assert app.librarian is not librarian and app.kb is app.librarian.kb
        assert app.librarian.default_plan == "linzi" and not app.librarian._recent
        assert app.librarian.ask("计量怎么得分？").to_json() == librarian.ask("计量怎么得分？", plan="linzi").to_json()
    finally:
        await app.close()

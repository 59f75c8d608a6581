"""What several steps share: the trust test on the search, the headings a question names, answer builders."""

from __future__ import annotations

import re

from knowledge import answers
from knowledge.model import Framework, Indicator
from knowledge.query import Answer, Intent, Kind, Query, Scope
from knowledge.retrieval import Hit
from knowledge.steps.calibration import (
    LONG_EVIDENCE,
    LONG_QUESTION,
    MAX_HITS,
    MIN_COVERAGE,
    MIN_SCORE,
    RICH_SCORE,
)
from knowledge.vocabulary import LevelRef

PROVINCIAL = re.compile(r"省直|省里|省级部门|直接评分|省.{0,4}打分|省厅|provincial")
COUNTY = re.compile(r"(县里|县级|县区|本县|申报县|我县|县).{0,4}(提供|准备|自己)|county.{0,10}(suppl|provid)")
LISTING = re.compile(r"哪些|哪几|哪\d+项|情形|包括|包含|几种|都有|下面有|which|what are")
_NOT_INDICATOR_INTENTS = (Intent.DEPARTMENT, Intent.DEFINITION, Intent.AGGREGATE, Intent.SYSTEM)


def hits(query: Query, scope: Scope) -> tuple[Hit, ...]:
    """The ranked hits in `scope`: the query's one cached search when it is the query's own scope."""
    return query.search if scope == query.scope else tuple(query.library.rank(query, scope))


def trusted(query: Query, hit: Hit, strict: bool = False) -> bool:
    """Is the best hit really what the question is about? (else 没找到)"""
    words = list(query.words)
    coverage = query.library.index.coverage(words, hit)
    if strict:
        return coverage >= 0.75 and bool(hit.name_words)
    if not hit.name_words and hit.score < MIN_SCORE * 2:
        return False
    if hit.indicator.framework != query.scope.framework and coverage < 0.75:
        return False  # answering from another system than the deployment's needs more evidence
    if coverage >= MIN_COVERAGE:
        return True
    if coverage >= 0.2 and hit.score >= RICH_SCORE:
        return True
    return len(words) >= LONG_QUESTION and coverage * hit.score >= LONG_EVIDENCE


def trusted_hits(query: Query, scope: Scope, strict: bool = False, exclude: list[Indicator] | None = None) -> bool:
    """True when the search (less `exclude`) has a trusted best hit: the question is about an indicator."""
    found = [h for h in hits(query, scope) if not exclude or h.indicator not in exclude]
    return bool(found) and trusted(query, found[0], strict)


def levels(query: Query, scope: Scope) -> list[LevelRef]:
    """The headings of the scope's system that the question names (标准化, 计量 …)."""
    refs = [v for _, v in query.library.vocab.levels.find(query.text) if isinstance(v, LevelRef)]
    return [r for r in refs if r.framework == scope.framework]


def indicator_answer(
    query: Query, scope: Scope, intent: Intent, found: list[tuple[Indicator, float]], shown: int = MAX_HITS
) -> Answer:
    """Answer about the first `shown` indicators; all of them go into the JSON, best first."""
    if intent in _NOT_INDICATOR_INTENTS:
        intent = Intent.LOOKUP
    library = query.library
    plan = library.kb.plans[scope.plan]
    resp = library.responsibility[scope.plan] if plan.framework == found[0][0].framework else None
    tokens = set(library.segmenter.tokens_of(list(query.topic_words)))
    text = answers.indicators(library.kb, plan, resp, intent, [i for i, _ in found[:shown]], tokens)
    return Answer(query.raw, Kind.INDICATOR, intent, text, framework=found[0][0].framework, hits=found, fixes=list(query.fixes))


def listing(query: Query, fw: Framework, title: str, inds: list[Indicator]) -> Answer:
    """A list of indicators under a title (分值为2分的有5项 …)."""
    text = answers.listing(fw, title, inds)
    return Answer(query.raw, Kind.FRAMEWORK, Intent.AGGREGATE, text, framework=fw.id, hits=[(i, 1.0) for i in inds])

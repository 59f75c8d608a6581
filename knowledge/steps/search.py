"""Step 7: the indicator search, when its best hit is trusted (else the next step says 没找到)."""

from __future__ import annotations

from knowledge import answers
from knowledge.model import Indicator
from knowledge.query import Answer, Kind, Query, Scope
from knowledge.retrieval import Hit
from knowledge.steps.calibration import MAX_HITS, TIE_RATIO
from knowledge.steps.common import hits, indicator_answer, levels, trusted


def answer(query: Query, scope: Scope) -> Answer | None:
    """The best hit (or every indicator of the heading named, or a which-one-did-you-mean), if trusted."""
    found = hits(query, scope)
    if not found or not trusted(query, found[0]):
        return None
    fw_id = found[0].indicator.framework
    if fw_id != scope.framework:
        scope = query.library.scope_of(fw_id, scope.plan)
    group = _group(query, scope, found)
    if group is not None:
        return indicator_answer(query, scope, query.intent, group)
    top = [(h.indicator, h.score) for h in found[:MAX_HITS]]
    if _ambiguous(found):
        offered = [h.indicator for h in found[:3]]
        text = answers.disambiguation(offered)
        return Answer(query.raw, Kind.INDICATOR, query.intent, text, framework=fw_id, hits=top, choices=offered)
    return indicator_answer(query, scope, query.intent, top, shown=1)


def _group(query: Query, scope: Scope, found: tuple[Hit, ...]) -> list[tuple[Indicator, float]] | None:
    """All indicators under a heading the question names (计量 → 16, 17, 18), best first."""
    named = [lv for lv in levels(query, scope) if len(lv.members) > 1]
    if not named:
        return None
    level = min(named, key=lambda lv: len(lv.members))
    rest = query.topic.replace(level.name, "")
    if query.library.content_words(rest):
        return None
    scores = {h.indicator.id: h.score for h in found if h.indicator.framework == level.framework}
    kb = query.library.kb
    plan = kb.plans[scope.plan]
    covered = {r.indicator for r in plan.rows} if plan.rows and plan.framework == level.framework else set(level.members)
    fw = kb.frameworks[level.framework]
    members = sorted(level.members, key=lambda i: (i not in covered, -scores.get(i, 0.0)))
    return [(fw.indicators[i], scores.get(i, 0.0)) for i in members]


def _ambiguous(found: tuple[Hit, ...]) -> bool:
    """True when the second hit, from another heading, scores almost as high on the same name words."""
    if len(found) < 2:
        return False
    first, second = found[0], found[1]
    same_group = first.indicator.level2 and first.indicator.level2 == second.indicator.level2
    return not same_group and second.score >= TIE_RATIO * first.score and first.name_words == second.name_words

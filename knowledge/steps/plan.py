"""Step 4: facts about the county's plan itself (phases, slogan, the office, its e-mail, the dates)."""

from __future__ import annotations

from knowledge.planfacts import FUNDS, OFFICE, PLAN_CUES, PLAN_ONLY
from knowledge.query import Answer, Intent, Kind, Query, Scope
from knowledge.steps.calibration import PLAN_MIN_SCORE
from knowledge.steps.common import trusted_hits
from knowledge.text import normalize

_DATED = ("deadline", "phase")


def answer(query: Query, scope: Scope) -> Answer | None:
    """A plan passage for questions only the plan answers, or that hint at it and match no indicator."""
    if not PLAN_ONLY.search(query.text) and not (PLAN_CUES.search(query.text) and not trusted_hits(query, scope)):
        return None
    return passage(query, scope)


def passage(query: Query, scope: Scope) -> Answer | None:
    """The plan's phases, its office, or the one or two passages that match the question best."""
    facts = query.library.plan_facts[scope.plan]
    plan = query.library.kb.plans[scope.plan]
    intent = Intent.DEADLINE if query.intent == Intent.DEADLINE else Intent.LOOKUP
    if facts.wants_phases(query.text):
        return Answer(query.raw, Kind.FRAMEWORK, intent, facts.phases_text(), framework=plan.framework)
    funds = facts.funds() if FUNDS.search(query.text) else []
    if funds:
        return Answer(query.raw, Kind.FRAMEWORK, intent, f"【{plan.county}方案】" + "\n".join(p.text for p in funds[:2]), framework=plan.framework)
    office = facts.office() if OFFICE.search(query.text) else None
    if office is not None:
        return Answer(query.raw, Kind.FRAMEWORK, intent, f"【{plan.county}方案】{office.text}", framework=plan.framework)
    found = facts.search(query.topic or query.text)
    if query.intent == Intent.DEADLINE:  # a date question is about the plan's dates first
        found = [f for f in found if f[0].kind in _DATED] or found
    if not found and query.intent == Intent.DEADLINE:
        return Answer(query.raw, Kind.FRAMEWORK, intent, facts.deadlines_text(), framework=plan.framework)
    if not found or found[0][1] < PLAN_MIN_SCORE:
        return None
    words = [w for w in query.words if not (query.english and w.isascii())]
    matched = normalize(found[0][0].match) if words else ""  # once: passages are long
    if words and sum(len(w) for w in words if w in matched) < 0.5 * sum(len(w) for w in words):
        return None
    best = [p for p, score in found if score >= 0.8 * found[0][1]][:2]
    text = f"【{plan.county}方案】" + "\n".join(p.text for p in best)
    return Answer(query.raw, Kind.FRAMEWORK, intent, text, framework=plan.framework)

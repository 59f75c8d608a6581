"""Step 3: facts about the evaluation system as a whole (总分, 合格线, 几个一级指标, 一票否决)."""

from __future__ import annotations

import re

from knowledge import answers
from knowledge.query import WHICH_INDICATOR, Answer, Intent, Kind, Query, Scope
from knowledge.steps.common import (
    COUNTY,
    LISTING,
    PROVINCIAL,
    indicator_answer,
    levels,
    trusted_hits,
)

_VETO = re.compile(r"一票否决|不予受理")
_VETO_KINDS = ("veto", "rejection")
_ABOUT_THE_VETO_ITEM = (Intent.OWNER, Intent.EVIDENCE, Intent.DEADLINE, Intent.DATA_SOURCE, Intent.CRITERIA)
_HEADING_INTENTS = (Intent.POINTS, Intent.AGGREGATE, Intent.LOOKUP)


def answer(query: Query, scope: Scope) -> Answer | None:
    """The system's facts, unless the question names a heading or is really about one indicator."""
    if not query.asks_system or WHICH_INDICATOR.search(query.text):
        return None
    if PROVINCIAL.search(query.text) or COUNTY.search(query.text):
        return None
    if levels(query, scope) and query.intent in _HEADING_INTENTS:
        return None
    kb = query.library.kb
    fw = kb.frameworks[scope.framework]
    plan = kb.plans[scope.plan]
    veto = next((i for i in fw.indicators.values() if i.kind in _VETO_KINDS), None)
    if veto is not None and _VETO.search(query.text):
        if query.intent in _ABOUT_THE_VETO_ITEM:
            return indicator_answer(query, scope, query.intent, [(veto, 1.0)])
        if query.intent != Intent.DEFINITION or LISTING.search(query.text):
            text = answers.framework_facts(fw, plan, query.text)
            return Answer(query.raw, Kind.FRAMEWORK, Intent.SYSTEM, text, framework=fw.id, hits=[(veto, 1.0)])
        return None
    if len(query.library.content_words(query.topic)) > 2 and trusted_hits(query, scope):
        return None
    text = answers.framework_facts(fw, plan, query.text)
    return Answer(query.raw, Kind.FRAMEWORK, Intent.SYSTEM, text, framework=fw.id)

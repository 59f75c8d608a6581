"""Step 3: facts about the evaluation system as a whole (总分, 合格线, 几个一级指标, 一票否决)."""

from __future__ import annotations

import re

from knowledge import answers
from knowledge.model import Indicator
from knowledge.query import WHICH_INDICATOR, Answer, Intent, Kind, Query, Scope
from knowledge.steps.common import (
    COUNTY,
    LISTING,
    PROVINCIAL,
    indicator_answer,
    levels,
    trusted_hits,
)
from knowledge.text import normalize

_VETO = re.compile(r"一票否决|不予受理")
_VETO_KINDS = ("veto", "rejection")
_ABOUT_THE_VETO_ITEM = (Intent.OWNER, Intent.EVIDENCE, Intent.DEADLINE, Intent.DATA_SOURCE, Intent.CRITERIA)
_YES_NO = re.compile(r"会不会|是不是|算不算|属不属于|能不能|要不要|是否|会.{0,6}吗|算.{0,6}吗|吗[?？]?$|\b(is|does|will|would|can)\b")
_VETO_WORDS = re.compile(r"一票否决(项)?|不予受理|否决|会不会|是不是|算不算|属不属于|能不能|要不要|是否|属于|被|会|算|吗|的|了|情形|情况|问题")
_VETO_CHECK_WORDS = 4  # a longer message is a story, not a check of one case
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
        if _YES_NO.search(query.text) and query.intent not in _ABOUT_THE_VETO_ITEM:
            checked = _veto_check(query, veto)
            if checked is not None:
                return checked
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


def _veto_check(query: Query, veto: Indicator) -> Answer | None:
    """统计数据不实会不会一票否决: 是 when every content word asked is in the veto clause, else 否; then the clause."""
    rest = _VETO_WORDS.sub(" ", query.text)
    words = [w for w in query.library.content_words(rest) if not w.isascii()]
    if not words or len(words) > _VETO_CHECK_WORDS:
        return None
    clause = normalize(f"{veto.title}{veto.criteria}")
    missing = [w for w in words if w not in clause]
    label = "一票否决项" if veto.kind == "veto" else "不予受理情形"
    body = indicator_answer(query, query.scope, Intent.LOOKUP, [(veto, 1.0)])
    text = answers.veto_check(not missing, label, missing, partial=len(missing) < len(words)) + "\n" + body.text
    return Answer(query.raw, Kind.FRAMEWORK, Intent.SYSTEM, text, framework=veto.framework, hits=[(veto, 1.0)])

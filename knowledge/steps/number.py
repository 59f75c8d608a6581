"""Step 1: a reference by number (第17项, 平阴表第16项, 湖南评分表第15行, 济南任务3.12)."""

from __future__ import annotations

import re

from knowledge import answers
from knowledge.query import Answer, Intent, Kind, Query, Scope
from knowledge.steps.common import indicator_answer

_NOT_KEPT = (Intent.DEPARTMENT, Intent.AGGREGATE, Intent.DEFINITION)


def answer(query: Query, scope: Scope) -> Answer | None:
    """The indicator the number names, or a short 没有这一项 when the system has none with that number."""
    if query.heading_ref is not None:
        under = _under_heading(query, scope, query.heading_ref)
        if under is not None:
            return under
    if query.number is None:
        return None
    kb = query.library.kb
    plan = kb.plans[scope.plan]
    fw = kb.frameworks[scope.framework]
    ind_id = str(query.number)
    if query.number_in_table and plan.rows and plan.framework == fw.id:
        ind_id = plan.row_to_indicator(ind_id) or ""
    ind = fw.indicators.get(ind_id)
    if ind is None:
        text = answers.no_such_number(fw, plan, query.number, query.number_in_table and bool(plan.rows))
        return Answer(query.raw, Kind.OUT_OF_SCOPE, Intent.LOOKUP, text, framework=fw.id, abstained=True)
    intent = query.intent if query.intent not in _NOT_KEPT else Intent.LOOKUP
    return indicator_answer(query, scope, intent, [(ind, 1.0)])


def _under_heading(query: Query, scope: Scope, ref: str) -> Answer | None:
    """The tasks under the heading numbered `ref` (济南 “3.12 强化计量…”), when the system has one."""
    fw = query.library.kb.frameworks[scope.framework]
    numbered = re.compile(rf"{re.escape(ref)}(?![\d.])")
    for level in fw.levels:
        for child in level.children:
            if numbered.match(child.name):
                inds = [i for i in fw.indicators.values() if i.level1 == level.name and i.level2 == child.name]
                if inds:
                    intent = query.intent if query.intent not in _NOT_KEPT else Intent.LOOKUP
                    return indicator_answer(query, scope, intent, [(ind, 1.0) for ind in inds])
    return None

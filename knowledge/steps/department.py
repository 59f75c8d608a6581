"""Step 2: which indicators a department is responsible for (我们财政局负责哪些指标)."""

from __future__ import annotations

import re

from knowledge import answers
from knowledge.query import Answer, Intent, Kind, Query, Scope

_DEPT_LIST = re.compile(r"(负责|牵头|承担|分管|管|配合|涉及|涉及到|牵扯|牵扯到|牵涉|牵涉到|有|干|报|做)(哪些|哪几|什么|啥|几项|几条|多少|哪条|哪项|哪个)|(哪些|什么|啥).{0,4}(归|是)我|有我们(的)?(什么|啥)?事|有(啥|什么)?事|有(啥|什么)活|任务|分工|which (indicators|tasks)|responsible for")
_SELF_INTRO = re.compile(r"我(们)?是.{0,12}的")
_DEPT_LONG = re.compile(r"which .{0,20}(tasks|indicators).{0,20}(involve|assigned|for)|列(出来|一下|个清单|清单)|清单|有多少项|好几项|都有哪些|还有哪些|写我们(名字|单位)|涉及我们")
_SHORT = 30  # characters up to which a question naming a department and a listing word asks for its list


def answer(query: Query, scope: Scope) -> Answer | None:
    """The department's indicators in the scope's plan, when the question names it and asks for its list."""
    library = query.library
    found = [str(v) for _, v in library.vocab.department_names.find(query.text)]
    if not found:
        return None
    short = len(query.text) <= _SHORT
    listed = _DEPT_LIST.search(query.text) or _SELF_INTRO.search(query.text)
    asks = query.intent == Intent.DEPARTMENT or (short and listed) or (not short and _DEPT_LONG.search(query.text))
    if not asks:
        return None
    dept = max(found, key=lambda d: (found.count(d), -found.index(d)))  # the one named most, then first
    resp = library.responsibility[scope.plan]
    inds = resp.indicators_of(dept)
    text = answers.department(library.kb, resp, dept, inds)
    hits = [(ind, 1.0) for ind in inds]
    return Answer(query.raw, Kind.DEPARTMENT, Intent.DEPARTMENT, text, framework=resp.framework.id, department=dept, hits=hits)

"""Step 6: questions over many indicators (which carry 2 points, the highest, a heading's total, the bonus items)."""

from __future__ import annotations

import re

from knowledge import aggregates, answers
from knowledge.model import Framework, Plan
from knowledge.query import Answer, Intent, Kind, Query, Scope
from knowledge.steps.common import (
    COUNTY,
    LISTING,
    PROVINCIAL,
    indicator_answer,
    levels,
    listing,
    trusted_hits,
)

_HIGHEST = re.compile(r"最高|最多|最大")
_LOWEST = re.compile(r"最低|最少|最小")
_BONUS = re.compile(r"加分|bonus")
_EXTREME_FILLER = re.compile(r"分值|分数|哪项|哪个|哪几项|哪一项|是|的|指标|项|得分|评分表|表里|表中|体系|标准|规范|评价|里|中|分|\s|山东|湖南|河南|济南")
_LEVEL_LIST = re.compile(r"(下面|下边|里面|包括|包含|有)(到底)?(有)?(哪几|哪些)(个|项|条)?(指标|任务|项|条)")
_LEVEL_TOTAL = re.compile(r"这块|这部分|这一块|部分|板块|一级|二级|大项|总|合计|一共|共")
_SUPPLIED_BY = "shandong"  # the one system whose rows say who supplies the data (county or province)
_BONUS_INTENTS = (Intent.AGGREGATE, Intent.POINTS, Intent.LOOKUP, Intent.CRITERIA)
_MENTION_INTENTS = (Intent.AGGREGATE, Intent.LOOKUP)


def answer(query: Query, scope: Scope) -> Answer | None:
    """A listing or total over the scope's system, when the question asks for one."""
    kb = query.library.kb
    fw = kb.frameworks[scope.framework]
    plan = kb.plans[scope.plan]
    text = query.text
    listed = bool(LISTING.search(text)) or query.intent == Intent.AGGREGATE
    return (
        _supplied(query, scope, fw, plan, listed)
        or _by_value(query, fw, listed)
        or _extreme(query, fw)
        or _heading(query, scope, fw)
        or _bonus(query, scope, fw)
        or _mentioning(query, fw, listed)
    )


def _supplied(query: Query, scope: Scope, fw: Framework, plan: Plan, listed: bool) -> Answer | None:
    """Which indicators the county supplies itself, which the provincial departments score."""
    if fw.id != _SUPPLIED_BY or not (listed or query.intent == Intent.DATA_SOURCE):
        return None
    if COUNTY.search(query.text):
        return listing(query, fw, answers.county_title(fw, plan), aggregates.county_supplied(fw, plan))
    if PROVINCIAL.search(query.text) and not trusted_hits(query, scope, strict=True):
        return listing(query, fw, answers.provincial_title(fw, plan), aggregates.provincial(fw, plan))
    return None


def _by_value(query: Query, fw: Framework, listed: bool) -> Answer | None:
    """The indicators worth the points, or due by the date, the question names."""
    if not listed:
        return None
    found = aggregates.with_points(fw, query.text)
    if found:
        return listing(query, fw, f"分值为{answers.fmt(found[0].points)}分的有{len(found)}项", found)
    dated = aggregates.with_deadline(fw, query.text)
    if dated and dated[1]:
        return listing(query, fw, f"完成时限为“{dated[0]}”的有{len(dated[1])}项", dated[1])
    return None


def _extreme(query: Query, fw: Framework) -> Answer | None:
    """The indicators with the most (or fewest) points, for a bare 分值最高的是哪项."""
    text = query.text
    if query.intent != Intent.AGGREGATE or not (_HIGHEST.search(text) or _LOWEST.search(text)) or not _bare_extreme(query):
        return None
    highest = bool(_HIGHEST.search(text))
    inds = aggregates.extreme(fw, highest)
    if not inds:
        return None
    word = "最高" if highest else "最低"
    return listing(query, fw, f"分值{word}的是{answers.fmt(inds[0].points)}分，共{len(inds)}项", inds)


def _bare_extreme(query: Query) -> bool:
    """True when nothing but words like 分值, 哪项, 指标 is left besides 最高/最低."""
    rest = _HIGHEST.sub("", _LOWEST.sub("", query.topic))
    return not _EXTREME_FILLER.sub("", rest)


def _heading(query: Query, scope: Scope, fw: Framework) -> Answer | None:
    """A heading's indicators and total points (标准化这块总共几分)."""
    found = levels(query, scope)
    if not found:
        return None
    bare = not query.library.content_words(query.topic.replace(found[0].name, ""))
    asks = (
        query.intent == Intent.AGGREGATE
        or bool(_LEVEL_LIST.search(query.text))
        or (query.intent == Intent.POINTS and (bare or bool(_LEVEL_TOTAL.search(query.text))))
    )
    if not asks:
        return None
    level = min(found, key=lambda lv: lv.depth * -1)
    inds = [fw.indicators[i] for i in level.members]
    text = answers.level_total(fw, level, inds)
    return Answer(query.raw, Kind.FRAMEWORK, Intent.AGGREGATE, text, framework=fw.id, hits=[(i, 1.0) for i in inds])


def _bonus(query: Query, scope: Scope, fw: Framework) -> Answer | None:
    """The bonus items, unless the question is really about another indicator."""
    if not _BONUS.search(query.text) or query.intent not in _BONUS_INTENTS:
        return None
    bonus = [i for i in fw.indicators.values() if i.kind == "bonus"]
    if not bonus or trusted_hits(query, scope, strict=True, exclude=bonus):
        return None
    return indicator_answer(query, scope, Intent.POINTS, [(i, 1.0) for i in bonus])


def _mentioning(query: Query, fw: Framework, listed: bool) -> Answer | None:
    """The indicators that mention a glossary term the question names (哪些指标提到小微企业)."""
    if not listed or query.intent not in _MENTION_INTENTS:
        return None
    phrases = [p for p, _ in query.library.vocab.terms.find(query.text)]
    mention = aggregates.mentioning(fw, phrases)
    if not mention:
        return None
    return listing(query, fw, f"提到“{mention[0]}”的有{len(mention[1])}项", mention[1])

"""Step 5: what a glossary term means (四上企业是啥, 战略性新兴产业包括哪些)."""

from __future__ import annotations

import re

from knowledge import answers
from knowledge.model import Term
from knowledge.query import WHICH_INDICATOR, Answer, Intent, Kind, Query, Scope
from knowledge.steps.common import COUNTY, PROVINCIAL
from knowledge.text import normalize
from knowledge.vocabulary import term_of

_ABOUT_WORDS = re.compile(r"包括|包含|哪些|指|意思|概念|解释|计算|算法|公式")
_KINDS = re.compile(r"(包括|包含|分为|有)(哪几|哪些|几)(类|种|大类)|几类|几种|哪几类|哪几种")
_NOT_DEFINITION = (Intent.POINTS, Intent.EVIDENCE, Intent.DEADLINE, Intent.DEPARTMENT, Intent.DATA_SOURCE)


def answer(query: Query, scope: Scope) -> Answer | None:
    """The term's definition when the question is about the term itself, not about indicators named after it."""
    if WHICH_INDICATOR.search(query.text) or query.intent in _NOT_DEFINITION:
        return None
    if COUNTY.search(query.text) or PROVINCIAL.search(query.text):
        return None
    terms = [term_of(v) for _, v in query.library.vocab.terms.find(query.text)]
    if not terms:
        return None
    if query.intent == Intent.AGGREGATE:  # 四上企业包括哪几类: the kinds the term covers, when nothing else is asked
        kinds = [t for t in terms if _KINDS.search(query.text) and _covers(query, t)]
        return term_answer(query, scope, kinds[0]) if kinds else None
    if query.intent == Intent.DEFINITION:
        return term_answer(query, scope, terms[0])
    keyword_ok = query.intent == Intent.CRITERIA and "分" not in query.text  # 功效系数法怎么算 asks how it works
    about = [t for t in terms if _covers(query, t) and not _is_indicator_topic(query, t, keyword_ok)]
    if not about or (query.intent == Intent.CRITERIA and "分" in query.text):
        return None
    return term_answer(query, scope, about[0])


def term_answer(query: Query, scope: Scope, term: Term) -> Answer:
    """The glossary entry for a term."""
    item = query.library.form.instruction_of(term.term)
    where = f"{answers.FORM_PLACE}{item.no}条" if item is not None and term.source == query.library.form.source else None
    text = answers.definition(term, query.library.kb, where)
    return Answer(query.raw, Kind.DEFINITION, Intent.DEFINITION, text, framework=scope.framework if scope.explicit else None)


def _covers(query: Query, term: Term) -> bool:
    """True when the question is about the term itself: nothing but the term and words like 包括 are left."""
    topic = query.topic
    rest = topic
    for name in sorted((normalize(n) for n in (term.term, *term.aliases)), key=len, reverse=True):
        rest = rest.replace(name, " ")
    return rest != topic and not [w for w in query.library.content_words(rest) if not _ABOUT_WORDS.fullmatch(w)]


def _is_indicator_topic(query: Query, term: Term, keywords_allowed: bool = False) -> bool:
    """True when people also use the term as the name (or, unless allowed, a keyword) of indicators."""
    vocab = query.library.vocab
    names = vocab.indicator_names if not keywords_allowed else vocab.indicator_titles
    return any(normalize(n) in names for n in (term.term, *term.aliases))

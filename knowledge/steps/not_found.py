"""Step 8, the last: no indicator matched — a glossary term or a plan passage if the question names one, else 没找到."""

from __future__ import annotations

from knowledge import answers
from knowledge.planfacts import PLAN_CUES
from knowledge.query import WHICH_INDICATOR, Answer, Intent, Kind, Query, Scope
from knowledge.steps import definition, plan
from knowledge.steps.common import hits
from knowledge.vocabulary import term_of

_TERM_INTENTS = (Intent.DEFINITION, Intent.LOOKUP, Intent.CRITERIA)
SUGGESTIONS = 3


def answer(query: Query, scope: Scope) -> Answer:
    """Always an answer: the term's definition, the plan's passage, or 没找到 with up to three suggestions."""
    terms = [term_of(v) for _, v in query.library.vocab.terms.find(query.text)]
    if terms and query.intent in _TERM_INTENTS and not WHICH_INDICATOR.search(query.text):
        return definition.term_answer(query, scope, terms[0])
    passage = plan.passage(query, scope) if PLAN_CUES.search(query.text) else None
    if passage is not None:
        return passage
    suggestions = [h.indicator for h in hits(query, scope)[:SUGGESTIONS] if h.name_words]
    return Answer(query.raw, Kind.OUT_OF_SCOPE, Intent.OUT_OF_SCOPE, answers.not_found(suggestions), abstained=True, choices=suggestions)

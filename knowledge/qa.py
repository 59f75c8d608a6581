"""Choose the answer to a liaison's question: which kind, which indicators, or an honest 没找到.

The steps run in the order of STEPS; the first that recognises the question answers it:
number → form → department → system → plan → definition → aggregate → search → not_found (没找到).
Each step is a module of knowledge/steps/ with `answer(query, scope) -> Answer | None`.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable

from knowledge import answers
from knowledge.library import Library
from knowledge.model import KnowledgeBase
from knowledge.query import Answer, Intent, Kind, Query, Scope
from knowledge.steps import (
    aggregate,
    definition,
    department,
    form,
    not_found,
    number,
    plan,
    search,
    system,
)

__all__ = ["STEPS", "Answer", "Intent", "Kind", "Librarian", "Query", "Scope", "Step"]

log = logging.getLogger(__name__)

Step = Callable[[Query, Scope], Answer | None]

# The one place the order is decided; the last step always answers.
STEPS: tuple[Step, ...] = (
    number.answer,
    form.answer,
    department.answer,
    system.answer,
    plan.answer,
    definition.answer,
    aggregate.answer,
    search.answer,
    not_found.answer,
)

RECENT_ANSWERS = 512  # answers kept for repeated questions (oldest dropped first)

_SMALL_TALK = re.compile(r"^(你好|您好|在吗|hello|hi|谢谢|多谢|辛苦了|收到|好的|ok)[!！。.，, ]*$|你是谁|你叫什么|谁开发|谁做的|你能(做|干)什么|你会什么|怎么用你|(怎么|如何|咋)(自评|绑定|使用|用这个)|使用说明|有什么功能")
_UNREADABLE = re.compile(r"[^\u4e00-\u9fff\u3000-\u303f\uff00-\uffefa-zA-Z0-9\s\.,;:!?%()\-+·'\"/&#，。？！：；、（）“”‘’《》【】…]")


class Librarian:
    """Answers questions from the knowledge base; build once, ask many times."""

    def __init__(self, kb: KnowledgeBase, default_plan: str = "pingyin") -> None:
        self.default_plan = kb.plan(default_plan).id
        self.library = Library(kb)
        self._recent: dict[tuple[str, str, str | None], Answer] = {}
        self._understood: dict[tuple[str, str, str | None], Query] = {}

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base the answers come from."""
        return self.library.kb

    def __getstate__(self) -> dict[str, object]:
        """Pickle the index, not the answers remembered so far (the disk cache holds the index only)."""
        return {**self.__dict__, "_recent": {}, "_understood": {}}

    def ask(self, question: str, plan: str | None = None, framework: str | None = None) -> Answer:
        """Answer one question in the context of a plan (default: the deployment's); never raises.

        Answers are pure functions of (question, plan, system), so recent ones are kept: a group
        asking the same thing again costs a dictionary lookup.
        """
        if not isinstance(question, str):
            return self._ask(str(question or ""), plan, framework)
        key = (question, plan or self.default_plan, framework)
        cached = self._recent.get(key)
        if cached is None:
            cached = self._ask(question, plan, framework)
            if len(self._recent) >= RECENT_ANSWERS:
                self._recent.pop(next(iter(self._recent)))
            self._recent[key] = cached
        return dataclasses.replace(cached, hits=list(cached.hits), fixes=list(cached.fixes), choices=list(cached.choices))

    def forget_answers(self) -> None:
        """Drop the remembered answers (after a knowledge change, or to time the real work)."""
        self._recent.clear()
        self._understood.clear()
        self.library.segmenter.forget()

    def understand(self, question: str, plan: str | None = None, framework: str | None = None) -> Query:
        """The question as the steps see it, in its scope; the recent ones are kept, so a dialogue turn
        that classifies the message after `ask` answered it reuses the same Query (and its one search)."""
        key = (question, plan or self.default_plan, framework)
        query = self._understood.get(key)
        if query is None:
            query = self.library.understand(question, plan or self.default_plan, framework)
            if len(self._understood) >= RECENT_ANSWERS:
                self._understood.pop(next(iter(self._understood)))
            self._understood[key] = query
        return query

    def _ask(self, question: str, plan: str | None, framework: str | None) -> Answer:
        if not isinstance(question, str) or not question.strip():
            return Answer(str(question or ""), Kind.OUT_OF_SCOPE, Intent.EMPTY, answers.EMPTY, abstained=True)
        if _looks_unreadable(question):
            return Answer(question, Kind.OUT_OF_SCOPE, Intent.UNREADABLE, answers.UNREADABLE, abstained=True)
        if _SMALL_TALK.search(question.strip().lower()):
            return Answer(question, Kind.OUT_OF_SCOPE, Intent.HELP, answers.ABOUT, abstained=True)
        try:
            return run(self.understand(question, plan, framework))
        except Exception:  # a bug must not take the bot down: log it and say so briefly
            log.exception("answering %r failed", question[:200])
            return Answer(question, Kind.OUT_OF_SCOPE, Intent.ERROR, answers.FAILED, abstained=True)


def run(query: Query) -> Answer:
    """The answer of the first step that recognises the question, in the question's own scope."""
    for step in STEPS:
        answer = step(query, query.scope)
        if answer is not None:
            return answer
    raise RuntimeError("the last step always answers")


def _looks_unreadable(text: str) -> bool:
    sample = text[:500]
    return len(_UNREADABLE.findall(sample)) > max(3, len(sample) // 3)

"""What questions are answered from, built once per knowledge base: vocabulary, segmenter, index, typo tables.

`understand` turns a question into a Query in its Scope; `rank` is the one indicator search a
Query's `search` field runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from knowledge.forms import load_form
from knowledge.groups import load_bodies
from knowledge.model import KnowledgeBase
from knowledge.planfacts import PlanFacts
from knowledge.query import FILLER, Query, Scope, clean_question, is_english
from knowledge.responsibility import Responsibility
from knowledge.retrieval import Hit, Index
from knowledge.steps.calibration import COVERAGE_FLOOR, OTHER_SYSTEM_MARGIN, RERANK
from knowledge.text import STOP_WORDS, Segmenter
from knowledge.typos import Corrector
from knowledge.vocabulary import Vocabulary

_POINTS_WORD = re.compile(r"\d+(\.\d+)?(分|%|‰|项|个|家|次)?")
_LATIN_WORD = re.compile(r"[a-z]{3,}")


class Library:
    """The knowledge base with everything built from it to answer questions; build once, picklable."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.vocab = Vocabulary(kb)
        self.segmenter = Segmenter(self.vocab.domain_terms())
        self.index = Index(kb, self.segmenter)
        self.corrector = Corrector(
            self.vocab.correction_terms(), self.segmenter.is_word, extra={w for w in self.index.words if len(w) >= 3},
            segment=self.segmenter.plain_words,
        )
        self.responsibility = {pid: Responsibility(kb, p) for pid, p in kb.plans.items()}
        self.plan_of_framework = {p.framework: pid for pid, p in reversed(kb.plans.items())}
        self.plan_facts = {pid: PlanFacts(p, kb.frameworks[p.framework], self.segmenter) for pid, p in kb.plans.items()}
        self.form = load_form()  # the Shandong 申请表 (填报说明, 基本情况, 重要指标)
        self.bodies = load_bodies()  # each plan's 领导小组 and 专班, person by person

    def understand(self, question: str, plan: str, framework: str | None = None) -> Query:
        """The question normalised, translated, typo-repaired and placed in its scope."""
        text = clean_question(question)
        english = is_english(text)
        if _LATIN_WORD.search(text):
            text = self.vocab.translate(text)
        text, fixes = self.corrector.correct(self.vocab.synonyms.apply(text))
        scope = self.scope(text, plan, framework)
        return Query(raw=question, text=text, scope=scope, library=self, fixes=tuple(fixes), english=english)

    def scope(self, text: str, plan_id: str, framework: str | None = None) -> Scope:
        """The plan and system asked about: `framework` if given, else one the text names, else the plan's."""
        plan = self.kb.plan(plan_id)
        if framework:
            self.kb.framework(framework)
            return self.scope_of(framework, plan.id)
        for _, value in self.vocab.systems.find(text):
            kind, ref = value if isinstance(value, tuple) else ("", "")
            if kind == "plan":
                return Scope(ref, self.kb.plans[ref].framework, True)
            if kind == "framework":
                return self.scope_of(ref, plan.id)
        return Scope(plan.id, plan.framework, False)

    def scope_of(self, fw_id: str, plan_id: str) -> Scope:
        """An explicit scope in a system: the given plan when it uses that system, else the system's first plan."""
        if self.kb.plans[plan_id].framework == fw_id:
            return Scope(plan_id, fw_id, True)
        return Scope(self.plan_of_framework.get(fw_id, plan_id), fw_id, True)

    def content(self, words: Iterable[str]) -> list[str]:
        """The words that carry meaning: Chinese words and known technical tokens, no filler or numbers."""
        out = []
        for word in words:
            if word in STOP_WORDS or FILLER.fullmatch(word) or _POINTS_WORD.fullmatch(word):
                continue
            if word.isascii() and word not in self.index.idf and (len(word) < 3 or not word.isalpha()):
                continue
            if len(word) >= 2 or word.isascii():
                out.append(word)
        return out

    def content_words(self, text: str) -> list[str]:
        """Content words of a text, segmented afresh."""
        return self.content(self.segmenter.words(text))

    def rank(self, query: Query, scope: Scope) -> list[Hit]:
        """Hits of the scope's system (or of the one system a distinctive term points to), reranked by coverage."""
        hits = self._search(query, scope)
        words = list(query.words)
        head = sorted(hits[:RERANK], key=lambda h: -h.score * (COVERAGE_FLOOR + self.index.coverage(words, h)))
        return head + hits[RERANK:]

    def _search(self, query: Query, scope: Scope) -> list[Hit]:
        tokens = [t for t in self.segmenter.tokens_of(list(query.subject_words)) if not (t.isdigit() and len(t) < 3)]
        if not scope.explicit:
            hits = self.index.search(tokens)
            inside = [h for h in hits if h.indicator.framework == scope.framework]
            outside = [h for h in hits if h.indicator.framework != scope.framework]
            if outside and (not inside or outside[0].score > OTHER_SYSTEM_MARGIN * inside[0].score):
                best = outside[0].indicator.framework
                return [h for h in hits if h.indicator.framework == best]
            return inside
        return self.index.search(tokens, [scope.framework])

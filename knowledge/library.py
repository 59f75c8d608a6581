"""What questions are answered from, built once per knowledge base: vocabulary, segmenter, index, typo tables.

`understand` turns a question into a Query in its Scope; `rank` is the one indicator search a
Query's `search` field runs.

Many counties, one index: the vocabulary, segmenter, index and typo tables are shared by every
plan; what differs per county (who is responsible, the plan's own facts) is built on first use and
kept for the RECENT_PLANS plans used last. `with_plans` lays a deployment's county plans
(QCBOT_PLANS_DIR) over a library built from the packaged knowledge, without rebuilding the index.
"""

from __future__ import annotations

import copy
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Generic, TypeVar

from knowledge.departments import DepartmentIndex, clean
from knowledge.errors import KnowledgeError
from knowledge.forms import load_form
from knowledge.groups import load_bodies
from knowledge.model import KnowledgeBase, Plan
from knowledge.planfacts import PlanFacts
from knowledge.query import FILLER, Query, Scope, clean_question, is_english
from knowledge.responsibility import Responsibility
from knowledge.retrieval import Hit, Index
from knowledge.steps.calibration import COVERAGE_FLOOR, OTHER_SYSTEM_MARGIN, RERANK
from knowledge.text import STOP_WORDS, Segmenter, normalize
from knowledge.typos import Corrector
from knowledge.vocabulary import Vocabulary

_POINTS_WORD = re.compile(r"\d+(\.\d+)?(分|%|‰|项|个|家|次)?")
_LATIN_WORD = re.compile(r"[a-z]{3,}")
RECENT_PLANS = 256  # per-plan structures kept (least recently used dropped first); rebuilt on demand
T = TypeVar("T")


class PerPlan(Mapping[str, T], Generic[T]):
    """Plan id → a structure built from the plan on first use, the `limit` used last kept."""

    def __init__(self, plans: Callable[[], Mapping[str, Plan]], build: Callable[[Plan], T], limit: int = RECENT_PLANS) -> None:
        self._plans = plans
        self._build = build
        self._limit = max(1, limit)
        self._built: OrderedDict[str, T] = OrderedDict()

    def __getitem__(self, plan_id: str) -> T:
        found = self._built.get(plan_id)
        if found is not None:
            self._built.move_to_end(plan_id)
            return found
        built = self._build(self._plans()[plan_id])  # KeyError for an unknown plan, as a dict
        self._built[plan_id] = built
        if len(self._built) > self._limit:
            self._built.popitem(last=False)
        return built

    def __iter__(self) -> Iterator[str]:
        return iter(self._plans())

    def __len__(self) -> int:
        return len(self._plans())

    def built(self) -> int:
        """How many plans' structures are held now."""
        return len(self._built)


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
        self.departments = DepartmentIndex(kb.departments)  # one alias table for every plan
        self.form = load_form()  # the Shandong 申请表 (填报说明, 基本情况, 重要指标)
        self.bodies = load_bodies()  # each plan's 领导小组 and 专班, person by person
        self._per_plan()

    def _per_plan(self) -> None:
        """The per-county overlays, empty until a plan is used, and which plan speaks for each system."""
        self.plan_of_framework = {p.framework: pid for pid, p in reversed(self.kb.plans.items())}
        self.responsibility: PerPlan[Responsibility] = PerPlan(self._plans, self._responsibility)
        self.plan_facts: PerPlan[PlanFacts] = PerPlan(self._plans, self._plan_facts)

    def _plans(self) -> Mapping[str, Plan]:
        return self.kb.plans

    def _responsibility(self, plan: Plan) -> Responsibility:
        return Responsibility(self.kb, plan, self.departments)

    def _plan_facts(self, plan: Plan) -> PlanFacts:
        return PlanFacts(plan, self.kb.frameworks[plan.framework], self.segmenter)

    def __getstate__(self) -> dict[str, object]:
        """Pickle what is shared; the per-plan overlays are rebuilt on use."""
        return {k: v for k, v in self.__dict__.items() if k not in ("responsibility", "plan_facts")}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._per_plan()

    def with_plans(self, plans: Mapping[str, Plan]) -> Library:
        """This library with a deployment's county plans beside its own: index, segmenter and typo tables shared.

        Raises KnowledgeError when a plan's id is already taken. The shared segmenter learns the
        counties' names (so a question's 高青县 stays one word); nothing else is rebuilt.
        """
        for plan_id in plans:
            if plan_id in self.kb.plans:
                raise KnowledgeError(f"{plan_id}.yaml", "id", f"方案编号 {plan_id} 与内置方案重名，请改用另一个编号")
        other = copy.copy(self)
        other.kb = replace(self.kb, plans={**self.kb.plans, **plans})
        other.vocab = self.vocab.for_plans(other.kb)
        self.segmenter.add_terms(clean(normalize(n)) for p in plans.values() for n in (*p.aliases, p.county))
        other._per_plan()
        return other

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

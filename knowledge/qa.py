"""Choose the answer to a liaison's question: which kind, which indicators, or an honest 没找到."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from knowledge import answers
from knowledge.model import Indicator, KnowledgeBase, Term
from knowledge.query import (
    INTENT_PATTERNS,
    SYSTEM_PATTERN,
    Query,
    clean_question,
    detect_intent,
    is_english,
    number_reference,
)
from knowledge.responsibility import Responsibility
from knowledge.retrieval import Hit, Index
from knowledge.text import Segmenter
from knowledge.typos import Corrector
from knowledge.vocabulary import LevelRef, Vocabulary, term_of

# Calibrated on tests/data/devset.yaml with bench/bench_qa.py (see README, "问答").
MIN_SCORE = 4.0          # below this the best hit is not trusted without a name match
OTHER_SYSTEM_MARGIN = 1.6  # another system's hit must beat the deployment's by this factor
TIE_RATIO = 0.92         # second hit this close to the first → ask which one was meant
MAX_HITS = 8

_GENERIC = re.compile(r"指标|这块|这项|那项|这条|这个|方面|相关|有关|情况|问题|一下|请问|咱们|我们|我县|本县|县里|能|该|的|吗|呢|啊|呀|吧|？|\?|，|,|。")
_DEPT_LIST = re.compile(r"(负责|牵头|承担|分管|管|配合|涉及|有|干|报|做)(哪些|哪几|什么|啥|几项|多少)|(哪些|什么|啥).{0,4}(归|是)我|任务|分工|我(们)?是.{0,12}的")
_HIGHEST = re.compile(r"最高|最多|最大|分值最|分最")
_LOWEST = re.compile(r"最低|最少|最小")
_PROVINCIAL = re.compile(r"省直|省里|省级部门|直接评分|省.{0,4}打分|省厅")
_BONUS = re.compile(r"加分")
_UNREADABLE = re.compile(r"[^\u4e00-\u9fff\u3000-\u303f\uff00-\uffefa-zA-Z0-9\s\.,;:!?%()\-+·'\"/&，。？！：；、（）“”‘’《》【】…]")


@dataclass
class Answer:
    """What the bot answers: the kind, the intent, the ranked indicators and the text."""

    question: str
    kind: str
    intent: str
    text: str
    framework: str | None = None
    department: str | None = None
    hits: list[tuple[Indicator, float]] = field(default_factory=list)
    abstained: bool = False
    fixes: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON shape evaluation tools rely on (keep it exactly)."""
        return {
            "question": self.question,
            "kind": self.kind,
            "intent": self.intent,
            "framework": self.framework,
            "department": self.department,
            "hits": [
                {"framework": ind.framework, "id": ind.id, "title": ind.name, "score": round(score, 4)}
                for ind, score in self.hits
            ],
            "answer": self.text,
        }


@dataclass(frozen=True)
class Scope:
    """Which system and plan a question is about."""

    plan: str
    framework: str
    explicit: bool


class Librarian:
    """Answers questions from the knowledge base; load once, ask many times."""

    def __init__(self, kb: KnowledgeBase, default_plan: str = "pingyin") -> None:
        self.kb = kb
        self.default_plan = kb.plan(default_plan).id
        self.vocab = Vocabulary(kb)
        terms = self.vocab.domain_terms()
        self.segmenter = Segmenter(terms)
        self.corrector = Corrector(terms, self.segmenter.is_word)
        self.index = Index(kb, self.segmenter)
        self.responsibility = {pid: Responsibility(kb, p) for pid, p in kb.plans.items()}
        self.plan_of_framework = {p.framework: pid for pid, p in reversed(kb.plans.items())}

    # --- entry point ------------------------------------------------------------------------

    def ask(self, question: str, plan: str | None = None, framework: str | None = None) -> Answer:
        """Answer one question in the context of a plan (default: the deployment's)."""
        if not question or not question.strip():
            return Answer(question, "out_of_scope", "empty", answers.EMPTY, abstained=True)
        if _looks_unreadable(question):
            return Answer(question, "out_of_scope", "unreadable", answers.UNREADABLE, abstained=True)
        query = self._understand(question)
        scope = self._scope(query, plan or self.default_plan, framework)
        for step in (self._by_number, self._by_department, self._by_definition, self._by_system, self._by_aggregate):
            answer = step(query, scope)
            if answer is not None:
                return answer
        return self._by_search(query, scope)

    # --- understanding ----------------------------------------------------------------------

    def _understand(self, question: str) -> Query:
        text = clean_question(question)
        english = is_english(text)
        if english or re.search(r"[a-z]{3,}", text):
            text = self.vocab.translate(text)
        text, fixes = self.corrector.correct(text)
        query = Query(raw=question, text=text, fixes=fixes, english=english)
        query.intent = detect_intent(text)
        query.asks_system = bool(SYSTEM_PATTERN.search(text))
        query.number, query.number_in_table = number_reference(text)
        return query

    def _scope(self, query: Query, plan_id: str, framework: str | None) -> Scope:
        plan = self.kb.plan(plan_id)
        if framework:
            self.kb.framework(framework)
            return Scope(self.plan_of_framework.get(framework, plan.id) if framework != plan.framework else plan.id, framework, True)
        for _, (kind, ref) in self.vocab.systems.find(query.text):  # type: ignore[misc]
            if kind == "plan":
                return Scope(ref, self.kb.plans[ref].framework, True)
            return Scope(plan.id if plan.framework == ref else self.plan_of_framework.get(ref, plan.id), ref, True)
        return Scope(plan.id, plan.framework, False)

    def _topic(self, query: Query) -> str:
        """The question without intent phrases and filler: what it is about."""
        text = query.text
        for _, pattern in INTENT_PATTERNS:
            text = pattern.sub(" ", text)
        for phrase, _ in self.vocab.systems.find(text):
            text = text.replace(phrase, " ")
        return _GENERIC.sub(" ", text).strip()

    # --- the steps, in order ----------------------------------------------------------------

    def _by_number(self, query: Query, scope: Scope) -> Answer | None:
        if query.number is None:
            return None
        plan = self.kb.plans[scope.plan]
        ind_id = str(query.number)
        if query.number_in_table and plan.rows and plan.framework == scope.framework:
            ind_id = plan.row_to_indicator(ind_id) or ""
        fw = self.kb.frameworks[scope.framework]
        ind = fw.indicators.get(ind_id)
        if ind is None:
            text = answers.no_such_number(fw, plan, query.number, query.number_in_table)
            return Answer(query.raw, "out_of_scope", "lookup", text, framework=fw.id, abstained=True)
        intent = query.intent if query.intent not in ("department", "aggregate", "definition") else "lookup"
        return self._indicator_answer(query, scope, intent, [(ind, 1.0)])

    def _by_department(self, query: Query, scope: Scope) -> Answer | None:
        found = [str(v) for _, v in self.vocab.department_names.find(query.text)]
        if not found or not (query.intent == "department" or _DEPT_LIST.search(query.text)):
            return None
        if query.intent in ("deadline",) and not _DEPT_LIST.search(query.text):
            return None
        dept = found[0]
        resp = self.responsibility[scope.plan]
        inds = resp.indicators_of(dept)
        text = answers.department(self.kb, resp, dept, inds)
        hits = [(ind, 1.0) for ind in inds]
        return Answer(query.raw, "department", "department", text, framework=resp.framework.id, department=dept, hits=hits)

    def _by_definition(self, query: Query, scope: Scope) -> Answer | None:
        terms = [term_of(v) for _, v in self.vocab.terms.find(query.text)]
        if not terms:
            return None
        topic = self._topic(query)
        covers = any(_covers(topic, term) for term in terms)
        if query.intent != "definition" and not (query.intent == "lookup" and covers):
            return None
        term = terms[0]
        text = answers.definition(term, self.kb)
        return Answer(query.raw, "definition", "definition", text, framework=scope.framework if scope.explicit else None)

    def _by_system(self, query: Query, scope: Scope) -> Answer | None:
        if not query.asks_system:
            return None
        levels = self._levels(query, scope)
        topic = self._topic(query)
        if levels and query.intent in ("points", "aggregate"):
            return None
        fw = self.kb.frameworks[scope.framework]
        if re.search(r"一票否决|不予受理", query.text):
            veto = next((i for i in fw.indicators.values() if i.kind in ("veto", "rejection")), None)
            if veto is not None and (query.intent in ("definition", "lookup", "criteria") or "哪些" in query.text or "情形" in query.text):
                text = answers.framework_facts(fw, self.kb.plans[scope.plan], query.text)
                return Answer(query.raw, "framework", "system", text, framework=fw.id, hits=[(veto, 1.0)])
        if len(topic) > 8 and self._confident_search(query, scope):
            return None
        text = answers.framework_facts(fw, self.kb.plans[scope.plan], query.text)
        return Answer(query.raw, "framework", "system", text, framework=fw.id)

    def _by_aggregate(self, query: Query, scope: Scope) -> Answer | None:
        fw = self.kb.frameworks[scope.framework]
        plan = self.kb.plans[scope.plan]
        levels = self._levels(query, scope)
        if query.intent == "aggregate" or (query.intent == "points" and levels and re.search(r"这块|这部分|这一块|部分|板块|一级|二级|大项|总", query.text)):
            if _PROVINCIAL.search(query.text) and fw.id == "shandong":
                inds = [i for i in fw.scored_indicators if not i.county_supplied]
                text = answers.provincial(fw, plan, inds)
                return Answer(query.raw, "indicator", "aggregate", text, framework=fw.id, hits=[(i, 1.0) for i in inds])
            if levels:
                level = levels[0]
                inds = [fw.indicators[i] for i in level.members]
                text = answers.level_total(fw, level, inds)
                return Answer(query.raw, "indicator", "aggregate", text, framework=fw.id, hits=[(i, 1.0) for i in inds])
            if _BONUS.search(query.text):
                inds = [i for i in fw.indicators.values() if i.kind == "bonus"]
                if inds:
                    return self._indicator_answer(query, scope, "points", [(i, 1.0) for i in inds])
            if _HIGHEST.search(query.text) or _LOWEST.search(query.text):
                inds = answers.extreme(fw, highest=bool(_HIGHEST.search(query.text)))
                if inds:
                    text = answers.extreme_text(fw, inds, highest=bool(_HIGHEST.search(query.text)))
                    return Answer(query.raw, "indicator", "aggregate", text, framework=fw.id, hits=[(i, 1.0) for i in inds])
        if query.intent == "data_source" and _PROVINCIAL.search(query.text) and fw.id == "shandong" and not self._topic_hits(query, scope):
            inds = [i for i in fw.scored_indicators if not i.county_supplied]
            text = answers.provincial(fw, plan, inds)
            return Answer(query.raw, "indicator", "aggregate", text, framework=fw.id, hits=[(i, 1.0) for i in inds])
        return None

    def _by_search(self, query: Query, scope: Scope) -> Answer:
        hits = self._ranked(query, scope)
        if not hits or not self._trusted(hits[0]):
            return self._decline(query, scope, hits)
        fw_id = hits[0].indicator.framework
        scope = scope if fw_id == scope.framework else Scope(self.plan_of_framework.get(fw_id, scope.plan), fw_id, True)
        group = self._group(query, scope, hits)
        if group is not None:
            return self._indicator_answer(query, scope, query.intent, group)
        top = [(h.indicator, h.score) for h in hits[:MAX_HITS]]
        if _ambiguous(hits):
            text = answers.disambiguation(hits[:3])
            return Answer(query.raw, "indicator", query.intent, text, framework=fw_id, hits=top)
        return self._indicator_answer(query, scope, query.intent, top)

    # --- search helpers ---------------------------------------------------------------------

    def _ranked(self, query: Query, scope: Scope) -> list[Hit]:
        topic = self._topic(query) or query.text
        tokens = self.segmenter.tokens(topic)
        frameworks = [scope.framework] if scope.explicit else None
        hits = self.index.search(tokens, frameworks)
        if not hits or scope.explicit:
            return hits
        inside = [h for h in hits if h.indicator.framework == scope.framework]
        outside = [h for h in hits if h.indicator.framework != scope.framework]
        if outside and (not inside or outside[0].score > OTHER_SYSTEM_MARGIN * inside[0].score):
            best = outside[0].indicator.framework
            return [h for h in hits if h.indicator.framework == best]
        return inside

    def _trusted(self, hit: Hit) -> bool:
        return bool(hit.name_words) and hit.score >= MIN_SCORE / 2 or hit.score >= MIN_SCORE * 2

    def _confident_search(self, query: Query, scope: Scope) -> bool:
        hits = self._ranked(query, scope)
        return bool(hits) and self._trusted(hits[0])

    def _topic_hits(self, query: Query, scope: Scope) -> bool:
        return self._confident_search(query, scope)

    def _levels(self, query: Query, scope: Scope) -> list[LevelRef]:
        refs = [v for _, v in self.vocab.levels.find(query.text) if isinstance(v, LevelRef)]
        return [r for r in refs if r.framework == scope.framework]

    def _group(self, query: Query, scope: Scope, hits: list[Hit]) -> list[tuple[Indicator, float]] | None:
        """All indicators under a heading the question names (计量 → 16, 17, 18), best first."""
        levels = [lv for lv in self._levels(query, scope) if len(lv.members) > 1]
        if not levels:
            return None
        level = min(levels, key=lambda lv: len(lv.members))
        topic = self._topic(query)
        if topic and topic not in level.name and level.name not in topic:
            return None
        scores = {h.indicator.id: h.score for h in hits if h.indicator.framework == level.framework}
        fw = self.kb.frameworks[level.framework]
        members = sorted(level.members, key=lambda i: -scores.get(i, 0.0))
        return [(fw.indicators[i], scores.get(i, 0.0)) for i in members]

    def _decline(self, query: Query, scope: Scope, hits: list[Hit]) -> Answer:
        terms = [term_of(v) for _, v in self.vocab.terms.find(query.text)]
        if terms:
            return Answer(query.raw, "definition", "definition", answers.definition(terms[0], self.kb))
        suggestions = [h.indicator for h in hits[:3] if h.matched_words]
        text = answers.not_found(suggestions)
        return Answer(query.raw, "out_of_scope", "out_of_scope", text, abstained=True)

    def _indicator_answer(
        self, query: Query, scope: Scope, intent: str, hits: list[tuple[Indicator, float]]
    ) -> Answer:
        if intent in ("department", "definition", "aggregate"):
            intent = "lookup"
        plan = self.kb.plans[scope.plan]
        resp = self.responsibility[scope.plan] if plan.framework == hits[0][0].framework else None
        tokens = set(self.segmenter.tokens(self._topic(query)))
        text = answers.indicators(self.kb, plan, resp, intent, [i for i, _ in hits], tokens)
        return Answer(query.raw, "indicator", intent, text, framework=hits[0][0].framework, hits=hits, fixes=query.fixes)


def _covers(topic: str, term: Term) -> bool:
    names = (term.term, *term.aliases)
    return any(n in topic for n in names) and len(topic) <= max(len(n) for n in names) + 4


def _ambiguous(hits: list[Hit]) -> bool:
    if len(hits) < 2:
        return False
    first, second = hits[0], hits[1]
    same_group = first.indicator.level2 and first.indicator.level2 == second.indicator.level2
    return not same_group and second.score >= TIE_RATIO * first.score and first.name_words == second.name_words


def _looks_unreadable(text: str) -> bool:
    sample = text[:500]
    bad = len(_UNREADABLE.findall(sample))
    return bad > max(3, len(sample) // 3)

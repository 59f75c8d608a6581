"""Choose the answer to a liaison's question: which kind, which indicators, or an honest 没找到.

The steps run in order; the first that recognises the question answers it:
number reference → department list → system facts → definition → aggregate → indicator search.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from knowledge import aggregates, answers
from knowledge.model import Framework, Indicator, KnowledgeBase, Term
from knowledge.planfacts import OFFICE, PLAN_CUES, PLAN_ONLY, PlanFacts
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
from knowledge.text import STOP_WORDS, Segmenter, normalize
from knowledge.typos import Corrector
from knowledge.vocabulary import LevelRef, Vocabulary, term_of

log = logging.getLogger(__name__)

# Calibrated on tests/data/devset.yaml with bench/bench_qa.py (see README, "问答").
MIN_SCORE = 4.0            # a best hit below this needs a match in an indicator's name
MIN_COVERAGE = 0.5         # share of the question's content words found in the best hit
LONG_QUESTION = 6          # content words from which a question counts as long and rambling
LONG_EVIDENCE = 8.0        # a long question needs coverage × score of at least this
RICH_SCORE = 120.0         # a score this high needs only a fifth of the words covered
OTHER_SYSTEM_MARGIN = 4.0  # another system's hit must beat the deployment's by this factor
TIE_RATIO = 0.92           # second hit this close to the first → ask which one was meant
MAX_HITS = 8
RERANK = 10               # the first hits are reordered by how much of the question they cover
COVERAGE_FLOOR = 0.3
PLAN_MIN_SCORE = 1.5
RECENT_ANSWERS = 512       # answers kept for repeated questions (oldest dropped first)       # a plan passage must share at least this much (idf) with the question

_FILLER = re.compile(r"指标|任务|这块|这项|那项|这条|这个|那个|那边|这边|方面|相关|有关|情况|问题|一下|请问|咱们|我们|我县|本县|县里|没有|怎么办|不一样|不同|区别|差异|一样|出数|完成|一项|哪一项|占多大|多大|占|算|该|？|\?|，|,|。|！|!")
_POINTS_WORD = re.compile(r"\d+(\.\d+)?(分|%|‰|项|个|家|次)?")
_SMALL_TALK = re.compile(r"^(你好|您好|在吗|hello|hi|谢谢|多谢|辛苦了|收到|好的|ok)[!！。.，, ]*$|你是谁|你叫什么|谁开发|谁做的|你能(做|干)什么|你会什么|怎么用你|(怎么|如何|咋)(自评|绑定|使用|用这个)|使用说明|有什么功能")
_DEPT_LIST = re.compile(r"(负责|牵头|承担|分管|管|配合|涉及|涉及到|牵扯|牵扯到|牵涉|牵涉到|有|干|报|做)(哪些|哪几|什么|啥|几项|几条|多少|哪条|哪项|哪个)|(哪些|什么|啥).{0,4}(归|是)我|有我们(的)?(什么|啥)?事|有(啥|什么)?事|有(啥|什么)活|任务|分工|which (indicators|tasks)|responsible for")
_SELF_INTRO = re.compile(r"我(们)?是.{0,12}的")
_DEPT_LONG = re.compile(r"which .{0,20}(tasks|indicators).{0,20}(involve|assigned|for)|列(出来|一下|个清单|清单)|清单|有多少项|好几项|都有哪些|还有哪些|写我们(名字|单位)|涉及我们")
_HIGHEST = re.compile(r"最高|最多|最大")
_LOWEST = re.compile(r"最低|最少|最小")
_PROVINCIAL = re.compile(r"省直|省里|省级部门|直接评分|省.{0,4}打分|省厅|provincial")
_COUNTY = re.compile(r"(县里|县级|县区|本县|申报县|我县|县).{0,4}(提供|准备|自己)|county.{0,10}(suppl|provid)")
_BONUS = re.compile(r"加分|bonus")
_LISTING = re.compile(r"哪些|哪几|哪\d+项|情形|包括|包含|几种|都有|下面有|which|what are")
_WHICH_INDICATOR = re.compile(r"(算|属于|对应|归|在|是|放)(哪条|哪项|哪个|哪一项|哪一条|第几|哪几|那项|那条|那个指标)|哪条指标|哪个指标|哪一行|哪几行|which (indicator|item|row|task|one)")
_EXTREME_FILLER = re.compile(r"分值|分数|哪项|哪个|哪几项|哪一项|是|的|指标|项|得分|评分表|表里|表中|体系|标准|规范|评价|里|中|分|\s|山东|湖南|河南|济南")
_LEVEL_LIST = re.compile(r"(下面|下边|里面|包括|包含|有)(到底)?(有)?(哪几|哪些)(个|项|条)?(指标|任务|项|条)")
_LEVEL_TOTAL = re.compile(r"这块|这部分|这一块|部分|板块|一级|二级|大项|总|合计|一共|共")
_ABOUT_WORDS = re.compile(r"包括|包含|哪些|指|意思|概念|解释|计算|算法|公式")
_NOT_DEFINITION = ("points", "evidence", "deadline", "department", "data_source")
_UNREADABLE = re.compile(r"[^\u4e00-\u9fff\u3000-\u303f\uff00-\uffefa-zA-Z0-9\s\.,;:!?%()\-+·'\"/&#，。？！：；、（）“”‘’《》【】…]")


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
    """Which system and plan a question is about; explicit when the question names them."""

    plan: str
    framework: str
    explicit: bool


class Librarian:
    """Answers questions from the knowledge base; build once, ask many times."""

    def __init__(self, kb: KnowledgeBase, default_plan: str = "pingyin") -> None:
        self.kb = kb
        self.default_plan = kb.plan(default_plan).id
        self.vocab = Vocabulary(kb)
        self.segmenter = Segmenter(self.vocab.domain_terms())
        self.index = Index(kb, self.segmenter)
        self.corrector = Corrector(
            self.vocab.correction_terms(), self.segmenter.is_word, extra={w for w in self.index.words if len(w) >= 3},
            segment=self.segmenter.plain_words,
        )
        self.responsibility = {pid: Responsibility(kb, p) for pid, p in kb.plans.items()}
        self.plan_of_framework = {p.framework: pid for pid, p in reversed(kb.plans.items())}
        self._recent: dict[tuple[str, str, str | None], Answer] = {}
        self.plan_facts = {pid: PlanFacts(p, kb.frameworks[p.framework], self.segmenter) for pid, p in kb.plans.items()}

    # --- entry point ------------------------------------------------------------------------

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
        return dataclasses.replace(cached, hits=list(cached.hits), fixes=list(cached.fixes))

    def forget_answers(self) -> None:
        """Drop the remembered answers (after a knowledge change, or to time the real work)."""
        self._recent.clear()

    def _ask(self, question: str, plan: str | None, framework: str | None) -> Answer:
        if not isinstance(question, str) or not question.strip():
            return Answer(str(question or ""), "out_of_scope", "empty", answers.EMPTY, abstained=True)
        if _looks_unreadable(question):
            return Answer(question, "out_of_scope", "unreadable", answers.UNREADABLE, abstained=True)
        if _SMALL_TALK.search(question.strip().lower()):
            return Answer(question, "out_of_scope", "help", answers.ABOUT, abstained=True)
        try:
            return self._answer(question, plan or self.default_plan, framework)
        except Exception:  # a bug must not take the bot down: log it and say so briefly
            log.exception("answering %r failed", question[:200])
            return Answer(question, "out_of_scope", "error", answers.FAILED, abstained=True)

    def _answer(self, question: str, plan: str, framework: str | None) -> Answer:
        query = self._understand(question)
        scope = self._scope(query, plan, framework)
        query.memo["scope_framework"] = scope.framework
        steps = (self._by_number, self._by_department, self._by_system, self._by_plan, self._by_definition, self._by_aggregate)
        for step in steps:
            answer = step(query, scope)
            if answer is not None:
                return answer
        return self._by_search(query, scope)

    # --- understanding ----------------------------------------------------------------------

    def _understand(self, question: str) -> Query:
        text = clean_question(question)
        english = is_english(text)
        if re.search(r"[a-z]{3,}", text):
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
            return self._scope_of(framework, plan.id)
        for _, value in self.vocab.systems.find(query.text):
            kind, ref = value if isinstance(value, tuple) else ("", "")
            if kind == "plan":
                return Scope(ref, self.kb.plans[ref].framework, True)
            if kind == "framework":
                return self._scope_of(ref, plan.id)
        return Scope(plan.id, plan.framework, False)

    def _scope_of(self, fw_id: str, plan_id: str) -> Scope:
        if self.kb.plans[plan_id].framework == fw_id:
            return Scope(plan_id, fw_id, True)
        return Scope(self.plan_of_framework.get(fw_id, plan_id), fw_id, True)

    def _topic(self, query: Query) -> str:
        """The question without intent phrases, system names and filler words: what it is about."""
        return " ".join(self._topic_words(query))

    def _topic_words(self, query: Query) -> list[str]:
        if "topic" not in query.memo:
            query.memo["topic"] = self._compute_topic(query)
        return list(query.memo["topic"])  # type: ignore[call-overload]

    def _words(self, query: Query) -> list[str]:
        """Content words of the topic (or of the whole question when the topic is empty), memoised."""
        if "words" not in query.memo:
            words = self._topic_words(query) or self.segmenter.words(query.text)
            query.memo["words"] = self._filter_content(words)
        return list(query.memo["words"])  # type: ignore[call-overload]

    def _compute_topic(self, query: Query) -> list[str]:
        text = query.text
        for pattern in (*(p for _, p in INTENT_PATTERNS), _WHICH_INDICATOR):
            text = pattern.sub(" ", text)
        systems = {phrase for phrase, _ in self.vocab.systems.find(text)} | self.vocab.system_names
        return [
            w for w in self.segmenter.words(text)
            if w not in STOP_WORDS and not _FILLER.fullmatch(w) and w not in systems
        ]

    def _content_words(self, topic: str) -> list[str]:
        """Words that carry the question's meaning: Chinese words and known technical tokens."""
        return self._filter_content(self.segmenter.words(topic))

    def _filter_content(self, words: list[str]) -> list[str]:
        out = []
        for word in words:
            if word in STOP_WORDS or _FILLER.fullmatch(word) or _POINTS_WORD.fullmatch(word):
                continue
            if word.isascii() and word not in self.index.idf and (len(word) < 3 or not word.isalpha()):
                continue
            if len(word) >= 2 or word.isascii():
                out.append(word)
        return out

    # --- the steps, in order ----------------------------------------------------------------

    def _by_number(self, query: Query, scope: Scope) -> Answer | None:
        if query.number is None:
            return None
        plan = self.kb.plans[scope.plan]
        fw = self.kb.frameworks[scope.framework]
        ind_id = str(query.number)
        if query.number_in_table and plan.rows and plan.framework == fw.id:
            ind_id = plan.row_to_indicator(ind_id) or ""
        ind = fw.indicators.get(ind_id)
        if ind is None:
            text = answers.no_such_number(fw, plan, query.number, query.number_in_table and bool(plan.rows))
            return Answer(query.raw, "out_of_scope", "lookup", text, framework=fw.id, abstained=True)
        intent = query.intent if query.intent not in ("department", "aggregate", "definition") else "lookup"
        return self._indicator_answer(query, scope, intent, [(ind, 1.0)])

    def _by_department(self, query: Query, scope: Scope) -> Answer | None:
        found = [str(v) for _, v in self.vocab.department_names.find(query.text)]
        if not found:
            return None
        short = len(query.text) <= 30
        listed = _DEPT_LIST.search(query.text) or _SELF_INTRO.search(query.text)
        asks = query.intent == "department" or (short and listed) or (not short and _DEPT_LONG.search(query.text))
        if not asks:
            return None
        dept = max(found, key=lambda d: (found.count(d), -found.index(d)))  # the one named most, then first
        resp = self.responsibility[scope.plan]
        inds = resp.indicators_of(dept)
        text = answers.department(self.kb, resp, dept, inds)
        hits = [(ind, 1.0) for ind in inds]
        return Answer(query.raw, "department", "department", text, framework=resp.framework.id, department=dept, hits=hits)

    def _by_system(self, query: Query, scope: Scope) -> Answer | None:
        if not query.asks_system or _WHICH_INDICATOR.search(query.text):
            return None
        if _PROVINCIAL.search(query.text) or _COUNTY.search(query.text):
            return None
        if self._levels(query, scope) and query.intent in ("points", "aggregate", "lookup"):
            return None
        fw = self.kb.frameworks[scope.framework]
        plan = self.kb.plans[scope.plan]
        veto = next((i for i in fw.indicators.values() if i.kind in ("veto", "rejection")), None)
        if veto is not None and re.search(r"一票否决|不予受理", query.text):
            if query.intent in ("owner", "evidence", "deadline", "data_source", "criteria"):
                return self._indicator_answer(query, scope, query.intent, [(veto, 1.0)])
            if query.intent != "definition" or _LISTING.search(query.text):
                text = answers.framework_facts(fw, plan, query.text)
                return Answer(query.raw, "framework", "system", text, framework=fw.id, hits=[(veto, 1.0)])
            return None
        if len(self._content_words(self._topic(query))) > 2 and self._trusted_hits(query, scope):
            return None
        text = answers.framework_facts(fw, plan, query.text)
        return Answer(query.raw, "framework", "system", text, framework=fw.id)

    def _by_definition(self, query: Query, scope: Scope) -> Answer | None:
        if _WHICH_INDICATOR.search(query.text) or query.intent in _NOT_DEFINITION:
            return None
        if query.intent == "aggregate" or _COUNTY.search(query.text) or _PROVINCIAL.search(query.text):
            return None
        terms = [term_of(v) for _, v in self.vocab.terms.find(query.text)]
        if not terms:
            return None
        if query.intent == "definition":
            return self._definition(query, scope, terms[0])
        topic = self._topic(query)
        keyword_ok = query.intent == "criteria" and "分" not in query.text  # 功效系数法怎么算 asks how it works
        about = [t for t in terms if self._covers(topic, t) and not self._is_indicator_topic(t, keyword_ok)]
        if not about or (query.intent == "criteria" and "分" in query.text):
            return None
        return self._definition(query, scope, about[0])

    def _covers(self, topic: str, term: Term) -> bool:
        """True when the question is about the term itself (四上企业是啥, 战略性新兴产业包括哪些)."""
        rest = topic
        for name in sorted((normalize(n) for n in (term.term, *term.aliases)), key=len, reverse=True):
            rest = rest.replace(name, " ")
        return rest != topic and not [w for w in self._content_words(rest) if not _ABOUT_WORDS.fullmatch(w)]

    def _is_indicator_topic(self, term: Term, keywords_allowed: bool = False) -> bool:
        """True when people also use the term as the name (or, unless allowed, a keyword) of indicators."""
        names = self.vocab.indicator_names if not keywords_allowed else self.vocab.indicator_titles
        return any(normalize(n) in names for n in (term.term, *term.aliases))

    def _definition(self, query: Query, scope: Scope, term: Term) -> Answer:
        text = answers.definition(term, self.kb)
        return Answer(query.raw, "definition", "definition", text, framework=scope.framework if scope.explicit else None)

    def _by_aggregate(self, query: Query, scope: Scope) -> Answer | None:
        fw = self.kb.frameworks[scope.framework]
        plan = self.kb.plans[scope.plan]
        text = query.text
        listing = bool(_LISTING.search(text)) or query.intent == "aggregate"
        if fw.id == "shandong" and (listing or query.intent == "data_source"):
            if _COUNTY.search(text):
                return self._listing(query, fw, answers.county_title(fw, plan), aggregates.county_supplied(fw, plan))
            if _PROVINCIAL.search(text) and not self._trusted_hits(query, scope, strict=True):
                return self._listing(query, fw, answers.provincial_title(fw, plan), aggregates.provincial(fw, plan))
        if listing or query.intent in ("points", "deadline"):
            found = aggregates.with_points(fw, text) if listing else None
            if found:
                return self._listing(query, fw, f"分值为{answers.fmt(found[0].points)}分的有{len(found)}项", found)
            dated = aggregates.with_deadline(fw, text) if listing else None
            if dated and dated[1]:
                return self._listing(query, fw, f"完成时限为“{dated[0]}”的有{len(dated[1])}项", dated[1])
        if query.intent == "aggregate" and (_HIGHEST.search(text) or _LOWEST.search(text)) and self._bare_extreme(query):
            highest = bool(_HIGHEST.search(text))
            inds = aggregates.extreme(fw, highest)
            if inds:
                word = "最高" if highest else "最低"
                return self._listing(query, fw, f"分值{word}的是{answers.fmt(inds[0].points)}分，共{len(inds)}项", inds)
        levels = self._levels(query, scope)
        bare_level = bool(levels) and not self._content_words(self._topic(query).replace(levels[0].name, ""))
        lists_level = bool(levels) and bool(_LEVEL_LIST.search(text))
        if levels and (
            query.intent == "aggregate"
            or lists_level
            or (query.intent == "points" and (bare_level or _LEVEL_TOTAL.search(text)))
        ):
            level = min(levels, key=lambda lv: lv.depth * -1)
            inds = [fw.indicators[i] for i in level.members]
            return Answer(query.raw, "framework", "aggregate", answers.level_total(fw, level, inds), framework=fw.id, hits=[(i, 1.0) for i in inds])
        if _BONUS.search(text) and query.intent in ("aggregate", "points", "lookup", "criteria"):
            bonus = [i for i in fw.indicators.values() if i.kind == "bonus"]
            if bonus and not self._trusted_hits(query, scope, strict=True, exclude=bonus):
                return self._indicator_answer(query, scope, "points", [(i, 1.0) for i in bonus])
        if listing and query.intent in ("aggregate", "lookup"):
            phrases = [p for p, _ in self.vocab.terms.find(text)]
            mention = aggregates.mentioning(fw, phrases)
            if mention:
                return self._listing(query, fw, f"提到“{mention[0]}”的有{len(mention[1])}项", mention[1])
        return None

    def _by_plan(self, query: Query, scope: Scope) -> Answer | None:
        """Questions about the plan itself (phases, slogan, office, e-mail); others go to the indicators first."""
        if not PLAN_ONLY.search(query.text) and not (PLAN_CUES.search(query.text) and not self._trusted_hits(query, scope)):
            return None
        return self._plan_answer(query, scope)

    def _plan_answer(self, query: Query, scope: Scope) -> Answer | None:
        facts = self.plan_facts[scope.plan]
        plan = self.kb.plans[scope.plan]
        intent = "deadline" if query.intent == "deadline" else "lookup"
        if facts.wants_phases(query.text):
            return Answer(query.raw, "framework", intent, facts.phases_text(), framework=plan.framework)
        office = facts.office() if OFFICE.search(query.text) else None
        if office is not None:
            return Answer(query.raw, "framework", intent, f"【{plan.county}方案】{office.text}", framework=plan.framework)
        found = facts.search(self._topic(query) or query.text)
        if query.intent == "deadline":  # a date question is about the plan's dates first
            found = [f for f in found if f[0].kind in ("deadline", "phase")] or found
        if not found and query.intent == "deadline":
            return Answer(query.raw, "framework", intent, facts.deadlines_text(), framework=plan.framework)
        if not found or found[0][1] < PLAN_MIN_SCORE:
            return None
        words = self._words(query)
        if words and sum(len(w) for w in words if w in normalize(found[0][0].match)) < 0.5 * sum(len(w) for w in words):
            return None
        best = [p for p, score in found if score >= 0.8 * found[0][1]][:2]
        text = f"【{plan.county}方案】" + "\n".join(p.text for p in best)
        return Answer(query.raw, "framework", intent, text, framework=plan.framework)

    def _by_search(self, query: Query, scope: Scope) -> Answer:
        hits = self._ranked(query, scope)
        if not hits or not self._trusted(query, hits[0]):
            return self._decline(query, scope, hits)
        fw_id = hits[0].indicator.framework
        if fw_id != scope.framework:
            scope = self._scope_of(fw_id, scope.plan)
        group = self._group(query, scope, hits)
        if group is not None:
            return self._indicator_answer(query, scope, query.intent, group)
        top = [(h.indicator, h.score) for h in hits[:MAX_HITS]]
        if _ambiguous(hits):
            text = answers.disambiguation([h.indicator for h in hits[:3]])
            return Answer(query.raw, "indicator", query.intent, text, framework=fw_id, hits=top)
        return self._indicator_answer(query, scope, query.intent, top, shown=1)

    # --- search helpers ---------------------------------------------------------------------

    def _ranked(self, query: Query, scope: Scope) -> list[Hit]:
        """Hits of the question's system (or of the one system a distinctive term points to), reranked by coverage."""
        key = ("ranked", scope)
        if key not in query.memo:
            hits = self._raw_ranked(query, scope)
            words = self._words(query)
            head = sorted(hits[:RERANK], key=lambda h: -h.score * (COVERAGE_FLOOR + self.index.coverage(words, h)))
            query.memo[key] = head + hits[RERANK:]
        return list(query.memo[key])  # type: ignore[call-overload]

    def _raw_ranked(self, query: Query, scope: Scope) -> list[Hit]:
        words = self._topic_words(query) or self.segmenter.words(query.text)
        tokens = [t for t in self.segmenter.tokens_of(words) if not (t.isdigit() and len(t) < 3)]
        if not scope.explicit:
            hits = self.index.search(tokens)
            inside = [h for h in hits if h.indicator.framework == scope.framework]
            outside = [h for h in hits if h.indicator.framework != scope.framework]
            if outside and (not inside or outside[0].score > OTHER_SYSTEM_MARGIN * inside[0].score):
                best = outside[0].indicator.framework
                return [h for h in hits if h.indicator.framework == best]
            return inside
        return self.index.search(tokens, [scope.framework])

    def _trusted(self, query: Query, hit: Hit, strict: bool = False) -> bool:
        """Is the best hit really what the question is about? (else 没找到)"""
        words = self._words(query)
        coverage = self.index.coverage(words, hit)
        if strict:
            return coverage >= 0.75 and bool(hit.name_words)
        if not hit.name_words and hit.score < MIN_SCORE * 2:
            return False
        if hit.indicator.framework != self._scope_framework(query) and coverage < 0.75:
            return False  # answering from another system than the deployment's needs more evidence
        if coverage >= MIN_COVERAGE:
            return True
        if coverage >= 0.2 and hit.score >= RICH_SCORE:
            return True
        return len(words) >= LONG_QUESTION and coverage * hit.score >= LONG_EVIDENCE

    def _scope_framework(self, query: Query) -> str:
        return str(query.memo.get("scope_framework", ""))

    def _trusted_hits(self, query: Query, scope: Scope, strict: bool = False, exclude: list[Indicator] | None = None) -> bool:
        hits = [h for h in self._ranked(query, scope) if not exclude or h.indicator not in exclude]
        return bool(hits) and self._trusted(query, hits[0], strict)

    def _bare_extreme(self, query: Query) -> bool:
        rest = _HIGHEST.sub("", _LOWEST.sub("", self._topic(query)))
        return not _EXTREME_FILLER.sub("", rest)

    def _levels(self, query: Query, scope: Scope) -> list[LevelRef]:
        refs = [v for _, v in self.vocab.levels.find(query.text) if isinstance(v, LevelRef)]
        return [r for r in refs if r.framework == scope.framework]

    def _group(self, query: Query, scope: Scope, hits: list[Hit]) -> list[tuple[Indicator, float]] | None:
        """All indicators under a heading the question names (计量 → 16, 17, 18), best first."""
        levels = [lv for lv in self._levels(query, scope) if len(lv.members) > 1]
        if not levels:
            return None
        level = min(levels, key=lambda lv: len(lv.members))
        rest = self._topic(query).replace(level.name, "")
        if self._content_words(rest):
            return None
        scores = {h.indicator.id: h.score for h in hits if h.indicator.framework == level.framework}
        plan = self.kb.plans[scope.plan]
        covered = {r.indicator for r in plan.rows} if plan.rows and plan.framework == level.framework else set(level.members)
        fw = self.kb.frameworks[level.framework]
        members = sorted(level.members, key=lambda i: (i not in covered, -scores.get(i, 0.0)))
        return [(fw.indicators[i], scores.get(i, 0.0)) for i in members]

    def _listing(self, query: Query, fw: Framework, title: str, inds: list[Indicator]) -> Answer:
        text = answers.listing(fw, title, inds)
        return Answer(query.raw, "framework", "aggregate", text, framework=fw.id, hits=[(i, 1.0) for i in inds])

    def _decline(self, query: Query, scope: Scope, hits: list[Hit]) -> Answer:
        terms = [term_of(v) for _, v in self.vocab.terms.find(query.text)]
        if terms and query.intent in ("definition", "lookup", "criteria") and not _WHICH_INDICATOR.search(query.text):
            return self._definition(query, scope, terms[0])
        plan_answer = self._plan_answer(query, scope) if PLAN_CUES.search(query.text) else None
        if plan_answer is not None:
            return plan_answer
        suggestions = [h.indicator for h in hits[:3] if h.name_words]
        return Answer(query.raw, "out_of_scope", "out_of_scope", answers.not_found(suggestions), abstained=True)

    def _indicator_answer(
        self, query: Query, scope: Scope, intent: str, hits: list[tuple[Indicator, float]], shown: int = MAX_HITS
    ) -> Answer:
        """Answer about the first `shown` hits; all hits go into the JSON, best first."""
        if intent in ("department", "definition", "aggregate", "system"):
            intent = "lookup"
        plan = self.kb.plans[scope.plan]
        resp = self.responsibility[scope.plan] if plan.framework == hits[0][0].framework else None
        tokens = set(self.segmenter.tokens_of(self._topic_words(query)))
        text = answers.indicators(self.kb, plan, resp, intent, [i for i, _ in hits[:shown]], tokens)
        return Answer(query.raw, "indicator", intent, text, framework=hits[0][0].framework, hits=hits, fixes=query.fixes)


def _ambiguous(hits: list[Hit]) -> bool:
    if len(hits) < 2:
        return False
    first, second = hits[0], hits[1]
    same_group = first.indicator.level2 and first.indicator.level2 == second.indicator.level2
    return not same_group and second.score >= TIE_RATIO * first.score and first.name_words == second.name_words


def _looks_unreadable(text: str) -> bool:
    sample = text[:500]
    return len(_UNREADABLE.findall(sample)) > max(3, len(sample) // 3)

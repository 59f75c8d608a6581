"""Follow-ups in a conversation: resolve a message against what the same person discussed last.

A `Context` holds the indicators (system + ids), the intent and the topic of the last answered
question, the numbered choices last offered and the 文件差异 notes already shown. It expires after
IDLE_SECONDS (30 minutes) without a message. `converse` is pure: the context goes in, the answer
and the next context come out; the caller keeps one context per (channel, chat, user).

Kinds of follow-up, recognised from the query's own features (intent, topic words, number, scope):
  slot only     多少分 / 归谁管 / 要交什么 / 截止到什么时候 / 怎么加权 — a new intent, no subject
  anaphor       这个 / 这条 / 它 / it / that one — the indicators discussed
  what-if       没达到90%呢 — the scoring clauses of the indicators discussed
  sibling       第20项呢 / 那质量投诉呢 / 换成湖南标准呢 / 湖南的呢 — same intent, other subject or system
  yes/no        这个归财政局吗 / 这个有分吗 — 是 or 否 first, then the clause
  choice        1 / 2 / 3 after “您是不是想问 1… 2… 3…”
A message with its own subject is a new question and replaces the context. Without a context, a
slot-only message gets a short question back (“您问的是哪一项？”) and no hits, never a guess.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from knowledge import answers
from knowledge.model import Indicator
from knowledge.qa import Librarian
from knowledge.query import (
    INTENT_PATTERNS,
    WHICH_INDICATOR,
    Answer,
    Intent,
    Kind,
    Query,
    clean_question,
)
from knowledge.steps.calibration import MAX_HITS
from knowledge.steps.common import indicator_answer
from knowledge.text import STOP_WORDS, normalize

IDLE_SECONDS = 30 * 60  # a conversation is forgotten after this long without a message

_SLOTS = (Intent.POINTS, Intent.CRITERIA, Intent.OWNER, Intent.EVIDENCE, Intent.DEADLINE, Intent.DATA_SOURCE)
_SLOT_TEXT = {
    Intent.POINTS: "多少分",
    Intent.CRITERIA: "怎么评分",
    Intent.OWNER: "谁负责",
    Intent.EVIDENCE: "要准备什么材料",
    Intent.DEADLINE: "什么时候完成",
    Intent.DATA_SOURCE: "数据来源",
}
_MORE_SLOTS = ((Intent.CRITERIA, re.compile(r"加权|权重|折算|系数|怎么算|how .{0,12}(calculated|weighted)|weight")),)
_ANAPHOR = re.compile(r"这个|这条|这项|这一项|这一条|该项|此项|该指标|这个指标|上面|上述|刚才|它|\bit\b|\bthat( one)?\b|\bthis( one)?\b")
_ELLIPSIS = re.compile(r"^(那么?|那要是|还有|换成|换到|改成|改为|按照?|再看看?|and|what about|how about)|呢$|的$")
_YES_NO = re.compile(r"吗$|么$|是不是|是否|对不对|有没有|算不算|能不能|^(is|does|do|can|are)\b")
_WHAT_IF = re.compile(
    r"没(有)?达到|达不到|不到|没到|低于|高于|超过|不足|不满|没完成|未完成|未达到|没建成|未建成|没有?(开|建|办|设|出台|制定)|不通畅?|"
    r"如果|要是|假如|万一|只有|只|仅有?|才|会怎样|会怎么样|咋办|怎么办|if not|below|above|only"
)
_POINTS_CHECK = re.compile(r"分|score|points?")
_DIFFER = re.compile(r"差异|不同|区别|不一样|出入|矛盾|冲突|为准|differ")
_NOT_SUBJECT = re.compile(
    r"换成|换到|改成|改为|体系|标准|方案|规范|评分表|那么?|呢|吗|的|里|中|归|达到|没达到|未达到|完成|没完成|"
    r"部门|单位|牵头|负责|管|活|事|那块|这块|那部分|这部分|部分|块|是不是|是|不是|"
    r"加权|权重|折算|系数|要是|如果|假如|按照?|再|看看|还有|哪里|哪儿|什么|哪些|多少|"
    r"[那这就还也都又要需得该应须请问咱我你们归是]+|"  # function words jieba glues together (那要, 还需)
    r"what|about|how|which|one|the|is|does"
)
_ENGLISH_FILLER = frozenset(w for w in STOP_WORDS if w.isascii()) | frozenset(
    ["worth", "so", "department", "bureau", "office", "unit", "checked", "judged", "assessed", "evaluated", "measured", "calculated", "weighted", "verified", "accepted", "required", "requirement", "requirements", "criteria", "in", "charge", "please", "then", "also", "else", "what", "about", "how", "which", "who", "when", "where", "is", "are", "was", "does", "do", "did", "can", "the", "a", "an", "of", "for", "to", "in", "on", "it", "its", "that", "this", "one", "we", "our", "us", "you", "need", "needed", "needs", "indicator", "indicators", "item", "items", "scored", "score", "scoring", "points", "point", "many", "much", "responsible", "materials", "material", "evidence", "documents", "deadline", "due", "prepare", "submit", "and", "or", "then"]
)
_OWN_DEPARTMENT = re.compile(
    r"我们单位|我单位|本单位|我们部门|本部门|我部门|我们局|本局|我局|咱们单位|咱单位|咱们局|我们委|本委|我们办|"
    r"(?:我们|咱们|我)(?=的(?:活|事|任务|吗|嘛|么|呢)|牵头|负责|来?管|配合|承担|分管)|(?<=归)(?:我们|咱们)|"
    r"\b(?:our|my) (?:department|bureau|office|unit)|\bus\b(?=\?|$)"
)
_CHOICE = re.compile(r"^(?:第|选|选择|no\.?\s*)?([1-9])(?:个|项|条|号)?[.。、)）]?$")
_NOTE = "⚠ 文件差异："
CLARIFY = "您问的是哪一项？请带上指标名称再问，例如：“计量{slot}”。"
CHOICE_RANGE = "请回复1到{n}之间的编号，或说得更具体些。"


@dataclass(frozen=True)
class Context:
    """What one person in one chat discussed last (safe to lose: a lost context only costs a question back)."""

    plan: str
    framework: str | None = None
    ids: tuple[str, ...] = ()
    intent: Intent = Intent.LOOKUP
    topic: str = ""
    explicit: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    noted: frozenset[str] = field(default_factory=frozenset)
    department: str | None = None  # the /bind department last given: later lines may leave it out
    at: float = 0.0

    def alive(self, now: float) -> bool:
        """True while the conversation has not been idle for IDLE_SECONDS."""
        return now - self.at <= IDLE_SECONDS


def own_department(question: str, department: str | None) -> str:
    """The question with “我们单位 / 本部门 / our department …” replaced by the bound department."""
    if not department or not isinstance(question, str):
        return question
    return _OWN_DEPARTMENT.sub(department, clean_question(question))


def mentions_own_department(question: str) -> bool:
    """True when the question says “我们单位”, “本部门”, “our department” or the like."""
    return isinstance(question, str) and bool(_OWN_DEPARTMENT.search(clean_question(question)))


def pending_choice(context: Context | None, question: str, now: float) -> bool:
    """True when the message is a number answering the choices last offered."""
    live = context is not None and context.alive(now) and bool(context.choices)
    return live and isinstance(question, str) and bool(_CHOICE.match(clean_question(question).strip()))


def converse(
    librarian: Librarian,
    question: str,
    context: Context | None,
    plan: str | None = None,
    department: str | None = None,
    now: float = 0.0,
) -> tuple[Answer, Context]:
    """The answer to a message in its conversation, and the conversation after it; never raises."""
    plan_id = plan or librarian.default_plan
    department = department or (context.department if context is not None else None)
    ctx = context if context is not None and context.plan == plan_id and context.alive(now) else None
    text = own_department(question, department)
    if pending_choice(ctx, text, now) and ctx is not None:
        answer = _choice(librarian, text, ctx, plan_id)
    else:
        answer = _resolve(librarian, text, ctx, plan_id)
    if answer.question != question:
        answer = dataclasses.replace(answer, question=question if isinstance(question, str) else str(question or ""))
    answer, after = _remember(librarian, answer, text, ctx, plan_id, now)
    return answer, dataclasses.replace(after, department=department) if department != after.department else after


# --- recognising the kind of message --------------------------------------------------------


def _resolve(librarian: Librarian, text: str, ctx: Context | None, plan: str) -> Answer:
    """A follow-up resolved against the context, a question back, or the question answered on its own."""
    own = librarian.ask(text, plan)
    if own.intent in (Intent.EMPTY, Intent.UNREADABLE, Intent.HELP, Intent.ERROR):
        return own
    query = librarian.understand(text, plan)
    answer = _follow(librarian, query, ctx, plan, _in_system(librarian, query, ctx, plan, own))
    return _checked(librarian, query, answer)


def _follow(librarian: Librarian, query: Query, ctx: Context | None, plan: str, own: Answer) -> Answer:
    """The kind of message decides: a new question (own), or a follow-up of one of the kinds above."""
    anaphor = bool(_ANAPHOR.search(query.text))
    if own.kind == Kind.DEPARTMENT or own.intent in (Intent.AGGREGATE, Intent.SYSTEM) and not anaphor:
        return own
    if query.heading_ref is not None and _confident(own):
        return own  # 任务3.12 / 第4.19项 names its tasks as a number does
    live = ctx is not None and bool(ctx.ids)
    check = bool(_YES_NO.search(query.text)) and query.number is None
    subject = _subject(query)
    names_own = bool(subject) and _confident(own) and any(w in _naming(own.hits[0][0]) for w in subject)
    if ctx and live and anaphor and (check or _DIFFER.search(query.text)) and query.number is None and not names_own:
        return _about(librarian, query, ctx, plan, _slot(query))  # (智慧工地这个归住建局吗 names its subject: own)
    bare_check = check or bool(ctx and ctx.intent == Intent.OWNER)  # 农业农村局负责吗 / 那归工信局吗 / 那住建局呢
    if ctx and live and bare_check and not subject and query.number is None and not query.scope.explicit and _named(librarian, query):
        return _about(librarian, query, ctx, plan, Intent.OWNER, check=True)
    if ctx and live and subject and query.number is None and not query.scope.explicit and _explained(librarian, query, ctx, subject, own):
        return _about(librarian, query, ctx, plan, _slot(query))
    if subject or query.asks_system and not anaphor:
        return _sibling(librarian, query, ctx, plan, own) if ctx and _ELLIPSIS.search(query.text) and query.intent == Intent.LOOKUP else own
    slot = _slot(query)
    if ctx is None or not ctx.ids:
        guess = own.kind == Kind.OUT_OF_SCOPE or own.kind == Kind.INDICATOR and (slot is not None or anaphor)
        if query.number is None and guess and (slot is not None or anaphor or query.scope.explicit):
            return _clarify(query, slot)
        return own
    if query.number is not None:
        return _sibling(librarian, query, ctx, plan, own)
    if query.scope.explicit and query.scope.framework != ctx.framework:
        return _switch(librarian, query, ctx, plan, own)
    return _about(librarian, query, ctx, plan, slot)


def _in_system(librarian: Librarian, query: Query, ctx: Context | None, plan: str, own: Answer) -> Answer:
    """In a conversation about a chosen system, a message naming none is asked in that system first."""
    if ctx is None or not ctx.ids or not ctx.explicit or not ctx.framework or query.scope.explicit:
        return own
    if own.kind not in (Kind.INDICATOR, Kind.OUT_OF_SCOPE) or own.framework == ctx.framework:
        return own
    if own.kind == Kind.INDICATOR and own.framework == librarian.kb.plans[plan].framework:
        return own  # a full question about the deployment's own system
    framed = librarian.ask(query.raw, plan, framework=ctx.framework)
    return framed if framed.kind == Kind.INDICATOR and not framed.abstained else own


def _named(librarian: Librarian, query: Query) -> list[str]:
    """The departments the message names (市场监管局, 财政局 …)."""
    named = [str(d) for _, d in librarian.library.vocab.department_names.find(query.text)]
    return named or [d for d in librarian.kb.departments if d in query.text]


def _explained(librarian: Librarian, query: Query, ctx: Context, subject: list[str], own: Answer) -> bool:
    """True when the message's words are details of the clauses discussed (秘书处那块 / 只有99%扣多少), not another indicator."""
    inds = _indicators(librarian, ctx)
    if not inds:
        return False
    top = own.hits[0][0] if own.kind == Kind.INDICATOR and own.hits and not own.abstained else None
    if top is not None and top in inds:
        return False  # the message names the indicator itself: its own answer is the follow-up
    body = "".join(_clause_text(ind) for ind in inds)
    words = [w for w in subject if not _WHAT_IF.fullmatch(w)]
    covered = sum(1 for w in words if w in body)
    if top is not None and any(w in _naming(top) and w not in body for w in words):
        return False  # a word names another indicator: a new question
    what_if = bool(_WHAT_IF.search(query.text))
    if words and covered * 5 >= len(words) * 3:
        return what_if or top is None or _slot(query) is not None or len(words) <= 2
    return what_if and top is None and (covered > 0 or bool(re.search(r"\d", query.text)))


def _clause_text(ind: Indicator) -> str:
    """What an indicator says, normalised: title, clause, lines, notes, names."""
    ed = ind.editorial
    parts = [ind.name, ind.title, ind.criteria, ed.short or "", ed.display, *ed.aliases, *ed.keywords]
    parts += [line.content for line in ind.lines] + [note.text for note in ed.notes]
    return normalize(" ".join(p for p in parts if p))


def _naming(ind: Indicator) -> str:
    """What an indicator is called: its name, short name and aliases, normalised."""
    ed = ind.editorial
    return normalize(" ".join(p for p in (ind.name, ed.short or "", *ed.aliases) if p))


def _checked(librarian: Librarian, query: Query, answer: Answer) -> Answer:
    """质量投诉渠道呢，归财政局吗: an answer about one indicator, with 是/否 first when a department is checked."""
    if answer.kind != Kind.INDICATOR or not answer.hits or answer.abstained or answer.text[:1] in ("是", "否"):
        return answer
    if answer.choices or not answer.text.startswith("【") or not _YES_NO.search(query.text) or not _named(librarian, query):
        return answer
    checked = _yes_no(librarian, query, query.scope.plan, answer.hits[0][0])
    return checked if checked is not None else answer


def _subject(query: Query) -> list[str]:
    """What the message is about beyond its slot, anaphors, systems, departments and ellipsis words."""
    if "subject" not in query.memo:
        query.memo["subject"] = _subject_words(query)
    return list(query.memo["subject"])


def _subject_words(query: Query) -> list[str]:
    library = query.library
    text = query.text
    if query.english:  # English slot patterns span the subject (how is … scored): keep the non-filler words
        systems = {w for phrase in library.vocab.system_names for w in phrase.split()}
        return [w for w in re.findall(r"[a-z]{2,}", text) if w not in _ENGLISH_FILLER and w not in systems]
    for pattern in (*(p for intent, p in INTENT_PATTERNS if intent == query.intent), *(p for _, p in _MORE_SLOTS)):
        text = pattern.sub(" ", text)
    text = _ANAPHOR.sub(" ", WHICH_INDICATOR.sub(" ", text))
    skip = {phrase for phrase, _ in library.vocab.department_names.find(text)}
    skip |= {phrase for phrase, _ in library.vocab.systems.find(text)} | library.vocab.system_names
    return [
        w for w in library.content(library.segmenter.words(text))
        if w not in skip and not _NOT_SUBJECT.fullmatch(w) and not (w.isascii() and w in _ENGLISH_FILLER)
    ]


def _slot(query: Query) -> Intent | None:
    """The slot the message asks for (its intent, or 怎么加权 → criteria), if any."""
    if query.intent in _SLOTS:
        return query.intent
    return next((intent for intent, pattern in _MORE_SLOTS if pattern.search(query.text)), None)


# --- answers --------------------------------------------------------------------------------


def _about(
    librarian: Librarian, query: Query, ctx: Context, plan: str, slot: Intent | None, check: bool = False
) -> Answer:
    """A slot, anaphor, what-if or yes/no follow-up about the indicators discussed."""
    inds = _indicators(librarian, ctx)
    if not inds:
        return _clarify(query, slot)
    scope = librarian.library.scope_of(inds[0].framework, plan)
    if check or _YES_NO.search(query.text):
        checked = _yes_no(librarian, query, scope.plan, inds[0])
        if checked is not None:
            return checked
    intent = slot or (Intent.POINTS if _WHAT_IF.search(query.text) else Intent.LOOKUP)
    found = [(ind, 1.0) for ind in inds]
    return indicator_answer(query, scope, intent, found, shown=1 if len(found) == 1 else MAX_HITS)


def _yes_no(librarian: Librarian, query: Query, plan: str, ind: Indicator) -> Answer | None:
    """是 or 否 first, then the clause: is a department responsible, does the indicator carry points."""
    scope = librarian.library.scope_of(ind.framework, plan)
    named = [str(d) for _, d in librarian.library.vocab.department_names.find(query.text)]
    named = named or [d for d in librarian.kb.departments if d in query.text]
    if named:
        resp = librarian.library.responsibility[scope.plan]
        if resp.framework.id != ind.framework:
            return None
        yes = named[0] in resp.departments(ind)
        intent = Intent.OWNER
    elif _POINTS_CHECK.search(query.text):
        yes, intent = ind.points > 0, Intent.POINTS
    else:
        return None
    body = indicator_answer(query, scope, intent, [(ind, 1.0)])
    return dataclasses.replace(body, text=("是。" if yes else "否。") + "\n" + body.text)


def _sibling(librarian: Librarian, query: Query, ctx: Context | None, plan: str, own: Answer) -> Answer:
    """第20项呢 / 那质量投诉呢: the same intent about another indicator, in the system discussed."""
    if ctx is None:
        return own
    intent = query.intent if query.intent != Intent.LOOKUP else ctx.intent
    bare = _ELLIPSIS.sub("", _ELLIPSIS.sub("", query.text)).strip()
    framework = query.scope.framework if query.scope.explicit else (ctx.framework if ctx.explicit else None)
    asked = bare + _SLOT_TEXT.get(intent, "")
    answer = librarian.ask(asked, plan, framework=framework)
    if answer.kind == Kind.OUT_OF_SCOPE and framework is not None and not query.scope.explicit:
        answer = librarian.ask(asked, plan)
    return answer if answer.kind != Kind.OUT_OF_SCOPE or own.kind == Kind.OUT_OF_SCOPE else own


def _switch(librarian: Librarian, query: Query, ctx: Context, plan: str, own: Answer) -> Answer:
    """换成湖南标准呢 / 那山东体系呢: the topic discussed, asked again in the system named."""
    inds = _indicators(librarian, ctx)
    names = [ctx.topic] + ([inds[0].editorial.short or "", inds[0].name] if inds else [])
    topics = list(dict.fromkeys(n for n in names if n))
    if not topics:
        return own
    slot = _slot(query) or ctx.intent
    tried = [librarian.ask(t + _SLOT_TEXT.get(slot, ""), plan, framework=query.scope.framework) for t in topics[:1]]
    for topic in topics[1:]:  # the topic's words found nothing clear: the indicator's own names
        if _confident(tried[-1]) or len(tried[-1].choices) > 1:
            break
        tried.append(librarian.ask(topic + _SLOT_TEXT.get(slot, ""), plan, framework=query.scope.framework))
    good = (a for a in tried if _confident(a) or len(a.choices) > 1)
    answer = next(good, None) or next((a for a in tried if a.choices), tried[0])
    if answer.kind == Kind.OUT_OF_SCOPE and answer.choices:  # no one counterpart: which of the close ones
        text = answers.disambiguation(answer.choices)
        found = [(ind, 1.0) for ind in answer.choices]
        return dataclasses.replace(answer, kind=Kind.INDICATOR, intent=slot, text=text, hits=found, abstained=False, framework=answer.choices[0].framework)
    return answer


def _confident(answer: Answer) -> bool:
    """An answer about indicators that asks nothing back."""
    return answer.kind == Kind.INDICATOR and bool(answer.hits) and not answer.abstained and not answer.choices


def _choice(librarian: Librarian, text: str, ctx: Context, plan: str) -> Answer:
    """A number answering “您是不是想问 1… 2… 3…”: that indicator, for what was asked then."""
    match = _CHOICE.match(clean_question(text).strip())
    number = int(match.group(1)) if match else 0
    query = librarian.understand(text, plan)
    if not 1 <= number <= len(ctx.choices):
        return Answer(text, Kind.OUT_OF_SCOPE, Intent.OUT_OF_SCOPE, CHOICE_RANGE.format(n=len(ctx.choices)), abstained=True)
    framework, ind_id = ctx.choices[number - 1]
    ind = librarian.kb.frameworks[framework].indicators[ind_id]
    scope = librarian.library.scope_of(framework, plan)
    return indicator_answer(query, scope, ctx.intent, [(ind, 1.0)])


def _clarify(query: Query, slot: Intent | None) -> Answer:
    """The short question back when a follow-up has nothing to follow."""
    text = CLARIFY.format(slot=_SLOT_TEXT.get(slot or Intent.CRITERIA, "怎么评分"))
    return Answer(query.raw, Kind.OUT_OF_SCOPE, slot or Intent.OUT_OF_SCOPE, text, abstained=True)


def _indicators(librarian: Librarian, ctx: Context) -> list[Indicator]:
    fw = librarian.kb.frameworks.get(ctx.framework or "")
    return [fw.indicators[i] for i in ctx.ids if i in fw.indicators] if fw else []


# --- the context after the answer -----------------------------------------------------------


def _remember(
    librarian: Librarian, answer: Answer, text: str, ctx: Context | None, plan: str, now: float
) -> tuple[Answer, Context]:
    """Drop notes already shown, and the context the next message is resolved against."""
    base = ctx or Context(plan=plan)
    choices = tuple((i.framework, i.id) for i in answer.choices)
    about = _shown(answer)
    if not about:
        if answer.kind in (Kind.OUT_OF_SCOPE,) or answer.abstained:
            return answer, dataclasses.replace(base, choices=choices or base.choices if answer.choices else (), at=now)
        return answer, Context(plan=plan, at=now, noted=base.noted)
    keys = [f"{ind.framework}:{ind.id}" for ind in about]
    query = librarian.understand(text, plan) if isinstance(text, str) else None
    if query is not None and not _DIFFER.search(query.text) and any(k in base.noted for k in keys) and _NOTE in answer.text:
        kept = [line for line in answer.text.split("\n") if not line.startswith(_NOTE)]
        answer = dataclasses.replace(answer, text="\n".join(kept))
    noted = base.noted | {k for k in keys} if _NOTE in answer.text else base.noted
    subject = _subject(query) if query is not None else []
    same = bool(ctx and ctx.ids and {i.id for i in about} <= set(ctx.ids) and about[0].framework == ctx.framework)
    topic = base.topic if same and base.topic else " ".join(subject) or base.topic
    explicit = query is not None and query.scope.explicit or base.explicit and not subject
    explicit = explicit or answer.framework != librarian.kb.plans[plan].framework
    return answer, Context(
        plan=plan,
        framework=about[0].framework,
        ids=tuple(ind.id for ind in about),
        intent=answer.intent if answer.kind == Kind.INDICATOR else Intent.LOOKUP,
        topic=topic,
        explicit=explicit,
        choices=choices,
        noted=frozenset(noted),
        at=now,
    )


def _shown(answer: Answer) -> list[Indicator]:
    """The indicators the answer is about: the one shown, or all of a list."""
    inds = [ind for ind, _ in answer.hits]
    if not inds or answer.abstained:
        return []
    if answer.kind == Kind.INDICATOR and not answer.text.startswith("共") and not answer.choices:
        return inds[:1]
    return inds[: answers.MAX_LIST * 2]

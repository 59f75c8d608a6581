"""A question understood (Query, its Intent, its Scope) and the shape of what the bot answers (Answer, Kind).

A Query is built once per question by `Library.understand`; what the steps ask of it (topic words,
content words, the search) is computed on first use and kept on the query, so the search runs at most
once per question whichever step asks first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from knowledge.model import Indicator
from knowledge.retrieval import Hit
from knowledge.text import STOP_WORDS, arabic_numbers, normalize

if TYPE_CHECKING:
    from knowledge.library import Library


class Intent(StrEnum):
    """What the question asks about an indicator (or why it got no indicator answer); JSON keeps the value."""

    LOOKUP = "lookup"
    POINTS = "points"
    CRITERIA = "criteria"
    OWNER = "owner"
    EVIDENCE = "evidence"
    DEADLINE = "deadline"
    DATA_SOURCE = "data_source"
    DEFINITION = "definition"
    DEPARTMENT = "department"
    SYSTEM = "system"
    AGGREGATE = "aggregate"
    OUT_OF_SCOPE = "out_of_scope"
    EMPTY = "empty"
    UNREADABLE = "unreadable"
    HELP = "help"
    ERROR = "error"


class Kind(StrEnum):
    """What kind of answer the bot gave; JSON keeps the value."""

    INDICATOR = "indicator"
    DEPARTMENT = "department"
    DEFINITION = "definition"
    FRAMEWORK = "framework"
    OUT_OF_SCOPE = "out_of_scope"


# Intent patterns, tried in order; the first that matches wins. English is lower-cased already.
INTENT_PATTERNS: tuple[tuple[Intent, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        (Intent.DEPARTMENT, r"(负责|牵头|承担|分管|配合|牵扯到?|牵涉到?|涉及到)(哪些|哪几|什么|啥|几项|几条|多少|哪条|哪项|哪个)|(哪些|什么|啥)(指标|任务|事)(归|是)我|有我们(的)?(什么|啥)?事|which (indicators|tasks)|responsible for which"),
        (Intent.DEADLINE, r"什么时候|啥时候|何时|截止|时限|期限|多久|多长时间|几号|哪天|几月份|日期|时间节点|时间要求|deadline|\bdue\b|\bwhen\b|how long"),
        (Intent.EVIDENCE, r"验收方式|怎么验收|如何验收|验收看|材料|准备|佐证|证明|证实|提供什么|提供啥|提供哪些|要交|交什么|交啥|报什么|报啥|报哪些|台账|留啥|留什么|列哪些|needed|materials?|evidence|documents?|prepare|submit"),
        (Intent.OWNER, r"谁负责|谁来|哪个部门|哪些部门|哪家|哪个单位|哪些单位|责任单位|责任部门|牵头单位|配合单位|归谁|谁管|谁牵头|\bwho\b|which (department|unit|bureau|office|agency)"),
        (Intent.DATA_SOURCE, r"数据来源|数据从哪|谁打分|谁评分|谁评|谁来评|谁提供数据|数据.{0,4}(谁|哪里|哪儿)|省直部门|省里直接|直接评分|data (source|come)"),
        (Intent.AGGREGATE, r"总分|哪几条|哪几个指标|下面有哪|下面有几|包括哪几|包含哪几|有哪几个|有几项|共几项|几项指标|有多少项|多少项指标|总共|一共|合计|加起来|共计|总计|最高|最低|最少|最大|最小|排名|有哪些指标|哪几项|\btotal\b|highest|lowest"),
        (Intent.CRITERIA, r"怎么得分|如何得分|怎样得分|怎么拿|咋拿|怎么才能|得分条件|怎么评|咋评|如何评|怎么算|咋算|怎么弄|咋弄|怎么打分|咋打分|评分标准|评价标准|考核标准|标准是|要求|扣分|不得分|满分条件|达标|要达到|达到多少|要多少|百分之几|多少家|几处|几个|几家|几项活动|必须|\bhow\b.{0,60}\b(scored?|assessed|evaluated|judged|checked|measured|calculated|verified|accepted|graded|rated)\b|criteria|requirement"),
        (Intent.DEFINITION, r"(包括|包含)(哪些|什么)[?？。!！]?$|啥叫|什么叫|何为|何谓|是什么|是啥|啥意思|什么意思|何意|指什么|指的是|定义|含义|解释一下|怎么理解|怎么回事|咋回事|是怎么一回事|what is|what's|what does .* mean|meaning|define"),
        (Intent.POINTS, r"几分|多少分|分值|满分|能得|得几|加几分|加多少|加分吗|有分吗|得分吗|占.{0,4}分|最多|points?|how many|\bscore\b"),
    )
)
SYSTEM_PATTERN = re.compile(
    r"总分|满分是|满分多少|合格线|及格|多少分(才)?(算)?合格|几个指标|多少个指标|多少项指标|几项指标|多少项|几个一级|几个二级|一级指标|二级指标|三级指标|指标体系|一票否决|不予受理|pass line|how many indicators"
)
WHICH_INDICATOR = re.compile(r"(算|属于|对应|归|在|是|放)(哪条|哪项|哪个|哪一项|哪一条|第几|哪几|那项|那条|那个指标)|哪条指标|哪个指标|哪一行|哪几行|which (indicator|item|row|task|one)")
FILLER = re.compile(r"指标|任务|这块|这项|那项|这条|这个|那个|那边|这边|方面|相关|有关|情况|问题|一下|请问|咱们|我们|我县|本县|县里|没有|怎么办|不一样|不同|区别|差异|一样|出数|完成|一项|哪一项|占多大|多大|占|算|该|？|\?|，|,|。|！|!")
_NUMBER_REF = re.compile(r"(?:第|序号|编号|no\.?\s*|(?:indicator|item|row|task)\s*(?:no\.?|#)?\s*)\s*(\d{1,3})(?!\d|[.．]\d)\s*(项|条|行|个|号|题|任务|指标)?(?![方者批届期年天周季名位次])")
# 济南 numbers its tasks under headings “3.12 强化计量…”: 任务3.12 / 第3.12项 / 3.12谁牵头 name a heading
_HEADING_REF = re.compile(
    r"(?:(?:第|任务|序号|编号|task|item)\s*|^)(\d{1,2})[.．](\d{1,2})(?!\d)(?!\s*(?:分|%|‰|倍|万|亿|元|年|个百分点))"
    r"|(?<![\d.．])(\d{1,2})[.．](\d{1,2})\s*(?=项|条|任务)"
)
_ROW_WORDS = re.compile(r"(表|任务表|分解表|评分表|清单|方案|附件)")


@dataclass(frozen=True)
class Scope:
    """Which system and plan a question is about; explicit when the question names them."""

    plan: str
    framework: str
    explicit: bool


@dataclass(frozen=True, eq=False)
class Query:
    """A question after normalisation and typo repair, in its scope; what steps ask of it is computed once."""

    raw: str
    text: str
    scope: Scope
    library: Library = field(repr=False)
    fixes: tuple[tuple[str, str], ...] = ()
    english: bool = False
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # what callers outside the steps derive once

    @cached_property
    def intent(self) -> Intent:
        """The first intent whose pattern matches the text, else lookup."""
        return detect_intent(self.text)

    @cached_property
    def asks_system(self) -> bool:
        """True when the question is about the evaluation system as a whole (总分, 合格线, 一票否决 …)."""
        return bool(SYSTEM_PATTERN.search(self.text))

    @cached_property
    def number_ref(self) -> tuple[int | None, bool]:
        """The indicator number named (第17项) and whether it counts in a plan's own table."""
        return number_reference(self.text)

    @cached_property
    def heading_ref(self) -> str | None:
        """A heading named by its numbering (任务3.12 → "3.12"), if any."""
        match = _HEADING_REF.search(self.text)
        if match is None:
            return None
        major, minor = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        return f"{int(major)}.{int(minor)}"

    @property
    def number(self) -> int | None:
        """The indicator number named, if any."""
        return self.number_ref[0]

    @property
    def number_in_table(self) -> bool:
        """True when the number refers to a row of the plan's own table (平阴表第16项)."""
        return self.number_ref[1]

    @cached_property
    def topic_words(self) -> tuple[str, ...]:
        """The question's words without intent phrases, system names and filler: what it is about."""
        text = self.text
        for pattern in (*(p for _, p in INTENT_PATTERNS), WHICH_INDICATOR):
            text = pattern.sub(" ", text)
        vocab = self.library.vocab
        systems = {phrase for phrase, _ in vocab.systems.find(text)} | vocab.system_names
        return tuple(
            w for w in self.library.segmenter.words(text)
            if w not in STOP_WORDS and not FILLER.fullmatch(w) and w not in systems
        )

    @cached_property
    def topic(self) -> str:
        """The topic words joined by spaces."""
        return " ".join(self.topic_words)

    @cached_property
    def subject_words(self) -> tuple[str, ...]:
        """The topic words, or every word of the question when the topic is empty."""
        return self.topic_words or tuple(self.library.segmenter.words(self.text))

    @cached_property
    def words(self) -> tuple[str, ...]:
        """Content words of the subject: the ones coverage is measured on."""
        return tuple(self.library.content(self.subject_words))

    @cached_property
    def search(self) -> tuple[Hit, ...]:
        """Ranked indicator hits in the question's own scope (the one search of this question)."""
        return tuple(self.library.rank(self, self.scope))


@dataclass
class Answer:
    """What the bot answers: the kind, the intent, the ranked indicators and the text."""

    question: str
    kind: Kind
    intent: Intent
    text: str
    framework: str | None = None
    department: str | None = None
    hits: list[tuple[Indicator, float]] = field(default_factory=list)
    abstained: bool = False
    fixes: list[tuple[str, str]] = field(default_factory=list)
    choices: list[Indicator] = field(default_factory=list)  # the numbered 您是不是想问 list, not in the JSON

    def to_json(self) -> dict[str, Any]:
        """The JSON shape evaluation tools rely on (keep it exactly)."""
        return {
            "question": self.question,
            "kind": str(self.kind),
            "intent": str(self.intent),
            "framework": self.framework,
            "department": self.department,
            "hits": [
                {"framework": ind.framework, "id": ind.id, "title": ind.name, "score": round(score, 4)}
                for ind, score in self.hits
            ],
            "answer": self.text,
        }


def clean_question(raw: str) -> str:
    """The normalised question with Chinese numerals as digits."""
    return arabic_numbers(normalize(raw))


def detect_intent(text: str) -> Intent:
    """The first intent whose pattern matches, else lookup."""
    return next((name for name, pattern in INTENT_PATTERNS if pattern.search(text)), Intent.LOOKUP)


def number_reference(text: str) -> tuple[int | None, bool]:
    """A reference by number (第17项, 平阴表第20项) and whether it names a plan's own table."""
    match = _NUMBER_REF.search(text)
    if match is None:
        return None, False
    before = text[: match.start()]
    return int(match.group(1)), bool(_ROW_WORDS.search(before[-8:])) or match.group(2) == "行"


def is_english(text: str) -> bool:
    """True when the question is mostly Latin letters."""
    letters = sum(c.isascii() and c.isalpha() for c in text)
    return letters > 0 and letters >= 0.6 * sum(not c.isspace() for c in text)

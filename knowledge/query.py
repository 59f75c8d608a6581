"""Understand a question: normalise, repair typos, find its intent, system, numbers and names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.text import arabic_numbers, normalize

# Intent patterns, tried in order; the first that matches wins. English is lower-cased already.
INTENT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("department", r"(负责|牵头|承担|分管|配合|牵扯到?|牵涉到?|涉及到)(哪些|哪几|什么|啥|几项|几条|多少|哪条|哪项|哪个)|(哪些|什么|啥)(指标|任务|事)(归|是)我|有我们(的)?(什么|啥)?事|which (indicators|tasks)|responsible for which"),
        ("deadline", r"什么时候|啥时候|何时|截止|时限|期限|多久|多长时间|几号|哪天|几月份|日期|时间节点|时间要求|deadline|\bdue\b|\bwhen\b|how long"),
        ("evidence", r"验收方式|怎么验收|如何验收|验收看|材料|准备|佐证|证明|证实|提供什么|提供啥|提供哪些|要交|交什么|交啥|报什么|报啥|报哪些|台账|留啥|留什么|列哪些|needed|materials?|evidence|documents?|prepare|submit"),
        ("owner", r"谁负责|谁来|哪个部门|哪些部门|哪家|哪个单位|哪些单位|责任单位|责任部门|牵头单位|配合单位|归谁|谁管|谁牵头|\bwho\b|which department"),
        ("data_source", r"数据来源|数据从哪|谁打分|谁评分|谁评|谁来评|谁提供数据|数据.{0,4}(谁|哪里|哪儿)|省直部门|省里直接|直接评分|data (source|come)"),
        ("aggregate", r"总分|哪几条|哪几个指标|下面有哪|下面有几|包括哪几|包含哪几|有哪几个|有几项|共几项|几项指标|有多少项|多少项指标|总共|一共|合计|加起来|共计|总计|最高|最低|最少|最大|最小|排名|有哪些指标|哪几项|\btotal\b|highest|lowest"),
        ("criteria", r"怎么得分|如何得分|怎样得分|怎么拿|咋拿|怎么才能|得分条件|怎么评|咋评|如何评|怎么算|咋算|怎么弄|咋弄|怎么打分|咋打分|评分标准|评价标准|考核标准|标准是|要求|扣分|不得分|满分条件|达标|要达到|达到多少|要多少|百分之几|多少家|几处|几个|几家|几项活动|必须|\bhow\b.{0,30}\bscored?\b|criteria|requirement"),
        ("definition", r"(包括|包含)(哪些|什么)[?？。!！]?$|啥叫|什么叫|何为|何谓|是什么|是啥|啥意思|什么意思|何意|指什么|指的是|定义|含义|解释一下|怎么理解|what is|what's|what does .* mean|meaning|define"),
        ("points", r"几分|多少分|分值|满分|能得|得几|加几分|加多少|加分吗|有分吗|得分吗|占.{0,4}分|最多|points?|how many|\bscore\b"),
    )
)
SYSTEM_PATTERN = re.compile(
    r"总分|满分是|满分多少|合格线|及格|多少分(才)?(算)?合格|几个指标|多少个指标|多少项指标|几项指标|多少项|几个一级|几个二级|一级指标|二级指标|三级指标|指标体系|一票否决|不予受理|pass line|how many indicators"
)
_NUMBER_REF = re.compile(r"(?:第|序号|编号|no\.?\s*|(?:indicator|item|row|task)\s*(?:no\.?|#)?\s*)\s*(\d{1,3})(?!\d)\s*(项|条|行|个|号|题|任务|指标)?(?![方者批届期年天周季名位次])")
_ROW_WORDS = re.compile(r"(表|任务表|分解表|评分表|清单|方案|附件)")


@dataclass
class Query:
    """A question after normalisation, with everything recognised in it."""

    raw: str
    text: str
    fixes: list[tuple[str, str]] = field(default_factory=list)
    intent: str = "lookup"
    asks_system: bool = False
    number: int | None = None
    number_in_table: bool = False
    english: bool = False
    memo: dict[object, object] = field(default_factory=dict, repr=False)

    @property
    def empty(self) -> bool:
        return not self.text


def clean_question(raw: str) -> str:
    """The normalised question with Chinese numerals as digits."""
    return arabic_numbers(normalize(raw))


def detect_intent(text: str) -> str:
    """The first intent whose pattern matches, else lookup."""
    return next((name for name, pattern in INTENT_PATTERNS if pattern.search(text)), "lookup")


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

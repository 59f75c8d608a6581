"""Read a liaison's natural answer (是 / 三项 / 百分之九十五 / 2026年5月) as a typed fact value.

Reading rules, in short:

* Text is NFKC-normalised first, so full-width digits and signs (２、％、，) read like ASCII.
* bool: 是/有/对/√/yes/y/true/1/已…/…了 are 是; 否/没有/无/×/不/no/n/false/0/未… are 否.
* count: a whole number ≥ 0 in digits or Chinese (3、三项、十二个、２); 无/没有 read as 0.
* percent: 95%、95、百分之九十五. Bare whole numbers (1, 80) are percentages as written; a bare
  number below 1 (0.35, 零点三五) is ambiguous (0.35% or 35%?) and raises AmbiguousPercent with both
  readings, so the liaison chooses: budget shares are usually under 1%.
  A fact whose unit is ‰ takes ‰ values (5‰、千分之五、5); 0.5% is converted to 5‰.
* number / amount: 1.5、1,200、一千二百、1.2万. 千/万/亿 multiply the number, except that the
  fact's own unit absorbs its magnitude: for unit 万元, 1.2万 and 12000元 are both 1.2.
* choice: the option's text, its 1-based number in the list, a part of it that names one
  option only (书记 → 县委书记参会), or a close spelling; 否/没有 picks the only 未…/无… option.
* a number whose unit is 百分点 also takes 个百分点 (0.05个百分点), as the templates' notes write it.
* "don't know" (不清楚、不太清楚、说不准、无从得知、待确认、可能…) raises UnsureAnswer for every
  type but text: a negated verb of knowing, being sure or remembering, or a hedge word.
* date: 2026年5月12日、2026-05-12、2026.5.12、2026/5、2026年5月 → ISO 2026-05-12 / 2026-05.
* text: any non-empty text with at least one letter or digit, at most 1,000 characters.

Every failure raises AnswerError with a short Chinese message and an example.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date

from knowledge.rules import Fact, Value
from scoring.errors import AmbiguousPercent, AnswerError, FutureDate, UnsureAnswer

MAX_LENGTH = 1000
MAX_MAGNITUDE = 1e15

_TRUE = {
    "是",
    "有",
    "对",
    "√",
    "✓",
    "✔",
    "yes",
    "y",
    "true",
    "t",
    "1",
    "已",
    "已经",
    "是的",
    "有的",
    "对的",
    "已完成",
    "完成",
    "达到",
    "已达到",
    "符合",
    "ok",
    "好",
    "成立",
    "建立了",
    "做了",
}
_FALSE = {
    "否",
    "没有",
    "无",
    "×",
    "✗",
    "✘",
    "x",
    "不",
    "no",
    "n",
    "false",
    "f",
    "0",
    "未",
    "没",
    "不是",
    "不对",
    "未完成",
    "不符合",
    "尚未",
    "暂无",
    "还没有",
    "还没",
    "没做",
    "没有的",
}
_UNSURE = {
    "不知道",
    "不清楚",
    "不确定",
    "待定",
    "未知",
    "是否",
    "有没有",
    "是不是",
    "有无",
    "对不对",
}
# "don't know" by rule: a negation, optional degree words, then a verb of knowing / being sure /
# remembering (不太清楚、不是很确定、无从得知、没记清); a verb with a negated result (说不准、记不清、
# 拿不准); or a word that marks the answer as open (待确认、未知、可能、也许).
_KNOW = (
    "知道|清楚|确定|确认|确切|晓得|记得|记清|了解|肯定|得知|知晓|知悉|懂|好说|好讲|一定|好判断|"
    "敢说|敢保证|能保证|能说|详|知"
)
_UNSURE_RULE = re.compile(
    r"(?:不|没有?|未|无法|无从|难以|不能|没法|没办法)"
    r"(?:是|太|很|大|怎么|十分|完全|甚|太过|能|敢|好|清|特别|非常|那么|都)*"
    rf"(?:{_KNOW})"
    r"|(?:记|说|搞|弄|拿|吃|想|分|讲|摸|查|看)不(?:清|准|得|太清|起来|好|透|到|出)"
    r"|待(?:确认|核实|核查|查|定|了解|确定|统计|调查)|未知|不详|不明|尚不|存疑|没准|说不定"
    r"|应该吧|吧$|不一定"
    r"|not\s*sure|unsure|don'?t\s*know|dunno|idk|unknown|not\s*certain",
)
_HEDGE = re.compile(r"可能|也许|或许|大概|估计|好像|似乎|maybe|perhaps")  # not for numbers: 大概120万
_NEGATIVE_PREFIXES = ("未", "没", "无", "不", "否", "尚未", "暂无", "还没", "从未")
_TRIM = "。.!！~～,，;；、"
_CLASSIFIERS = (
    "项",
    "个",
    "次",
    "家",
    "件",
    "张",
    "人",
    "名",
    "处",
    "条",
    "台",
    "套",
    "份",
    "所",
    "座",
    "批",
    "户",
    "类",
    "场",
    "期",
    "种",
    "元",
    "分",
    "年",
    "天",
    "户次",
    "人次",
    "家次",
)
_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_MAGNITUDES = {"千": 1e3, "万": 1e4, "亿": 1e8, "万亿": 1e12}
_ARABIC = re.compile(
    r"^(?P<num>[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
    r"(?P<exp>[eE][-+]?[0-9]{1,3})?(?P<mag>万亿|[千万亿])?(?P<rest>.*)$"
)
_CHINESE = re.compile(
    r"^(?P<num>[零〇一二两三四五六七八九十百千万亿]{1,24}(?:点[零〇一二三四五六七八九]{1,12})?)(?P<rest>.*)$"
)
_PREFIXES = ("大约", "大概", "估计", "约", "共计", "合计", "共", "累计", "总计")
_SUFFIXES = ("左右",)


@dataclass(frozen=True)
class AnswerProblem:
    """One answer that could not be used: the fact id, the value given and what was expected."""

    fact: str
    value: object
    expected: str

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready mapping."""
        return {**asdict(self), "value": self.value if _jsonable(self.value) else repr(self.value)}


def _jsonable(value: object) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def parse_answer(fact: Fact, raw: object) -> Value:
    """A typed value for the fact from a natural answer; raises AnswerError."""
    if not isinstance(raw, str):
        return coerce(fact, raw)
    try:
        text = clean(raw)
    except AnswerError as exc:
        raise AnswerError(f"{exc.message}；{expected(fact)}", fact.id) from None
    reader = _READERS.get(fact.type)
    if reader is None:
        raise AnswerError(f"未知的事实类型 {fact.type}", fact.id)
    if fact.type != "text" and is_unsure(text, hedged=not fact.numeric):
        raise UnsureAnswer(UNSURE, fact.id)
    return reader(fact, text)


UNSURE = "不确定的答案不会保存：查明后再答，或回复“跳过”"


def is_unsure(text: str, hedged: bool = True) -> bool:
    """True when the reply says the liaison does not know or is not sure (不太清楚、说不准、待确认).

    `hedged` also counts hedge words (可能、大概) as not knowing; numbers take them as estimates.
    """
    word = re.sub(r"\s+", " ", text.lower())
    rules = (_UNSURE_RULE, _HEDGE) if hedged else (_UNSURE_RULE,)
    return any(rule.search(w) for rule in rules for w in (word, word.replace(" ", "")))


def coerce(fact: Fact, raw: object) -> Value:
    """Accept an already typed value (bool, number, ISO date) or parse a string answer."""
    if isinstance(raw, str):
        return parse_answer(fact, raw)
    if fact.type == "bool" and isinstance(raw, bool):
        return raw
    if fact.numeric and isinstance(raw, int | float) and not isinstance(raw, bool):
        return _checked_number(fact, float(raw))
    if fact.type == "choice" and isinstance(raw, int) and not isinstance(raw, bool):
        return _read_choice(fact, str(raw))
    if fact.type == "date" and isinstance(raw, date):
        return raw.isoformat()
    raise AnswerError(expected(fact), fact.id)


def validate_answers(
    facts: Mapping[str, Fact],
    raw: Mapping[str, object],
    *,
    unknown: Callable[[str], str] | None = None,
    explain: Callable[[Fact, AnswerError], str] | None = None,
) -> tuple[dict[str, Value], list[AnswerProblem]]:
    """Parse every answer; return the usable values and all problems at once (None = unanswered).

    `unknown` words the problem of an undeclared fact id, `explain` that of an unreadable value.
    """
    values: dict[str, Value] = {}
    problems: list[AnswerProblem] = []
    for fact_id, value in raw.items():
        fact = facts.get(str(fact_id))
        if fact is None:
            text = unknown(str(fact_id)) if unknown else f"未声明的事实 {fact_id}"
            problems.append(AnswerProblem(str(fact_id), value, text))
            continue
        if value is None:
            continue
        try:
            values[fact.id] = coerce(fact, value)
        except AnswerError as exc:
            problems.append(AnswerProblem(fact.id, value, explain(fact, exc) if explain else exc.message))
    return values, problems


# --- normalisation ----------------------------------------------------------------------------


def clean(raw: str) -> str:
    """NFKC-normalised, stripped text; AnswerError when empty, too long or not readable text."""
    if len(raw) > MAX_LENGTH:
        raise AnswerError(f"回答太长（最多{MAX_LENGTH}字），请简短回答")
    for ch in raw:
        if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and ch not in "\t\n\r":
            raise AnswerError("回答含有无法识别的字符，请重新输入")
    visible = "".join(ch for ch in raw if unicodedata.category(ch) != "Cf")
    text = unicodedata.normalize("NFKC", visible).strip()
    if not text:
        raise AnswerError("回答为空，请重新输入")
    return text


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text).lower().rstrip(_TRIM).lstrip("，,;；、")


def example(fact: Fact) -> str:
    """An example answer for the fact, used in prompts and error messages."""
    unit = fact.shown_unit
    return {
        "bool": "是",
        "count": f"3{unit or '项'}",
        "percent": f"95{unit}",
        "number": "0.05个百分点" if unit == "百分点" else f"1.5{unit}",
        "amount": f"120{unit or '万元'}",
        "choice": fact.options[0] if fact.options else "1",
        "date": "2026年5月12日",
        "text": "已印发实施方案",
    }.get(fact.type, "")


def expected(fact: Fact) -> str:
    """What the fact expects, in one Chinese sentence with an example."""
    if fact.type == "choice":
        listed = " ".join(f"{i}.{option}" for i, option in enumerate(fact.options, 1))
        return f"请从选项中选择（可回答序号）：{listed}，例如：1"
    what = {
        "bool": "请回答“是”或“否”",
        "count": "请填写数量（整数）",
        "percent": "请填写百分比",
        "number": "请填写数字",
        "amount": "请填写金额或数量",
        "date": "请填写日期（年月日或年月）",
        "text": "请填写文字说明",
    }.get(fact.type, "请重新填写")
    return f"{what}，例如：{example(fact)}"


# --- bool -----------------------------------------------------------------------------------


def _read_bool(fact: Fact, text: str) -> bool:
    answer = read_bool(text)
    if answer is None:
        raise AnswerError(expected(fact), fact.id)
    return answer


def read_bool(text: str) -> bool | None:
    """是 → True, 否 → False, None when the text is neither."""
    word = _compact(text)
    if not word or word in _UNSURE or is_unsure(word):
        return None
    if word in _TRUE:
        return True
    if word in _FALSE or word.startswith(_NEGATIVE_PREFIXES):
        return False
    if word.startswith(("已", "有", "是")) or word.endswith("了"):
        return True
    return None


# --- numbers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Number:
    value: float
    marker: str  # "" | "%" | "‰"
    fraction_form: bool  # written as 0.xx without a marker
    rest: str
    magnitude: float


def _read_count(fact: Fact, text: str) -> int:
    if _compact(text) in ("无", "没有", "没", "零", "未", "否"):
        return int(_checked_number(fact, 0.0))
    number = _parse_number(fact, text)
    if number.marker:
        raise AnswerError(expected(fact), fact.id)
    value = _scaled(fact, number)
    if abs(value - round(value)) > 1e-9:
        raise AnswerError(f"数量应为整数，例如：{example(fact)}", fact.id)
    return int(round(_checked_number(fact, float(round(value)))))


def _read_percent(fact: Fact, text: str) -> float:
    number = _parse_number(fact, text)
    permille = fact.unit == "‰"
    value = number.value
    if number.marker == "%" and permille:
        value *= 10
    elif number.marker == "‰" and not permille:
        value /= 10
    elif not number.marker and number.fraction_form and not permille:
        readings = (_checked_number(fact, _tidy(value)), _checked_number(fact, _tidy(value * 100)))
        low, high = (num_text(v) for v in readings)
        raise AmbiguousPercent(f"您填的是{low}%还是{high}%？", fact.id, readings)
    return _checked_number(fact, _tidy(value))


def num_text(value: float) -> str:
    """0.35 → "0.35", 35.0 → "35": a number as a liaison writes it."""
    return f"{value:.12g}"


def _read_number(fact: Fact, text: str) -> float:
    number = _parse_number(fact, text)
    if number.marker and number.marker != fact.shown_unit:
        raise AnswerError(expected(fact), fact.id)
    return _checked_number(fact, _tidy(_scaled(fact, number)))


def _tidy(value: float) -> float:
    """Drop binary noise from unit conversions (0.95 × 100 → 95.0, not 94.99999999999999)."""
    return float(f"{value:.12g}")


def _scaled(fact: Fact, number: _Number) -> float:
    unit_scale = _unit_scale(fact.unit)
    base_unit = fact.unit[1:] if unit_scale != 1 else fact.unit
    if number.magnitude != 1 or (unit_scale != 1 and number.rest and number.rest == base_unit):
        return number.value * number.magnitude / unit_scale
    return number.value


def _unit_scale(unit: str) -> float:
    for prefix in ("万亿", "亿", "万", "千"):
        if unit.startswith(prefix) and len(unit) > len(prefix):
            return _MAGNITUDES[prefix]
    return 1.0


def _parse_number(fact: Fact, text: str) -> _Number:
    body = _strip_words(_compact(text))
    negative = body.startswith(("-", "负"))
    body = body[1:] if body.startswith(("-", "+", "负")) else body
    marker, body = _marker(body)
    match = _ARABIC.match(body)
    number = _arabic(match, marker) if match is not None else _chinese(body, marker)
    if number is not None and negative:
        number = replace(number, value=-number.value)
    if number is None or not _allowed_rest(fact, number.rest):
        raise AnswerError(expected(fact), fact.id)
    if not math.isfinite(number.value) or abs(number.value * number.magnitude) > MAX_MAGNITUDE:
        raise AnswerError(f"数字太大，{expected(fact)}", fact.id)
    return number


def _strip_words(body: str) -> str:
    for prefix in _PREFIXES:
        if body.startswith(prefix):
            body = body[len(prefix) :]
            break
    for suffix in _SUFFIXES:
        body = body.removesuffix(suffix)
    return body


def _marker(body: str) -> tuple[str, str]:
    for prefix, marker in (("百分之", "%"), ("千分之", "‰")):
        if body.startswith(prefix):
            return marker, body[len(prefix) :]
    for suffix in ("%", "‰"):
        if body.endswith(suffix):
            return suffix, body[: -len(suffix)]
    return "", body


def _arabic(match: re.Match[str], marker: str) -> _Number:
    digits = match["num"].replace(",", "") + (match["exp"] or "")
    value = float(digits)
    fraction_form = "." in match["num"] and 0 < abs(value) < 1 and not match["exp"]
    magnitude = _MAGNITUDES[match["mag"]] if match["mag"] else 1.0
    return _Number(value, marker, fraction_form and not match["mag"], match["rest"], magnitude)


def _chinese(body: str, marker: str) -> _Number | None:
    match = _CHINESE.match(body)
    if match is None:
        return None
    numeral, magnitude = match["num"], 1.0
    for mag in ("万亿", "亿", "万"):
        if numeral.endswith(mag) and len(numeral) > len(mag) and "点" not in numeral[-len(mag) :]:
            numeral, magnitude = numeral[: -len(mag)], _MAGNITUDES[mag]
            break
    value = chinese_number(numeral)
    if value is None:
        return None
    fraction_form = "点" in numeral and 0 < value < 1 and magnitude == 1
    return _Number(value, marker, fraction_form, match["rest"], magnitude)


def chinese_number(text: str) -> float | None:
    """一千二百 → 1200, 九十五点五 → 95.5, 十二 → 12; None when not a Chinese numeral."""
    whole, _, decimals = text.partition("点")
    value = _chinese_int(whole) if whole else 0
    if value is None or any(ch not in _DIGITS for ch in decimals) or (not whole and not decimals):
        return None
    if decimals:
        return float(f"{value}." + "".join(str(_DIGITS[ch]) for ch in decimals))
    return float(value)


def _chinese_int(text: str) -> int | None:
    for big, scale in (("亿", 10**8), ("万", 10**4)):
        if big in text:
            high, _, low = text.partition(big)
            high_value = _chinese_int(high) if high else None
            low_value = _chinese_int(low) if low else 0
            if high_value is None or low_value is None:
                return None
            return high_value * scale + low_value
    return _chinese_section(text)


def _chinese_section(text: str) -> int | None:
    total, digit, last_unit = 0, None, 10_000
    for ch in text:
        if ch in _DIGITS:
            if digit is not None and digit != 0:
                return None
            digit = _DIGITS[ch]
        elif ch in _SMALL_UNITS:
            unit = _SMALL_UNITS[ch]
            if unit >= last_unit or (digit is None and total):
                return None
            total += (1 if digit is None else digit) * unit
            digit, last_unit = None, unit
        else:
            return None
    return total + (digit or 0)


def _allowed_rest(fact: Fact, rest: str) -> bool:
    if not rest:
        return True
    unit = fact.unit
    scale = _unit_scale(unit)
    allowed = {unit, unit[1:] if scale != 1 else unit, *_CLASSIFIERS}
    if unit == "百分点":
        allowed.add("个百分点")
    return rest in allowed or rest.removesuffix("以上") in allowed


def _checked_number(fact: Fact, value: float) -> float:
    if not math.isfinite(value):
        raise AnswerError(expected(fact), fact.id)
    if fact.type == "count" and abs(value - round(value)) > 1e-9:
        raise AnswerError(f"数量应为整数，例如：{example(fact)}", fact.id)
    low, high, unit = fact.lower, fact.upper, fact.shown_unit
    if (low is not None and value < low) or (high is not None and value > high):
        raise AnswerError(f"{_range_text(low, high, unit)}，例如：{example(fact)}", fact.id)
    return int(round(value)) if fact.type == "count" else value


def _range_text(low: float | None, high: float | None, unit: str) -> str:
    if low is not None and high is not None:
        return f"应在{low:g}{unit}到{high:g}{unit}之间"
    if low is not None:
        return f"不能小于{low:g}{unit}"
    return f"不能大于{high:g}{unit}"


# --- choice, date, text ---------------------------------------------------------------------


def _read_choice(fact: Fact, text: str) -> str:
    word = _compact(text)
    options = {_compact(option): option for option in fact.options}
    found = options.get(word) or _by_number(fact, word)
    if found is None and not word.isdigit():
        inside = [opt for key, opt in options.items() if word in key]
        if len(inside) > 1:
            raise AnswerError(f"“{text}”可对应多个选项；{expected(fact)}", fact.id)
        found = _by_part(options, word) or _by_negation(fact, text) or _by_spelling(options, word)
    if found is None:
        raise AnswerError(expected(fact), fact.id)
    return found


def _by_number(fact: Fact, word: str) -> str | None:
    match = re.fullmatch(
        r"(?:第|选)?([0-9]{1,3}|[一二三四五六七八九十]{1,3})(?:项|个|条|号|\.|、)?", word
    )
    if match is None:
        return None
    token = match[1]
    index = int(token) if token.isascii() else int(chinese_number(token) or 0)
    return fact.options[index - 1] if 1 <= index <= len(fact.options) else None


def _by_part(options: Mapping[str, str], word: str) -> str | None:
    inside = [opt for key, opt in options.items() if word and word in key]
    if len(inside) == 1:
        return inside[0]
    contained = sorted((key for key in options if key and key in word), key=len, reverse=True)
    if len(contained) == 1 or (len(contained) > 1 and len(contained[0]) > len(contained[1])):
        return options[contained[0]]
    return None


def _by_negation(fact: Fact, text: str) -> str | None:
    if read_bool(text) is not False:
        return None
    negative = [opt for opt in fact.options if opt.startswith(("未", "无", "没", "不", "否"))]
    return negative[0] if len(negative) == 1 else None


def _by_spelling(options: Mapping[str, str], word: str) -> str | None:
    ratios = sorted(
        ((difflib.SequenceMatcher(None, word, key).ratio(), opt) for key, opt in options.items()),
        reverse=True,
    )
    if not ratios or ratios[0][0] < 0.6:
        return None
    if len(ratios) > 1 and ratios[1][0] >= ratios[0][0] - 0.1:
        return None
    return ratios[0][1]


_DATE = re.compile(
    r"^(?P<y>[0-9]{4})(?:[-./年](?P<m>[0-9]{1,2})(?:[-./月](?P<d>[0-9]{1,2})[日号]?|月)?|年)?$"
)
_COMPACT_DATE = re.compile(r"^(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})$")


def _read_date(fact: Fact, text: str) -> str:
    word = re.sub(r"[〇零一二三四五六七八九十]+", _date_numeral, _compact(text))
    match = _COMPACT_DATE.match(word) or _DATE.match(word)
    if match is None:
        raise AnswerError(expected(fact), fact.id)
    year, month, day = int(match["y"]), match["m"], match["d"]
    if not 1949 <= year <= 2100:
        raise AnswerError(f"年份应在1949到2100之间，例如：{example(fact)}", fact.id)
    if month is None:
        return f"{year:04d}"
    try:
        when = date(year, int(month), int(day or 1))
    except ValueError:
        raise AnswerError(f"不是有效日期，例如：{example(fact)}", fact.id) from None
    return when.isoformat() if day else when.isoformat()[:7]


def not_future(fact: Fact, when: str, today: date) -> str:
    """The completion date unchanged; AnswerError when it lies after today (2030-01 in 2026)."""
    parts = [int(x) for x in when.split("-")]
    start = date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    if start > today:
        raise FutureDate(
            f"完成日期{when}晚于今天（{today.isoformat()}）：任务不能在将来完成；未完成请回复“否”",
            fact.id,
        )
    return when


def _date_numeral(match: re.Match[str]) -> str:
    run = match[0]
    if len(run) >= 4 and "十" not in run:
        return "".join(str(_DIGITS.get(ch, 0)) for ch in run)
    value = chinese_number(run)
    return str(int(value)) if value is not None else run


def _read_text(fact: Fact, text: str) -> str:
    if not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        raise AnswerError(expected(fact), fact.id)
    return text


_READERS: dict[str, Callable[[Fact, str], Value]] = {
    "bool": _read_bool,
    "count": _read_count,
    "percent": _read_percent,
    "number": _read_number,
    "amount": _read_number,
    "choice": _read_choice,
    "date": _read_date,
    "text": _read_text,
}

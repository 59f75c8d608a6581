"""Reading liaisons' natural answers as typed fact values."""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.rules import FACT_TYPES, Fact
from scoring.answers import (
    AnswerProblem,
    chinese_number,
    coerce,
    example,
    expected,
    parse_answer,
    validate_answers,
)
from scoring.errors import AnswerError

BOOL = Fact("b", "bool", "是否成立议事协调机构？")
COUNT = Fact("c", "count", "近三年主导制定国家标准数量？", unit="项")
PERCENT = Fact("p", "percent", "A类强制检定项目覆盖率？")
PERMILLE = Fact("pm", "percent", "事故率？", unit="‰")
GROWTH = Fact("g", "percent", "变动幅度？", min=-100, max=1000)
NUMBER = Fact("n", "number", "人均质量监管经费？", unit="元/人")
AMOUNT = Fact("a", "amount", "质量工作财政经费？", unit="万元")
YUAN = Fact("y", "amount", "经费？", unit="元")
CHOICE = Fact(
    "m", "choice", "参会领导？", options=("县委书记参会", "县长参会", "其他主要领导参会", "未召开")
)
DATE = Fact("d", "date", "完成日期？")
TEXT = Fact("t", "text", "质量发展模式？")
ALL = (BOOL, COUNT, PERCENT, PERMILLE, GROWTH, NUMBER, AMOUNT, YUAN, CHOICE, DATE, TEXT)


@pytest.mark.parametrize(
    "text",
    [
        "是",
        "有",
        "√",
        "对",
        "yes",
        "Y",
        "true",
        "1",
        "已",
        "已经",
        "建立了",
        "已建立",
        "是的。",
        "有，2022年成立",
        "ＹＥＳ",
    ],
)
def test_bool_yes(text: str) -> None:
    assert parse_answer(BOOL, text) is True


@pytest.mark.parametrize(
    "text",
    ["否", "没有", "无", "×", "不", "no", "N", "false", "0", "未", "没有建立", "尚未开展", "不是"],
)
def test_bool_no(text: str) -> None:
    assert parse_answer(BOOL, text) is False


@pytest.mark.parametrize("text", ["是否", "🙂", "2", "很好的问题"])
def test_bool_rejects_with_example(text: str) -> None:
    with pytest.raises(AnswerError) as info:
        parse_answer(BOOL, text)
    assert info.value.message == "请回答“是”或“否”，例如：是"
    assert info.value.fact == "b"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("三项", 3),
        ("3项", 3),
        ("3", 3),
        ("三", 3),
        ("十二个", 12),
        ("２", 2),
        ("无", 0),
        ("一千二百", 1200),
        ("3项以上", 3),
        ("共5个", 5),
        ("3.0", 3),
        ("两", 2),
        ("二十一", 21),
        ("一百零五", 105),
    ],
)
def test_count(text: str, value: int) -> None:
    result = parse_answer(COUNT, text)
    assert result == value and isinstance(result, int)


@pytest.mark.parametrize(
    ("text", "message"), [("3.5", "整数"), ("-1", "不能小于0"), ("三五", "数量"), ("3米", "数量")]
)
def test_count_errors(text: str, message: str) -> None:
    with pytest.raises(AnswerError) as info:
        parse_answer(COUNT, text)
    assert message in info.value.message and "例如：3项" in info.value.message


@pytest.mark.parametrize(
    ("fact", "text", "value"),
    [
        (PERCENT, "95%", 95),
        (PERCENT, "95", 95),
        (PERCENT, "百分之九十五", 95),
        (PERCENT, "９５％", 95),
        (PERCENT, "百分之百", 100),
        (PERCENT, "0.5%", 0.5),
        (PERCENT, "1", 1),
        (PERCENT, "99.7%", 99.7),
        (PERCENT, "百分之九十九点五", 99.5),
        (PERCENT, "950‰", 95),
        (PERMILLE, "5‰", 5),
        (PERMILLE, "千分之五", 5),
        (PERMILLE, "5", 5),
        (PERMILLE, "0.5%", 5),
        (GROWTH, "-5%", -5),
        (GROWTH, "负百分之五", -5),
        (GROWTH, "150%", 150),
    ],
)
def test_percent(fact: Fact, text: str, value: float) -> None:
    assert parse_answer(fact, text) == value


def test_percent_range() -> None:
    with pytest.raises(AnswerError) as info:
        parse_answer(PERCENT, "101%")
    assert info.value.message == "应在0%到100%之间，例如：95%"
    with pytest.raises(AnswerError):
        parse_answer(COUNT, "5%")


@pytest.mark.parametrize(
    ("fact", "text", "value"),
    [
        (NUMBER, "1.5", 1.5),
        (NUMBER, "1,200", 1200),
        (NUMBER, "１，２００", 1200),
        (NUMBER, "一千二百", 1200),
        (NUMBER, "1.2万", 12000),
        (NUMBER, "约30元/人", 30),
        (NUMBER, "-3", -3),
        (NUMBER, "1e3", 1000),
        (AMOUNT, "1.2万", 1.2),
        (AMOUNT, "12000元", 1.2),
        (AMOUNT, "1.2", 1.2),
        (AMOUNT, "3万元", 3),
        (AMOUNT, "1.2亿", 12000),
        (AMOUNT, "一千二百万", 1200),
        (YUAN, "1.2万", 12000),
        (YUAN, "1.2万元", 12000),
        (YUAN, "3千", 3000),
        (YUAN, "十万元", 100000),
    ],
)
def test_number_and_amount(fact: Fact, text: str, value: float) -> None:
    assert parse_answer(fact, text) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "option"),
    [
        ("县长参会", "县长参会"),
        ("2", "县长参会"),
        ("第3项", "其他主要领导参会"),
        ("书记", "县委书记参会"),
        ("县委书记参加", "县委书记参会"),
        ("未召开", "未召开"),
        ("没有", "未召开"),
        ("否", "未召开"),
        ("四", "未召开"),
        (" 县长参会。", "县长参会"),
    ],
)
def test_choice(text: str, option: str) -> None:
    assert parse_answer(CHOICE, text) == option


@pytest.mark.parametrize("text", ["5", "0", "参会", "开了", "副书记省长"])
def test_choice_errors_list_the_options(text: str) -> None:
    with pytest.raises(AnswerError) as info:
        parse_answer(CHOICE, text)
    assert "1.县委书记参会 2.县长参会 3.其他主要领导参会 4.未召开" in info.value.message


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2026年5月", "2026-05"),
        ("2026-05", "2026-05"),
        ("2026.5", "2026-05"),
        ("2026-05-12", "2026-05-12"),
        ("2026年5月12日", "2026-05-12"),
        ("2026/5/12", "2026-05-12"),
        ("20260512", "2026-05-12"),
        ("二〇二六年五月十二日", "2026-05-12"),
        ("2026年", "2026"),
    ],
)
def test_date(text: str, iso: str) -> None:
    assert parse_answer(DATE, text) == iso


@pytest.mark.parametrize("text", ["2026-13", "2026-02-30", "1800年", "明天", "5月"])
def test_date_errors(text: str) -> None:
    with pytest.raises(AnswerError):
        parse_answer(DATE, text)


def test_text() -> None:
    assert parse_answer(TEXT, "  “质量立县”模式 ") == "“质量立县”模式"
    for bad in ("", "   ", "😀😀", "……", "x" * 10_000):
        with pytest.raises(AnswerError):
            parse_answer(TEXT, bad)


@pytest.mark.parametrize(
    "junk", ["", " \n\t ", "x" * 10_000, "😀", "\x00\x01", "\ud800", "\ufeff\u200b", "\U000f0000"]
)
@pytest.mark.parametrize("fact", ALL, ids=lambda f: f.type)
def test_junk_is_an_answer_error(fact: Fact, junk: str) -> None:
    with pytest.raises(AnswerError) as info:
        parse_answer(fact, junk)
    assert info.value.message


def test_invisible_characters_are_ignored() -> None:
    assert parse_answer(BOOL, "\ufeff是\u200b") is True
    assert parse_answer(TEXT, "\ufeff已印发") == "已印发"


def test_typed_values() -> None:
    assert coerce(BOOL, True) is True
    assert coerce(COUNT, 3) == 3 and coerce(PERCENT, 95.5) == 95.5
    assert coerce(CHOICE, 2) == "县长参会"
    assert coerce(DATE, date(2026, 5, 12)) == "2026-05-12"
    for fact, value in (
        (BOOL, 1),
        (COUNT, True),
        (PERCENT, 120),
        (TEXT, 3),
        (COUNT, 2.5),
        (NUMBER, float("nan")),
        (BOOL, None),
        (CHOICE, [1]),
    ):
        with pytest.raises(AnswerError):
            coerce(fact, value)


def test_validate_answers_reports_every_problem() -> None:
    facts = {f.id: f for f in ALL}
    values, problems = validate_answers(
        facts, {"b": "是", "c": "很多", "p": "95%", "zz": 1, "m": "9", "t": None, "d": "2026年5月"}
    )
    assert values == {"b": True, "p": 95.0, "d": "2026-05"}
    assert [p.fact for p in problems] == ["c", "zz", "m"]
    assert problems[0] == AnswerProblem("c", "很多", "请填写数量（整数），例如：3项")
    assert problems[1].expected == "未声明的事实 zz"
    assert problems[0].to_dict() == {
        "fact": "c",
        "value": "很多",
        "expected": "请填写数量（整数），例如：3项",
    }


def test_examples_parse_as_their_own_fact() -> None:
    for fact in ALL:
        parse_answer(fact, example(fact))
        assert expected(fact)


# --- properties -------------------------------------------------------------------------------

FACTS = st.sampled_from(ALL)


@settings(max_examples=500, deadline=None)
@given(FACTS, st.text(max_size=60))
def test_any_text_gives_a_value_or_an_answer_error(fact: Fact, text: str) -> None:
    try:
        value = parse_answer(fact, text)
    except AnswerError as exc:
        assert exc.message
        return
    assert isinstance(value, bool | int | float | str)


@settings(max_examples=200, deadline=None)
@given(
    FACTS,
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.binary(), st.lists(st.integers())
    ),
)
def test_any_value_gives_a_value_or_an_answer_error(fact: Fact, raw: object) -> None:
    with contextlib.suppress(AnswerError):
        coerce(fact, raw)


@given(st.floats(-1e9, 1e9, allow_nan=False).map(lambda x: round(x, 4)))
def test_numbers_round_trip(x: float) -> None:
    assert parse_answer(NUMBER, repr(x)) == pytest.approx(x)
    assert parse_answer(NUMBER, f"{x:,}") == pytest.approx(x)


@given(st.integers(0, 10**6))
def test_counts_round_trip(n: int) -> None:
    assert parse_answer(COUNT, str(n)) == n
    assert parse_answer(COUNT, f"{n}项") == n
    assert parse_answer(COUNT, to_chinese(n)) == n


@given(st.integers(0, 100))
def test_percent_in_chinese(n: int) -> None:
    assert parse_answer(PERCENT, f"百分之{to_chinese(n)}") == n
    assert parse_answer(PERCENT, f"{n}%") == n


@given(st.integers(0, 99_999_999))
def test_chinese_numerals(n: int) -> None:
    assert chinese_number(to_chinese(n)) == n


def to_chinese(n: int) -> str:
    """A plain Chinese numeral (written independently of the parser): 105 → 一百零五, 12 → 十二."""
    text = _section(n)
    return text[1:] if text.startswith("一十") else text


def _section(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n == 0:
        return "零"
    if n >= 10**4:
        high, low = divmod(n, 10**4)
        rest = "" if low == 0 else ("零" if low < 1000 else "") + _section(low)
        return _section(high) + "万" + rest
    out, gap = "", False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d, n = divmod(n, unit)
        if d:
            out += ("零" if gap and out else "") + digits[d] + name
            gap = False
        else:
            gap = True
    return out


def test_to_chinese_helper() -> None:
    assert [to_chinese(n) for n in (10, 12, 105, 1200, 10001, 100000)] == [
        "十",
        "十二",
        "一百零五",
        "一千二百",
        "一万零一",
        "十万",
    ]


@pytest.mark.parametrize("kind", FACT_TYPES)
def test_every_type_has_a_reader(kind: str) -> None:
    fact = Fact("z", kind, "?", options=("甲", "乙") if kind == "choice" else ())
    assert parse_answer(fact, example(fact)) is not None

"""Property tests for the answer parsers: "don't know" is never a 是/否, 0.35 is never guessed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.rules import Fact
from scoring.answers import is_unsure, parse_answer, read_bool
from scoring.errors import AmbiguousPercent, AnswerError, UnsureAnswer

BOOL = Fact("b", "bool", "是否成立议事协调机构？")
CHOICE = Fact("m", "choice", "参会领导？", options=("县委书记参会", "县长参会", "未召开"))
DATE = Fact("d", "date", "完成日期？")
PERCENT = Fact("p", "percent", "经费占比？")
PERMILLE = Fact("pm", "percent", "事故率？", unit="‰")
CHANGE = Fact("c", "number", "占比变动幅度？", unit="百分点", min=-100, max=100)

REPORTED = ["不太清楚", "无法确定", "不好说", "不一定", "不记得了", "不晓得", "不是很清楚",
            "无从得知", "说不准", "待确认", "不知道", "不清楚", "不确定"]
# the rule, not the list: a negation, degree words, a verb of knowing / being sure / remembering
NEGATIONS = ["不", "没", "没有", "无法", "无从", "难以", "不能", "没法"]
DEGREES = ["", "太", "很", "是很", "大", "怎么", "十分", "完全", "特别"]
VERBS = ["知道", "清楚", "确定", "确认", "晓得", "记得", "了解", "肯定", "得知", "知晓"]
RESULTS = ["说不准", "记不清", "拿不准", "吃不准", "搞不清", "说不好", "想不起来", "查不到"]
OPEN = ["待确认", "待核实", "待查", "未知", "不详", "可能", "也许", "大概", "说不定", "not sure"]

negated = st.builds(lambda n, d, v: n + d + v, st.sampled_from(NEGATIONS),
                    st.sampled_from(DEGREES), st.sampled_from(VERBS))
markers = st.one_of(negated, st.sampled_from(REPORTED + RESULTS + OPEN))


@pytest.mark.parametrize("text", [*REPORTED, "我也说不准", "这个得问一下，待确认", "好像有吧"])
def test_reported_phrases_are_unsure_not_no(text: str) -> None:
    with pytest.raises(UnsureAnswer):
        parse_answer(BOOL, text)


@pytest.mark.parametrize("text", ["否", "没有", "不是", "未完成", "尚未开展", "还没有", "暂无", "不"])
def test_plain_negatives_stay_no(text: str) -> None:
    assert parse_answer(BOOL, text) is False


@given(st.text(max_size=20), markers, st.text(max_size=20))
def test_a_reply_with_an_uncertainty_marker_never_parses_to_a_bool(
    before: str, marker: str, after: str
) -> None:
    text = before + marker + after
    assert read_bool(text) is None
    for fact in (BOOL, CHOICE, DATE):
        try:
            value = parse_answer(fact, text)
        except AnswerError:
            continue
        raise AssertionError(f"{text!r} read as {value!r} for {fact.type}")


@given(markers)
def test_every_marker_is_recognised_alone(marker: str) -> None:
    assert is_unsure(marker)


def test_numbers_take_hedges_as_estimates_but_not_not_knowing() -> None:
    assert parse_answer(CHANGE, "大概0.05个百分点") == 0.05
    with pytest.raises(UnsureAnswer):
        parse_answer(CHANGE, "不清楚")


# --- percent ----------------------------------------------------------------------------------

decimals = st.integers(min_value=1, max_value=999).map(lambda n: f"0.{n:03d}".rstrip("0"))


@given(decimals)
def test_a_bare_decimal_below_one_is_asked_not_guessed(text: str) -> None:
    with pytest.raises(AmbiguousPercent) as info:
        parse_answer(PERCENT, text)
    low, high = info.value.choices
    assert low == pytest.approx(float(text)) and high == pytest.approx(float(text) * 100)
    assert info.value.message == f"您填的是{low:.12g}%还是{high:.12g}%？"


@given(decimals)
def test_a_marked_decimal_is_taken_as_written(text: str) -> None:
    assert parse_answer(PERCENT, text + "%") == pytest.approx(float(text))
    assert parse_answer(PERCENT, "百分之" + text) == pytest.approx(float(text))


def test_chinese_decimal_is_asked_and_whole_numbers_are_percent() -> None:
    with pytest.raises(AmbiguousPercent):
        parse_answer(PERCENT, "零点三五")
    assert parse_answer(PERCENT, "35") == 35
    assert parse_answer(PERCENT, "1") == 1
    assert parse_answer(PERMILLE, "0.5") == 0.5


@pytest.mark.parametrize(("text", "value"), [("0.05个百分点", 0.05), ("1个百分点", 1.0),
                                             ("-0.2个百分点", -0.2), ("0.05百分点", 0.05),
                                             ("0.05", 0.05)])
def test_percentage_points_as_the_template_writes_them(text: str, value: float) -> None:
    assert parse_answer(CHANGE, text) == pytest.approx(value)


def test_percentage_points_only_where_the_unit_is_points() -> None:
    with pytest.raises(AnswerError):
        parse_answer(PERCENT, "5个百分点")

"""The 申请表 as knowledge: verbatim rows, and the questions it answers (issue #12 item 4)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.forms import load_form
from knowledge.qa import Librarian

SOURCE = Path(__file__).resolve().parent.parent / "knowledge" / "sources" / "000_89002f1628e4c3b7.txt"
_WS = re.compile(r"\s+")


def test_every_form_text_is_verbatim_in_the_source() -> None:
    source = _WS.sub("", SOURCE.read_text(encoding="utf-8"))
    form = load_form()
    assert form.section("填报说明") and form.section("基本情况") and form.section("重要指标")
    for item in form.items:
        assert _WS.sub("", item.text) in source, item.text


def test_instructions_are_numbered_one_to_thirteen() -> None:
    assert [i.no for i in load_form().section("填报说明")] == list(range(1, 14))


@pytest.mark.parametrize(
    ("question", "starts", "contains"),
    [
        ("研发投入占GDP比重算不算分", "否。", ["不单独计分", "统计局", "我们的理解"]),
        ("亿元GDP生产安全事故死亡人数有分吗", "否。", ["基本情况", "应急管理局", "我们的理解"]),
        ("统计数据不实会不会一票否决", "是。", ["统计数据不实"]),
        ("评上以后省里奖励多少", "【平阴县方案】", ["200万元"]),
        ("专班里统计局的成员是谁", "【平阴县方案】", ["张秋红"]),
        ("统计局要交什么材料、什么时候交", "【平阴县方案】", ["2022年7月26日", "申请表", "我们的理解"]),
        ("我们县现在估计能得多少分", "", ["/progress", "自评"]),
        ("四上企业包括哪几类", "【四上企业】", ["填报说明第3条"]),
        ("功效系数法是怎么回事", "【功效系数法】", ["来自文件之外"]),
    ],
)
def test_application_form_questions(librarian: Librarian, question: str, starts: str, contains: list[str]) -> None:
    answer = librarian.ask(question, plan="pingyin")
    assert not answer.abstained and answer.text.startswith(starts), answer.text
    for piece in contains:
        assert piece in answer.text, (piece, answer.text)


def test_a_row_question_about_an_indicator_is_not_taken_for_the_row(librarian: Librarian) -> None:
    answer = librarian.ask("服务业增加值占GDP比重几分", plan="pingyin")
    assert [i.id for i, _ in answer.hits[:1]] == ["35"]


def test_the_form_answers_only_shandong_plans(librarian: Librarian) -> None:
    answer = librarian.ask("研发投入占GDP比重算不算分", plan="jinan")
    assert "不单独计分" not in answer.text

"""Raw figures in, derived values out: ratio/share/change/growth declared as data, computed, shown, checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.app import App
from bot.cli import main
from handlers.store import Actor
from knowledge.errors import RuleError
from knowledge.loader import parse_framework, read_yaml
from knowledge.model import KnowledgeBase
from knowledge.rules import parse_facts
from scoring.answer_file import check_answers
from scoring.derived import agrees, conflicts, derive, recompute
from scoring.engine import framework_facts, score_indicator
from scoring.questionnaire import questions_for
from tests.messages import Person
from tests.test_assess_confirm import chat

PLAN = "pingyin"


def fact(fid: str, kind: str = "amount", **extra: Any) -> dict[str, Any]:
    return {"id": fid, "type": kind, "question": f"{fid}？", **extra}


# --- declaring -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "path", "message"),
    [
        ({"kind": "mean", "of": ["a", "b"]}, "derived.kind", "应为 ratio、share、change、growth 之一"),
        ({"kind": "ratio", "of": ["a"]}, "derived.of", "应列出两个事实编号"),
        ({"kind": "ratio", "of": ["a", "zz"]}, "derived.of[1]", "未声明的事实 zz（应在本事实之前声明）"),
        ({"kind": "ratio", "of": ["a", "a"]}, "derived.of[1]", "两个事实不能相同"),
        ({"kind": "share", "of": ["a", "b"], "scale": 100}, "derived.scale", "只有 ratio 可以写 scale"),
        ({"kind": "ratio", "of": ["a", "b"], "scale": 0}, "derived.scale", "应大于0"),
        ({"kind": "ratio", "of": ["a", "t"]}, "derived.of[1]", "事实 t 应为数值类型"),
        ({"kind": "share", "of": ["a", "p"]}, "derived.of", "share 的两项单位应相同（现为万元、万人）"),
    ],
)
def test_bad_derivations_name_the_path(bad: dict[str, Any], path: str, message: str) -> None:
    raw = [fact("a", unit="万元"), fact("b", unit="万元"), fact("p", "number", unit="万人"),
           fact("t", "text"), fact("d", "number", unit="元/人", derived=bad)]
    with pytest.raises(RuleError) as caught:
        parse_facts(raw, "indicators[3].facts")
    assert caught.value.path == f"indicators[3].facts[4].{path}"
    assert message in caught.value.message


def test_derived_units_and_types_are_checked() -> None:
    base = [fact("a", unit="万元"), fact("b", unit="万元")]
    cases = [
        (fact("d", "percent", derived={"kind": "growth", "of": ["a", "b"]}), None),
        (fact("d", "number", unit="万元", derived={"kind": "share", "of": ["a", "b"]}), "share 得出的单位应为 %或‰"),
        (fact("d", "count", derived={"kind": "ratio", "of": ["a", "b"]}), "应为 percent、number 或 amount"),
        (fact("d", "number", derived={"kind": "ratio", "of": ["a", "b"]}), "需写明 unit"),
        (fact("d", "number", unit="%", derived={"kind": "change", "of": ["a", "b"]}), "change 得出的单位应为 万元"),
    ]
    for extra, problem in cases:
        if problem is None:
            parse_facts([*base, extra], "facts")
            continue
        with pytest.raises(RuleError, match=problem):
            parse_facts([*base, extra], "facts")


def test_a_bad_framework_file_names_file_and_path(kb: KnowledgeBase) -> None:
    data = read_yaml(Path(__file__).resolve().parent.parent / "knowledge/data/frameworks/shandong.yaml")
    for ind in data["indicators"]:
        for item in ind.get("facts") or ():
            if item["id"] == "i28_per_capita":
                item["derived"] = {"kind": "ratio", "of": ["i28_funds", "i28_people"]}
    with pytest.raises(RuleError) as caught:
        parse_framework("shandong.yaml", data)
    text = str(caught.value)
    assert text.startswith("shandong.yaml: indicators[") and ".facts[2].derived.of[1]: 未声明的事实 i28_people" in text


def test_every_converted_indicator_asks_raw_figures_only(kb: KnowledgeBase) -> None:
    derived = {f.id for fw in kb.frameworks.values() for i in fw.indicators.values() for f in i.facts if f.is_derived}
    assert derived == {"i10_share_cur", "i10_share_prev", "i10_change", "i19_growth", "i20_growth",
                       "i28_per_capita", "i3_fund_ratio", "i25_certs_per_10k"}
    for fw in kb.frameworks.values():
        asked = {q.fact.id for q in questions_for(fw, list(fw.indicators.values()))}
        assert not asked & derived
    fw = kb.frameworks["shandong"]
    asked = [q.fact.id for q in questions_for(fw, [fw.indicators["10"]])]
    assert asked == ["i10_funds_cur", "i10_spend_cur", "i10_funds_prev", "i10_spend_prev"]


# --- computing -------------------------------------------------------------------------------


def test_indicator_28_is_computed_from_the_raw_figures(kb: KnowledgeBase) -> None:
    ind = kb.frameworks["shandong"].indicators["28"]
    typed_wrong = score_indicator(ind, {"i28_funds": 120, "i28_population": 50, "i28_per_capita": 15})
    assert typed_wrong.score == 0.7  # 2.4 元/人, not the 15 typed: d = 60 + 40 × 2.4/10 = 69.6
    assert "2.4元/人 = 120万元 ÷ 50万人" in typed_wrong.parts[0].reason
    blank = score_indicator(ind, {"i28_funds": 120, "i28_population": 50})
    assert blank.score == 0.7 and not blank.missing


def test_missing_inputs_are_unanswered_and_named(kb: KnowledgeBase) -> None:
    ind = kb.frameworks["shandong"].indicators["28"]
    result = score_indicator(ind, {"i28_funds": 120, "i28_per_capita": 2.4})
    part = result.parts[0]
    assert result.score == 0 and part.unanswered and result.missing == ("i28_population",)
    assert "需填写：评价当年的前一年度本地区常住人口" in part.reason
    zero = score_indicator(ind, {"i28_funds": 120, "i28_population": 0})
    assert zero.score == 0 and not zero.parts[0].unanswered and "为0，无法计算" in zero.parts[0].reason


def test_share_change_and_negative_change(kb: KnowledgeBase) -> None:
    ind = kb.frameworks["shandong"].indicators["10"]
    up = {"i10_funds_cur": 350, "i10_spend_cur": 100000, "i10_funds_prev": 300, "i10_spend_prev": 100000}
    reason = score_indicator(ind, up).parts[0].reason
    assert "经费占比0.35% = 350万元 ÷ 100000万元" in reason
    assert "占比变动幅度0.05个百分点 = 0.35% − 0.3%" in reason
    down = {**up, "i10_funds_prev": 400}
    result = score_indicator(ind, down)
    assert "-0.05个百分点 = 0.35% − 0.4%" in result.parts[0].reason
    # 0.6 × (60 + 40 × 0.35) + 0.4 × 60 (a fall is valid, the floor of 功效系数法) = 68.4 → 1.37
    assert result.score == 1.37
    half = score_indicator(ind, {"i10_funds_cur": 350, "i10_spend_cur": 100000})
    assert set(half.missing) == {"i10_funds_prev", "i10_spend_prev"}


def test_negative_growth_is_valid(kb: KnowledgeBase) -> None:
    ind = kb.frameworks["shandong"].indicators["19"]
    result = score_indicator(ind, {"i19_helped_prev1": 40, "i19_helped_prev2": 50})
    assert "帮扶企业数量增长率-20% = （40家 − 50家）÷ 50家" in result.parts[0].reason
    assert result.score == 1.58  # 0.6 × (60 + 40 × 40/50) + 0.4 × 60 = 79.2 → 1.58


def test_hunan_per_mille_share_and_ratio(kb: KnowledgeBase) -> None:
    fw = kb.frameworks["hunan"]
    fund = score_indicator(fw.indicators["3"], {"i3_fund": "120万元", "i3_revenue": "20亿元"})
    assert fund.score == 20 and "0.6‰ = 120万元 ÷ 200000万元" in fund.parts[0].reason
    talent = score_indicator(fw.indicators["25"], {"i25_policy": True, "i25_certs": 90, "i25_employed": 45})
    assert talent.score == 30 and "2张/万名就业人员 = 90张 ÷ 45万人" in talent.parts[1].reason


@given(
    funds=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    people=st.floats(min_value=0.01, max_value=1e4, allow_nan=False),
)
def test_ratio_is_funds_over_population(kb: KnowledgeBase, funds: float, people: float) -> None:
    facts = {f.id: f for f in kb.frameworks["shandong"].indicators["28"].facts}
    result = derive(facts, {"i28_funds": funds, "i28_population": people})["i28_per_capita"]
    assert result.value == pytest.approx(funds / people)
    assert agrees(round(funds / people, 1), result.value)


def test_rounding_agrees_but_a_different_value_does_not() -> None:
    assert agrees(2.4, 2.38) and agrees(0.35, 0.3476) and agrees(2, 2.4)
    assert not agrees(15, 2.4) and not agrees(2.5, 2.4) and not agrees(0.4, 0.3476)


# --- checking typed derived values -----------------------------------------------------------


def test_answer_file_problems(kb: KnowledgeBase) -> None:
    facts = framework_facts(kb.frameworks["shandong"])
    values, problems = check_answers(facts, {"i28_funds": "120", "i28_population": "50", "i28_per_capita": "15"})
    assert [p.fact for p in problems] == ["i28_per_capita"]
    assert "所填15元/人与原始数据不符：2.4元/人 = 120万元 ÷ 50万人" in problems[0].expected
    assert "i28_per_capita" not in values
    _, fine = check_answers(facts, {"i28_funds": "120", "i28_population": "50", "i28_per_capita": "2.4"})
    assert fine == []
    _, alone = check_answers(facts, {"i28_per_capita": "2.4"})
    assert "不采用：请填写" in alone[0].expected
    # 0.35 of a percent is ambiguous alone, but the raw figures say which: 0.35%
    _, share = check_answers(facts, {"i10_funds_cur": "350", "i10_spend_cur": "100000", "i10_share_cur": "0.35"})
    assert share == []


def test_cli_lists_a_disagreeing_ratio_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.yaml"
    code = main(["score", "--plan", PLAN, "--template", "-o", str(path)])
    text = path.read_text(encoding="utf-8")
    assert code == 0 and "\ni28_funds: " in text and "\ni28_per_capita: " not in text
    assert "# 工业产品和消费品质量监管经费与常住人口之比：由 i28_funds ÷ i28_population 自动计算（元/人），无需填写" in text
    capsys.readouterr()
    path.write_text("i28_funds: 120\ni28_population: 50\ni28_per_capita: 15\n", encoding="utf-8")
    assert main(["score", "--plan", PLAN, "--answers", str(path)]) == 2
    err = capsys.readouterr().err
    assert "i28_per_capita: \"15\" — 所填15元/人与原始数据不符：2.4元/人 = 120万元 ÷ 50万人" in err
    path.write_text("i28_funds: 120\ni28_population: 50\n", encoding="utf-8")
    assert main(["score", "--plan", PLAN, "--answers", str(path)]) == 0
    assert "2.4元/人 = 120万元 ÷ 50万人" in capsys.readouterr().out


def test_xlsx_template_asks_the_same_raw_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "t.xlsx"
    assert main(["score", "--plan", PLAN, "--department", "统计局", "--template", "--format", "xlsx", "-o", str(path)]) == 0
    book = load_workbook(path)
    cells = {str(c.value) for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value}
    assert "i28_funds" in cells and "i28_population" in cells and "i28_per_capita" not in cells


def test_recompute_after_the_last_raw_figure(kb: KnowledgeBase) -> None:
    facts = {f.id: f for f in kb.frameworks["shandong"].indicators["28"].facts}
    done = recompute(facts, {"i28_funds": 120.0, "i28_per_capita": 15.0}, {"i28_population": 50.0})
    assert done.values == {"i28_per_capita": 2.4}
    assert done.lines == ("计算：工业产品和消费品质量监管经费与常住人口之比 2.4元/人 = 120万元 ÷ 50万人"
                          "（原填15元/人，已按原始数据更正）",)
    assert recompute(facts, {}, {"i28_funds": 120.0}).values == {}
    assert [c.fact for c in conflicts(facts, {"i28_funds": 120.0, "i28_population": 50.0, "i28_per_capita": 15.0})] == ["i28_per_capita"]


# --- in the chat -----------------------------------------------------------------------------


async def test_chat_shows_the_computation_and_stores_it(app: App) -> None:
    person = Person(app.handler)
    await person.say("/bind 统计局")
    assert "第1/2题｜28" in await person.say("自评")
    await person.say("120万元")
    reply = await person.say("50万人")
    assert "已保存：50万人\n计算：工业产品和消费品质量监管经费与常住人口之比 2.4元/人 = 120万元 ÷ 50万人" in reply
    stored = await app.handler.services.storage.answers(PLAN, "统计局")
    assert stored["i28_per_capita"] == 2.4


async def test_chat_asks_again_when_a_stored_ratio_disagrees(app: App) -> None:
    storage = app.handler.services.storage
    old = {"i28_funds": 120.0, "i28_population": 50.0, "i28_per_capita": 15.0}
    await storage.save_answers(PLAN, "统计局", old, Actor("file", "li", "李四"))
    person = Person(app.handler)
    await person.say("/bind 统计局")
    reply = await person.say("自评")
    assert "需核对：工业产品和消费品质量监管经费与常住人口之比原填15元/人，按原始数据计算为2.4元/人 = 120万元 ÷ 50万人" in reply
    assert "第1/2题｜28" in reply
    reply = await person.say("120")
    assert "（原填15元/人，已按原始数据更正）" in reply
    assert (await storage.answers(PLAN, "统计局"))["i28_per_capita"] == 2.4
    assert "需核对" not in await person.say("自评")


def test_qcbot_chat_script(tmp_path: Path) -> None:
    out = chat(tmp_path, "/bind 统计局\n自评\n120万元\n五十万人\n")
    assert "计算：工业产品和消费品质量监管经费与常住人口之比 2.4元/人 = 120万元 ÷ 50万人" in out
    assert "自评完成" in out


def test_a_zero_denominator_below_a_change_is_reported(kb: KnowledgeBase) -> None:
    ind = kb.frameworks["shandong"].indicators["10"]
    zero = {"i10_funds_cur": 350, "i10_spend_cur": 100000, "i10_funds_prev": 300, "i10_spend_prev": 0}
    result = score_indicator(ind, zero)
    assert "占比变动幅度：评价当年的前一年度公共财政支出为0，无法计算，不得分" in result.parts[0].reason

"""The engine on synthetic rules: every method at its edges, caps, 合理缺项, veto, frameworks."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.display import round2
from knowledge.errors import RuleError
from knowledge.model import Editorial, Framework, Indicator, Level, Line, Plan
from knowledge.rules import Bounds, parse_facts, parse_rule
from scoring.efficacy import coefficient
from scoring.engine import framework_facts, score_framework, score_indicator
from scoring.errors import AnswerError, ScoringError
from scoring.samples import answer_template, best_answers


def fact(fid: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"id": fid, "type": kind, "question": f"{fid}？", **extra}


def part(method: str, pid: str = "a", **keys: Any) -> dict[str, Any]:
    return {"id": pid, "label": f"部分{pid}", "action": f"做好{pid}", "method": method, **keys}


def indicator(
    parts: list[dict[str, Any]],
    facts: list[dict[str, Any]],
    points: float,
    *,
    ind_id: str = "1",
    kind: str = "indicator",
    level1: str = "一级甲",
    level2: str | None = None,
    **rule_keys: Any,
) -> Indicator:
    declared = parse_facts(facts, "facts")
    rule = parse_rule({"parts": parts, **rule_keys}, {f.id: f for f in declared}, points, "rule")
    return Indicator(
        framework="t",
        id=ind_id,
        kind=kind,
        level1=level1,
        level2=level2,
        title=f"指标{ind_id}",
        points=points,
        criteria="",
        editorial=Editorial(),
        facts=declared,
        rule=rule,
    )


def framework(
    *indicators: Indicator, pass_line: float | None = None, scoring: str = "points"
) -> Framework:
    names = sorted({i.level1 for i in indicators if i.level1})
    levels = tuple(
        Level(
            name,
            None,
            tuple(
                Level(c, None)
                for c in sorted({i.level2 for i in indicators if i.level1 == name and i.level2})
            ),
        )
        for name in names
    )
    return Framework(
        id="t",
        name="测试体系",
        source="x",
        total_points=None,
        pass_line=pass_line,
        scoring=scoring,
        levels=levels,
        indicators={i.id: i for i in indicators},
    )


# --- methods at their edges ---------------------------------------------------------------------

MEETING = fact("m", "choice", options=["县委书记参会", "县长参会", "其他主要领导参会", "未召开"])
MEETING_SCORES = {"县委书记参会": 2, "县长参会": 1, "其他主要领导参会": 0.5, "未召开": 0}


def test_bool_and_choice_reasons() -> None:
    ind = indicator(
        [
            part("bool", "a", fact="body", points=2),
            part("choice", "b", fact="m", scores=MEETING_SCORES),
        ],
        [fact("body", "bool"), MEETING],
        4,
    )
    result = score_indicator(ind, {"body": False, "m": "县长参会"})
    assert (result.score, result.max) == (1.0, 4.0)
    assert [p.reason for p in result.parts] == [
        "部分a：否，不得分（可得2分）",
        "县长参会，得1分（县委书记参会可得2分）",
    ]
    best = score_indicator(ind, {"body": "是", "m": "书记"})
    assert best.score == 4.0
    assert best.reason == "部分a：是，得2分；县委书记参会，得2分"
    assert (
        score_indicator(ind, {"body": True, "m": "未召开"}).parts[1].reason
        == "未召开，不得分（县委书记参会可得2分）"
    )


def test_bool_when_condition() -> None:
    ind = indicator(
        [part("bool", when={"fact": "rate", "op": ">=", "value": 100}, points=1)],
        [fact("rate", "percent")],
        1,
    )
    assert score_indicator(ind, {"rate": 100}).score == 1
    low = score_indicator(ind, {"rate": 99.9})
    assert low.score == 0 and "rate不低于100%" in low.reason


@pytest.mark.parametrize(
    ("x", "score", "reason"),
    [
        (89.9, 0.0, "部分b89.9%，未达到90%，不得分（估算：x满意=100、x不允许=90）"),
        (90, 0.6, "部分b90%，功效系数d=60.0，得0.6分（估算：x满意=100、x不允许=90）"),
        (95, 0.8, "部分b95%，功效系数d=80.0，得0.8分（估算：x满意=100、x不允许=90）"),
        (100, 1.0, "部分b100%，功效系数d=100.0，得1分（估算：x满意=100、x不允许=90）"),
    ],
)
def test_efficacy_gate(x: float, score: float, reason: str) -> None:
    ind = indicator(
        [
            part(
                "efficacy",
                "b",
                points=1,
                measure={"fact": "cov"},
                gate={"min": 90},
                bounds={"satisfied": 100, "allowed": 90},
                bounds_stated=True,
            )
        ],
        [fact("cov", "percent")],
        1,
    )
    result = score_indicator(ind, {"cov": x})
    assert result.score == score
    assert result.parts[0].reason == reason
    assert result.estimated


def test_efficacy_without_gate_gives_at_least_60_percent_and_unstated_bounds_say_so() -> None:
    ind = indicator(
        [
            part(
                "efficacy", points=1, measure={"fact": "v"}, bounds={"satisfied": 50, "allowed": 10}
            )
        ],
        [fact("v", "number", unit="元/人")],
        1,
    )
    low = score_indicator(ind, {"v": 0})
    assert low.score == 0.6
    assert "界值为估计值" in low.reason and "0元/人" in low.reason
    assert score_indicator(ind, {}).score == 0


def test_efficacy_lower_is_better_mirrors() -> None:
    ind = indicator(
        [
            part(
                "efficacy",
                points=2,
                measure={"fact": "r"},
                direction="lower",
                bounds={"satisfied": 1, "allowed": 5},
            )
        ],
        [fact("r", "number")],
        2,
    )
    assert score_indicator(ind, {"r": 1}).score == 2
    assert score_indicator(ind, {"r": 0.5}).score == 2
    assert score_indicator(ind, {"r": 5}).score == 1.2
    assert score_indicator(ind, {"r": 9}).score == 1.2
    assert score_indicator(ind, {"r": 3}).score == 1.6


def test_coefficient_function() -> None:
    assert coefficient(95, 100, 90) == 80
    assert coefficient(120, 100, 90) == 100
    assert coefficient(0, 100, 90) == 60
    assert coefficient(2, 1, 5, "lower") == 90
    with pytest.raises(ScoringError):
        coefficient(1, 90, 100)
    with pytest.raises(ScoringError):
        coefficient(1, 100, 90, "sideways")


WEIGHTED = [
    {
        "weight": 0.6,
        "label": "占比",
        "measure": {"fact": "share"},
        "bounds": {"satisfied": 2, "allowed": 0},
    },
    {
        "weight": 0.4,
        "label": "变动幅度",
        "measure": {"fact": "change"},
        "bounds": {"satisfied": 20, "allowed": -20},
    },
]


def weighted_indicator(weights: tuple[float, float] = (0.6, 0.4)) -> Indicator:
    terms = [{**WEIGHTED[0], "weight": weights[0]}, {**WEIGHTED[1], "weight": weights[1]}]
    return indicator(
        [part("efficacy", points=2, terms=terms)],
        [fact("share", "percent"), fact("change", "percent", min=-100, max=1000)],
        2,
        ind_id="10",
    )


def test_weighted_efficacy_at_satisfied_scores_full_points() -> None:
    result = score_indicator(weighted_indicator(), {"share": 2, "change": 20})
    assert result.score == 2.0
    assert result.parts[0].reason.startswith(
        "部分a：占比2%，功效系数d=100.0；变动幅度20%，功效系数d=100.0；加权d=100.0，得2分"
    )


def test_weighted_efficacy_mixes_terms() -> None:
    # d(占比 1%) = 80, d(变动 −20%) = 60 → 0.6×80 + 0.4×60 = 72 → 2 × 0.72 = 1.44
    assert score_indicator(weighted_indicator(), {"share": 1, "change": -20}).score == 1.44
    # 求平均: 0.5×80 + 0.5×60 = 70 → 1.4
    assert score_indicator(weighted_indicator((0.5, 0.5)), {"share": 1, "change": -20}).score == 1.4
    # one term unanswered: that term scores 0, the other counts with its weight
    half = score_indicator(weighted_indicator(), {"share": 2})
    assert half.score == 1.2 and half.missing == ("change",) and "未填报" in half.reason


def test_efficacy_sum_measure() -> None:
    ind = indicator(
        [
            part(
                "efficacy",
                points=3,
                measure={"sum": [{"fact": "n1", "weight": 3}, {"fact": "n2", "weight": 2}]},
                bounds={"satisfied": 10, "allowed": 0},
            )
        ],
        [fact("n1", "count"), fact("n2", "count")],
        3,
    )
    assert score_indicator(ind, {"n1": 2, "n2": 2}).score == 3.0
    assert score_indicator(ind, {"n1": 1, "n2": 0}).score == round2(3 * (60 + 40 * 0.3) / 100)


@pytest.mark.parametrize(
    ("x", "score"),
    [(100, 15), (99.7, 14), (99.5, 14), (99.49, 13), (99.0, 13), (95, 5), (92.5, 0), (80, 0)],
)
def test_step_down_ceil(x: float, score: float) -> None:
    ind = indicator(
        [part("step_down", fact="rate", points=15, full_at=100, step=0.5, each=1, rounding="ceil")],
        [fact("rate", "percent")],
        15,
    )
    assert score_indicator(ind, {"rate": x}).score == score


def test_step_down_reasons() -> None:
    ind = indicator(
        [part("step_down", fact="rate", points=15, full_at=100, step=0.5, each=1)],
        [fact("rate", "percent")],
        15,
    )
    assert score_indicator(ind, {"rate": 100}).reason == "部分a100%，达到100%，得15分"
    assert score_indicator(ind, {"rate": 99.7}).reason == (
        "部分a99.7%，低于100%，每下降0.5%扣1分，按1档计，扣1分，得14分"
    )
    assert score_indicator(ind, {"rate": 50}).reason.endswith("扣完为止，得0分")


def test_step_down_floor() -> None:
    ind = indicator(
        [part("step_down", fact="rate", points=20, full_at=98, step=0.5, each=1, rounding="floor")],
        [fact("rate", "percent")],
        20,
    )
    assert score_indicator(ind, {"rate": 97.7}).score == 20
    assert score_indicator(ind, {"rate": 97.5}).score == 19


TIERS = [{"min": 3, "points": 1}, {"min": 1, "points": 0.5}]


@pytest.mark.parametrize(("n", "score"), [(0, 0), (1, 0.5), (2, 0.5), (3, 1), (30, 1)])
def test_tiers_boundaries(n: int, score: float) -> None:
    ind = indicator([part("tiers", fact="std", tiers=TIERS)], [fact("std", "count", unit="项")], 1)
    assert score_indicator(ind, {"std": n}).score == score


def test_tiers_reasons() -> None:
    ind = indicator([part("tiers", fact="std", tiers=TIERS)], [fact("std", "count", unit="项")], 1)
    assert score_indicator(ind, {"std": 2}).reason == "部分a2项，得0.5分（达到3项可得1分）"
    assert (
        score_indicator(ind, {"std": 0}).reason == "部分a0项，未达到1项，不得分（达到1项可得0.5分）"
    )
    assert score_indicator(ind, {"std": 4}).reason == "部分a4项，得1分"


def test_tiers_lower_is_better() -> None:
    ind = indicator(
        [part("tiers", fact="r", tiers=[{"max": 1, "points": 2}, {"max": 3, "points": 1}])],
        [fact("r", "number")],
        2,
    )
    assert [score_indicator(ind, {"r": x}).score for x in (0.5, 1, 2, 3, 3.1)] == [2, 2, 1, 1, 0]


def test_per_unit_cap_and_indicator_cap() -> None:
    ind = indicator(
        [
            part("per_unit", "a", fact="nat", each=2, cap=4),
            part("per_unit", "b", fact="prov", each=1, cap=2),
            part("per_unit", "c", fact="city", each=0.5, cap=1),
        ],
        [
            fact("nat", "count", unit="次"),
            fact("prov", "count", unit="次"),
            fact("city", "count", unit="次"),
        ],
        4,
        cap=4,
    )
    result = score_indicator(ind, {"nat": 1, "prov": 5, "city": 1})
    assert [p.score for p in result.parts] == [2, 2, 0.5]
    assert result.parts[1].reason == "部分b5次，每次1分，合计5分，最高2分，按2分计"
    assert result.score == 4.0
    assert result.cap_reason == "各部分合计4.5分，累计不超过4分，按4分计"
    exact = score_indicator(ind, {"nat": 1, "prov": 2, "city": 0})
    assert exact.score == 4.0 and exact.cap_reason == ""


def test_cap_note_in_reason() -> None:
    ind = indicator(
        [
            part(
                "choice",
                fact="m",
                scores={"县委书记参会": 25, "县长参会": 15, "其他主要领导参会": 5},
            )
        ],
        [MEETING],
        15,
        cap=15,
        cap_note="评分方法最高25分，本项分值15分",
    )
    result = score_indicator(ind, {"m": 1})
    assert result.score == 15 and result.max == 15
    assert "累计不超过15分，按15分计（评分方法最高25分，本项分值15分）" in result.reason


@pytest.mark.parametrize(
    ("have", "score", "reason"),
    [
        ((True, True, True), 3, "部分a：各项齐全，得3分"),
        ((True, False, True), 2, "缺少1项（计量），扣1分，得2分"),
        ((False, False, True), 1, "缺少2项（标准、计量），扣2分，得1分"),
        ((False, False, False), 0, "缺少3项（标准、计量、品牌），扣完为止，得0分"),
    ],
)
def test_deduct_floored_at_zero(have: tuple[bool, bool, bool], score: float, reason: str) -> None:
    ind = indicator(
        [
            part(
                "deduct",
                facts=[
                    {"fact": "s", "label": "标准"},
                    {"fact": "m", "label": "计量"},
                    {"fact": "b", "label": "品牌"},
                ],
                each=1,
                points=3,
            )
        ],
        [fact("s", "bool"), fact("m", "bool"), fact("b", "bool")],
        3,
    )
    result = score_indicator(ind, dict(zip("smb", have, strict=True)))
    assert result.score == score and result.reason == reason


def test_deduct_floor_with_more_items_than_points() -> None:
    ind = indicator(
        [part("deduct", facts=[f"f{i}" for i in range(9)], each=0.5, points=3)],
        [fact(f"f{i}", "bool") for i in range(9)],
        3,
    )
    answers = {f"f{i}": i < 2 for i in range(9)}
    assert score_indicator(ind, answers).score == 0
    answers = {f"f{i}": i >= 2 for i in range(9)}
    assert score_indicator(ind, answers).score == 2


def test_cases_first_match_wins() -> None:
    ind = indicator(
        [
            part(
                "cases",
                cases=[
                    {
                        "when": {
                            "all": [
                                "policy",
                                "activity",
                                {"fact": "units", "op": ">=", "value": 100},
                            ]
                        },
                        "points": 1,
                        "label": "示范数量达标",
                    },
                    {
                        "when": {"all": ["policy", "activity"]},
                        "points": 0.5,
                        "label": "出台政策并开展活动",
                    },
                ],
            )
        ],
        [fact("policy", "bool"), fact("activity", "bool"), fact("units", "count")],
        1,
    )
    assert score_indicator(ind, {"policy": True, "activity": True, "units": 100}).score == 1
    half = score_indicator(ind, {"policy": True, "activity": True, "units": 99})
    assert half.score == 0.5
    assert half.reason == "部分a：出台政策并开展活动，得0.5分（示范数量达标可得1分）"
    none = score_indicator(ind, {"policy": False, "activity": True, "units": 100})
    assert none.score == 0 and "不符合得分条件" in none.reason


def test_cases_with_any_not_and_in() -> None:
    ind = indicator(
        [
            part(
                "cases",
                cases=[
                    {"when": {"fact": "m", "in": ["县委书记参会"]}, "points": 2},
                    {
                        "when": {
                            "any": [
                                {"fact": "m", "op": "==", "value": "县长参会"},
                                {
                                    "not": {
                                        "fact": "m",
                                        "in": ["县委书记参会", "县长参会", "未召开"],
                                    }
                                },
                            ]
                        },
                        "points": 1,
                    },
                ],
            )
        ],
        [MEETING],
        2,
    )
    assert [
        score_indicator(ind, {"m": o}).score
        for o in ("县委书记参会", "县长参会", "其他主要领导参会", "未召开")
    ] == [2, 1, 1, 0]


def test_group_cap() -> None:
    ind = indicator(
        [
            part(
                "group",
                "g",
                cap=2,
                parts=[
                    part("per_unit", "g1", fact="intl", each=2, cap=3),
                    part("per_unit", "g2", fact="natl", each=1.5, cap=3),
                ],
            ),
            part(
                "tiers", "h", fact="pilot", tiers=[{"min": 3, "points": 2}, {"min": 1, "points": 1}]
            ),
        ],
        [fact("intl", "count"), fact("natl", "count"), fact("pilot", "count")],
        3,
        cap=3,
    )
    result = score_indicator(ind, {"intl": 1, "natl": 1, "pilot": 0})
    group = result.parts[0]
    assert group.score == 2 and group.max == 2
    assert [c.score for c in group.children] == [2, 1.5]
    assert "小计3.5分，最高2分，按2分计" in group.reason
    assert result.score == 2
    assert score_indicator(ind, {"intl": 1, "natl": 1, "pilot": 5}).score == 3


# --- missing answers, 合理缺项, veto ------------------------------------------------------------


def test_unanswered_parts_score_zero_with_reason() -> None:
    ind = indicator(
        [
            part("bool", "a", fact="x", points=1),
            part("deduct", "b", facts=["y", "z"], each=0.5, points=1),
        ],
        [fact("x", "bool"), fact("y", "bool"), fact("z", "bool")],
        2,
    )
    empty = score_indicator(ind, {})
    assert empty.score == 0
    assert empty.missing == ("x", "y", "z")
    assert all(p.unanswered and "未填报" in p.reason for p in empty.parts)
    partial = score_indicator(ind, {"y": True, "x": None})
    assert partial.parts[1].score == 0.5
    assert partial.parts[1].reason == "缺少1项（z），扣0.5分，得0.5分（未填报：z，按未达到计）"
    assert partial.missing == ("x", "z")


def test_na_rule_full_and_exclude() -> None:
    ind = indicator(
        [part("bool", "a", fact="x", points=2)],
        [fact("x", "bool"), fact("no_port", "bool")],
        2,
        na_when="no_port",
    )
    full = score_indicator(ind, {"no_port": True})
    assert (full.score, full.max, full.na) == (2, 2, True)
    assert full.reason == "部分a：合理缺项，按满分计"
    excluded = score_indicator(ind, {"no_port": True}, na_treatment="exclude")
    assert (excluded.score, excluded.max) == (0, 0)
    assert score_indicator(ind, {"no_port": False, "x": False}).score == 0
    with pytest.raises(ScoringError):
        score_indicator(ind, {}, na_treatment="ignore")


def test_na_part() -> None:
    ind = indicator(
        [
            part("bool", "a", fact="x", points=1),
            part("bool", "b", fact="y", points=1, na_when="none"),
        ],
        [fact("x", "bool"), fact("y", "bool"), fact("none", "bool")],
        2,
    )
    assert score_indicator(ind, {"x": True, "none": True}).score == 2
    excluded = score_indicator(ind, {"x": True, "none": True}, na_treatment="exclude")
    assert (excluded.score, excluded.max) == (1, 1)


VETO = indicator(
    [part("veto", "a", when={"any": ["accident", "fraud"]})],
    [fact("accident", "bool"), fact("fraud", "bool")],
    0,
    ind_id="0",
    kind="veto",
    level1="",
)
PERFECT = indicator([part("bool", "a", fact="ok", points=10)], [fact("ok", "bool")], 10, ind_id="1")


def test_veto_disqualifies_a_perfect_score() -> None:
    fw = framework(VETO, PERFECT, pass_line=5)
    clean = score_framework(fw, {"ok": True, "accident": False, "fraud": False})
    assert (clean.total, clean.passed, clean.disqualified) == (10, True, False)
    vetoed = score_framework(fw, {"ok": True, "accident": True})
    assert vetoed.total == 10
    assert vetoed.disqualified and vetoed.passed is False
    assert vetoed.vetoes == ("一票否决：部分a，取消申报资格",)
    assert "取消申报资格" in vetoed.status


def test_rejection_wording() -> None:
    rejection = indicator(
        [part("veto", "a", when="late")],
        [fact("late", "bool")],
        0,
        ind_id="0",
        kind="rejection",
        level1="",
    )
    result = score_framework(framework(rejection, PERFECT), {"late": True})
    assert result.vetoes == ("不予受理：部分a，取消申报资格",)


# --- frameworks -------------------------------------------------------------------------------


def small_framework() -> Framework:
    return framework(
        VETO,
        indicator(
            [
                part("bool", "a", fact="i1", points=2),
                part("choice", "b", fact="m", scores=MEETING_SCORES),
            ],
            [fact("i1", "bool"), MEETING],
            4,
            ind_id="1",
            level1="保障",
            level2="组织",
        ),
        indicator(
            [
                part(
                    "efficacy",
                    "b",
                    points=1,
                    measure={"fact": "cov"},
                    gate={"min": 90},
                    bounds={"satisfied": 100, "allowed": 90},
                )
            ],
            [fact("cov", "percent")],
            1,
            ind_id="2",
            level1="保障",
            level2="计量",
        ),
        indicator(
            [part("per_unit", "a", fact="hon", each=3, cap=9)],
            [fact("hon", "count", unit="个")],
            9,
            ind_id="3",
            level1="成效",
        ),
        pass_line=10,
    )


def test_framework_totals_subtotals_and_gaps() -> None:
    fw = small_framework()
    result = score_framework(
        fw, {"i1": True, "m": "县长参会", "cov": 95, "hon": 1, "accident": False}
    )
    assert (result.total, result.max) == (6.8, 14)
    assert result.passed is False
    assert [(s.level1, s.level2, s.score, s.max) for s in result.subtotals] == [
        ("保障", None, 3.8, 5),
        ("保障", "组织", 3, 4),
        ("保障", "计量", 0.8, 1),
        ("成效", None, 3, 9),
    ]
    assert [(g.indicator, g.part, g.points) for g in result.gaps] == [
        ("3", "a", 6),
        ("1", "b", 1),
        ("2", "b", 0.2),
    ]
    assert result.gaps[1].action == "做好b，可再得1分"
    assert result.gaps[2].action == "做好b，部分b要达到100%，可再得0.2分"
    assert result.gaps[2].estimated
    assert result.estimated
    assert result.missing == ("fraud",)
    assert result.total == round2(sum(s.score for s in result.indicators))


def test_gaps_respect_indicator_cap() -> None:
    ind = indicator(
        [
            part("per_unit", "a", fact="n1", each=2, cap=4),
            part("per_unit", "b", fact="n2", each=1, cap=2),
        ],
        [fact("n1", "count"), fact("n2", "count")],
        4,
        cap=4,
    )
    result = score_framework(framework(ind), {"n1": 1, "n2": 1})
    assert result.total == 3
    assert [(g.part, g.points) for g in result.gaps] == [("a", 1), ("b", 1)]


def test_gap_departments_and_department_filter() -> None:
    fw = small_framework()
    units = {"1": ["县委办", "县市场监管局"], "2": ["县市场监管局"], "3": ["县工信局"]}
    answers = {"i1": True, "m": "县长参会", "cov": 95, "hon": 1}
    result = score_framework(fw, answers, units_for=lambda i: units.get(i, []))
    assert result.gaps[0].departments == ("县工信局",)
    mine = score_framework(
        fw, answers, units_for=lambda i: units.get(i, []), department="市场监管局"
    )
    assert [s.indicator for s in mine.indicators] == ["1", "2"]
    assert mine.department is not None
    assert (mine.department.score, mine.department.max) == (3.8, 5)
    assert mine.department.share == round(5 / 14, 4)
    assert (mine.total, mine.max) == (3.8, 5)


def test_plan_responsible_units_are_the_default() -> None:
    fw = small_framework()
    plan = Plan(
        id="p",
        framework="t",
        source="x",
        name="方案",
        county="某县",
        responsible={"3": ("县工信局",)},
    )
    result = score_framework(fw, {"hon": 0}, plan=plan, department="工信局")
    assert [s.indicator for s in result.indicators] == ["3"]


def test_plan_and_explicit_efficacy_bounds() -> None:
    fw = small_framework()
    plan = Plan(
        id="p",
        framework="t",
        source="x",
        name="方案",
        county="某县",
        efficacy={"2.b": {"satisfied": 96, "allowed": 80}},
    )
    by_plan = score_framework(fw, {"cov": 95}, plan=plan)
    assert by_plan.indicators[2].score == round2((60 + 40 * 15 / 16) / 100) == 0.98
    assert "按方案设定" in by_plan.indicators[2].reason
    explicit = score_framework(fw, {"cov": 95}, plan=plan, bounds={"2.b": Bounds(95, 90)})
    assert explicit.indicators[2].score == 1.0
    with pytest.raises(RuleError) as info:
        score_framework(fw, {}, bounds={"2.x": Bounds(95, 90)})
    assert info.value.path == "efficacy.2.x"
    with pytest.raises(RuleError):
        score_framework(fw, {}, bounds={"2.b": Bounds(80, 90)})


def test_weighted_override_by_term() -> None:
    fw = framework(weighted_indicator())
    result = score_framework(fw, {"share": 1, "change": 20}, bounds={"10.a.1": Bounds(1, 0)})
    assert result.total == 2.0
    with pytest.raises(RuleError):
        score_framework(fw, {}, bounds={"10.a": Bounds(1, 0)})


def test_bad_answers_raise_answer_error() -> None:
    with pytest.raises(AnswerError) as info:
        score_framework(small_framework(), {"cov": "很多"})
    assert info.value.fact == "cov"


def test_string_answers_are_parsed() -> None:
    result = score_framework(
        small_framework(), {"i1": "是", "m": "1", "cov": "百分之百", "hon": "三个"}
    )
    assert result.total == 14


def test_best_and_empty_answers() -> None:
    fw = small_framework()
    best = best_answers(fw)
    assert best["accident"] is False and best["m"] == "县委书记参会" and best["hon"] == 3
    result = score_framework(fw, best)
    assert result.total == 14 and not result.disqualified and result.passed and not result.gaps
    assert score_framework(fw, {}).total == 0
    assert set(answer_template(fw)) == set(framework_facts(fw))


def test_to_dict_is_json() -> None:
    result = score_framework(small_framework(), {"i1": True, "cov": 91})
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert data["indicators"][1]["reason"].startswith("部分a：是，得2分")
    assert data["gaps"][0] == {
        "framework": "t",
        "indicator": "2",
        "title": "指标2",
        "part": "b",
        "label": "部分b",
        "points": 0.36,
        "action": "做好b，部分b要达到100%，可再得0.36分",
        "departments": [],
        "estimated": True,
    }
    assert data["status"] == "总分2.64分（满分14分），未达到10分的合格线"


# --- checklist systems --------------------------------------------------------------------------


def checklist_framework() -> Framework:
    def item(
        ind_id: str, lines: tuple[Line, ...] = (), deadline: date | None = None, **extra: Any
    ) -> Indicator:
        return Indicator(
            framework="c",
            id=ind_id,
            kind="indicator",
            level1="一、组织",
            level2=None,
            title=f"任务{ind_id}",
            points=0,
            criteria="",
            editorial=Editorial(deadline_date=deadline),
            lines=lines,
            **extra,
        )

    bonus = indicator(
        [
            part(
                "choice",
                "a",
                fact="praise",
                scores={"上级党委、政府主要领导批示": 2, "上级其他领导批示": 1},
            ),
            part("bool", "b", fact="school", points=2),
        ],
        [
            fact(
                "praise", "choice", options=["上级党委、政府主要领导批示", "上级其他领导批示", "无"]
            ),
            fact("school", "bool"),
        ],
        4,
        ind_id="21",
        kind="bonus",
        level1="加分项",
    )
    lines = (
        Line("内容一", ("1.任务甲", "2.任务乙"), "县委办、市场监管局"),
        Line("内容二", ("内容二",), "县创建办公室"),
        Line("内容三", (), ""),  # an empty 工作任务 cell (Henan item 11): no task
    )
    return Framework(
        id="c",
        name="清单",
        source="x",
        total_points=None,
        pass_line=None,
        scoring="checklist",
        levels=(Level("一、组织", None), Level("加分项", None)),
        indicators={
            "1": item("1", lines),
            "2": item(
                "2", deadline=date(2019, 12, 31), lead="市质量强市及品牌办", support="市发改委"
            ),
            "3": item("3", deadline=date(2030, 1, 1), lead="市质监局"),
            "21": bonus,
        },
    )


def test_checklist_completion_overdue_and_bonus() -> None:
    fw = checklist_framework()
    facts = framework_facts(fw)
    assert {"1.1", "1.2", "1.3", "2", "3", "1.1.date", "praise"} <= set(facts)
    assert "1.4" not in facts
    answers = {
        "1.1": "是",
        "1.2": False,
        "1.3.date": "2019年6月",
        "2": "否",
        "praise": "上级其他领导批示",
        "school": True,
    }
    result = score_framework(fw, answers, today=date(2020, 1, 1))
    report = result.checklist
    assert report is not None
    assert [(e.key, e.done) for e in report.entries] == [
        ("1.1", True),
        ("1.2", False),
        ("1.3", True),
        ("2", False),
        ("3", None),
    ]
    assert (report.done, report.total, report.percent) == (2, 5, 40.0)
    assert [(i.indicator, i.done, i.total) for i in report.items] == [
        ("1", 2, 3),
        ("2", 0, 1),
        ("3", 0, 1),
    ]
    assert [e.key for e in report.overdue] == ["2"]
    assert report.entries[2].text == "内容二" and report.entries[2].done_on == "2019-06"
    assert result.bonus == 3 and result.total == 3
    assert [(g.indicator, g.part, g.points) for g in result.gaps] == [("21", "a", 1)]
    late = score_framework(fw, {"2.date": "2020-02-01"}, today=date(2020, 3, 1)).checklist
    assert late is not None and late.entries[3].late and not late.entries[3].overdue
    assert all(v is True for k, v in best_answers(fw).items() if k[0].isdigit())


def test_checklist_department_filter() -> None:
    fw = checklist_framework()
    result = score_framework(fw, {}, department="市质监局")
    assert result.checklist is not None
    assert [e.key for e in result.checklist.entries] == ["3"]


# --- property tests ---------------------------------------------------------------------------


@st.composite
def random_part(
    draw: st.DrawFn, prefix: str, depth: int = 0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    methods = [
        "bool",
        "choice",
        "tiers",
        "per_unit",
        "deduct",
        "step_down",
        "efficacy",
        "weighted",
        "cases",
    ]
    if depth == 0:
        methods.append("group")
    method = draw(st.sampled_from(methods))
    pts = st.sampled_from([0.25, 0.5, 1, 2, 3])
    if method == "bool":
        return part("bool", prefix, fact=f"{prefix}_b", points=draw(pts)), [
            fact(f"{prefix}_b", "bool")
        ]
    if method == "choice":
        options = ["甲", "乙", "丙"]
        scores = {o: draw(st.sampled_from([0, 0.5, 1, 2])) for o in options}
        scores["甲"] = max(scores["甲"], 0.5)
        return part("choice", prefix, fact=f"{prefix}_c", scores=scores), [
            fact(f"{prefix}_c", "choice", options=options)
        ]
    if method == "tiers":
        bounds = sorted(
            draw(st.lists(st.integers(1, 20), min_size=1, max_size=3, unique=True)), reverse=True
        )
        points = sorted(
            draw(
                st.lists(st.sampled_from([0.5, 1, 2]), min_size=len(bounds), max_size=len(bounds))
            ),
            reverse=True,
        )
        tiers = [{"min": b, "points": p} for b, p in zip(bounds, points, strict=True)]
        return part("tiers", prefix, fact=f"{prefix}_n", tiers=tiers), [
            fact(f"{prefix}_n", "count")
        ]
    if method == "per_unit":
        each = draw(st.sampled_from([0.5, 1, 2]))
        cap = each * draw(st.integers(1, 4)) + draw(st.sampled_from([0, 0.25]))
        return part("per_unit", prefix, fact=f"{prefix}_n", each=each, cap=cap), [
            fact(f"{prefix}_n", "count")
        ]
    if method == "deduct":
        n = draw(st.integers(1, 4))
        ids = [f"{prefix}_d{i}" for i in range(n)]
        return (
            part(
                "deduct", prefix, facts=ids, each=draw(st.sampled_from([0.5, 1])), points=draw(pts)
            ),
            [fact(i, "bool") for i in ids],
        )
    if method == "step_down":
        return (
            part(
                "step_down",
                prefix,
                fact=f"{prefix}_p",
                points=draw(st.sampled_from([5, 10, 15])),
                full_at=draw(st.sampled_from([95, 98, 100])),
                step=draw(st.sampled_from([0.5, 1])),
                each=draw(st.sampled_from([1, 2])),
            ),
            [fact(f"{prefix}_p", "percent")],
        )
    if method == "efficacy":
        allowed = draw(st.sampled_from([0, 50, 80, 90]))
        gate = {"gate": {"min": allowed}} if draw(st.booleans()) else {}
        return (
            part(
                "efficacy",
                prefix,
                points=draw(pts),
                measure={"fact": f"{prefix}_p"},
                bounds={"satisfied": 100, "allowed": allowed},
                **gate,
            ),
            [fact(f"{prefix}_p", "percent")],
        )
    if method == "weighted":
        w = draw(st.sampled_from([(0.6, 0.4), (0.5, 0.5)]))
        terms = [
            {
                "weight": w[0],
                "measure": {"fact": f"{prefix}_x"},
                "bounds": {"satisfied": 100, "allowed": 0},
            },
            {
                "weight": w[1],
                "measure": {"fact": f"{prefix}_y"},
                "bounds": {"satisfied": 50, "allowed": 10},
            },
        ]
        return (
            part("efficacy", prefix, points=draw(pts), terms=terms),
            [
                fact(f"{prefix}_x", "number", min=0, max=1000),
                fact(f"{prefix}_y", "number", min=0, max=1000),
            ],
        )
    if method == "cases":
        flag, amount = f"{prefix}_b", f"{prefix}_n"
        high, low = draw(pts), draw(pts)
        cases = [
            {
                "when": {"all": [flag, {"fact": amount, "op": ">=", "value": 3}]},
                "points": max(high, low),
            },
            {
                "when": {"any": [flag, {"fact": amount, "op": ">", "value": 0}]},
                "points": min(high, low),
            },
        ]
        return part("cases", prefix, cases=cases), [fact(flag, "bool"), fact(amount, "count")]
    children = [
        draw(random_part(f"{prefix}{i}", depth + 1)) for i in range(draw(st.integers(1, 3)))
    ]
    total = sum(_max_of(c[0]) for c in children)
    cap = min(total, draw(st.sampled_from([total, _quarter(total / 2), max(total - 1, 0.25)])))
    return (
        part("group", prefix, cap=cap, parts=[c[0] for c in children]),
        [f for c in children for f in c[1]],
    )


def _quarter(value: float) -> float:
    """A multiple of 0.25, at least 0.25: points in the documents never have more decimals."""
    return max(0.25, round(value * 4) / 4)


def _max_of(raw: dict[str, Any]) -> float:
    method = raw["method"]
    if method == "choice":
        return float(max(raw["scores"].values()))
    if method == "tiers":
        return float(raw["tiers"][0]["points"])
    if method == "per_unit":
        return float(raw["cap"])
    if method == "cases":
        return float(max(c["points"] for c in raw["cases"]))
    if method == "group":
        return float(min(raw["cap"], sum(_max_of(p) for p in raw["parts"])))
    return float(raw["points"])


@st.composite
def random_indicator(draw: st.DrawFn) -> Indicator:
    parts = [draw(random_part(f"p{i}")) for i in range(draw(st.integers(1, 4)))]
    total = sum(_max_of(p[0]) for p in parts)
    capped = draw(st.booleans())
    points = min(total, draw(st.sampled_from([total, _quarter(total / 2), max(0.25, total - 1)])))
    points = points if capped else total
    keys: dict[str, Any] = {"cap": points, "cap_note": "累计不超过本项分值"} if capped else {}
    return indicator([p[0] for p in parts], [f for p in parts for f in p[1]], points, **keys)


def value_strategy(fact_obj: Any) -> st.SearchStrategy[Any]:
    if fact_obj.type == "bool":
        return st.booleans()
    if fact_obj.type == "choice":
        return st.sampled_from(fact_obj.options)
    if fact_obj.type == "count":
        return st.integers(0, 25)
    high = fact_obj.upper if fact_obj.upper is not None else 1000
    return st.floats(0, high, allow_nan=False).map(lambda x: round(x, 2))


@st.composite
def indicator_and_answers(
    draw: st.DrawFn, complete: bool = False
) -> tuple[Indicator, dict[str, Any]]:
    ind = draw(random_indicator())
    answers = {}
    for f in ind.facts:
        if complete or draw(st.booleans()):
            answers[f.id] = draw(value_strategy(f))
    return ind, answers


PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(indicator_and_answers())
def test_score_is_within_zero_and_points(case: tuple[Indicator, dict[str, Any]]) -> None:
    ind, answers = case
    result = score_indicator(ind, answers)
    assert 0 <= result.score <= ind.points + 1e-9
    assert result.max == ind.points
    assert ind.rule is not None and result.score <= ind.rule.limit + 1e-9
    for p in result.parts:
        assert 0 <= p.score <= p.max + 1e-9
        if p.children:
            assert p.score <= p.max + 1e-9 and sum(c.score for c in p.children) + 1e-9 >= p.score


@PROPS
@given(indicator_and_answers())
def test_total_is_the_capped_sum_of_parts(case: tuple[Indicator, dict[str, Any]]) -> None:
    ind, answers = case
    result = score_indicator(ind, answers)
    raw = sum(p.score for p in result.parts)
    assert result.score == round2(min(raw, result.max))
    assert bool(result.cap_reason) == (raw > result.max + 1e-9)
    fw = framework(ind)
    assert score_framework(fw, answers).total == result.score


@PROPS
@given(indicator_and_answers(complete=True), st.data())
def test_more_of_a_good_thing_never_lowers_the_score(
    case: tuple[Indicator, dict[str, Any]], data: st.DataObject
) -> None:
    ind, answers = case
    improvable = [f for f in ind.facts if f.type != "choice"]
    if not improvable:
        return
    target = data.draw(st.sampled_from(improvable))
    better = dict(answers)
    if target.type == "bool":
        better[target.id] = True
    elif target.type == "count":
        better[target.id] = answers[target.id] + data.draw(st.integers(1, 10))
    else:
        high = target.upper if target.upper is not None else 1000
        better[target.id] = data.draw(st.floats(answers[target.id], high, allow_nan=False))
    assert score_indicator(ind, better).score >= score_indicator(ind, answers).score - 1e-9


@PROPS
@given(random_indicator())
def test_best_answers_score_full_points(ind: Indicator) -> None:
    fw = framework(ind)
    result = score_framework(fw, best_answers(fw))
    assert result.total == round2(ind.points)
    assert not result.gaps
    assert score_framework(fw, {}).total == 0

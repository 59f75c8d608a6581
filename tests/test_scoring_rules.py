"""Fact declarations and rules: parsing, validation errors that name the path, rule maxima."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from knowledge.errors import KnowledgeError, RuleError
from knowledge.model import Editorial, Indicator
from knowledge.rules import (
    BoolPart,
    CasesPart,
    ChoicePart,
    DeductPart,
    EfficacyPart,
    Fact,
    GroupPart,
    PerUnitPart,
    Rule,
    StepDownPart,
    TiersPart,
    VetoPart,
    describe_rule,
    parse_facts,
    parse_rule,
)


def fact(fid: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"id": fid, "type": kind, "question": f"{fid}？", **extra}


FACTS = parse_facts(
    [
        fact("b1", "bool"),
        fact("b2", "bool"),
        fact("b3", "bool"),
        fact("n1", "count", unit="项"),
        fact("p1", "percent"),
        fact("p2", "percent", min=-100, max=1000),
        fact("x1", "number"),
        fact("c1", "choice", options=["县委书记参会", "县长参会", "其他主要领导参会", "未召开"]),
        fact("t1", "text"),
    ],
    "indicators[0].facts",
)
FM = {f.id: f for f in FACTS}


def part(method: str, pid: str = "a", **keys: Any) -> dict[str, Any]:
    return {"id": pid, "label": f"部分{pid}", "action": f"做好{pid}", "method": method, **keys}


def rule(*parts: dict[str, Any], **keys: Any) -> dict[str, Any]:
    return {"parts": list(parts), **keys}


def parse(raw: dict[str, Any], points: float = 2) -> Rule:
    return parse_rule(raw, FM, points, "indicators[5].rule")


def error_of(raw: object, points: float = 2) -> RuleError:
    with pytest.raises(RuleError) as info:
        parse_rule(raw, FM, points, "indicators[5].rule")
    return info.value


# --- facts ------------------------------------------------------------------------------------


def test_parse_facts_reads_every_key() -> None:
    [f] = parse_facts(
        [
            {
                "id": "i6_meeting",
                "type": "choice",
                "options": ["县委书记参会", "未召开"],
                "question": "是否召开专题会议？",
                "question_verbatim": True,
                "help": "看会议纪要",
            }
        ],
        "facts",
    )
    assert f == Fact(
        id="i6_meeting",
        type="choice",
        question="是否召开专题会议？",
        options=("县委书记参会", "未召开"),
        question_verbatim=True,
        help="看会议纪要",
    )


def test_fact_default_ranges() -> None:
    assert (FM["p1"].lower, FM["p1"].upper) == (0.0, 100.0)
    assert (FM["p2"].lower, FM["p2"].upper) == (-100.0, 1000.0)
    assert (FM["n1"].lower, FM["n1"].upper) == (0.0, None)
    assert (FM["x1"].lower, FM["x1"].upper) == (None, None)
    assert FM["p1"].shown_unit == "%"
    permille = Fact("m", "percent", "?", unit="‰")
    assert permille.upper == 1000.0


@pytest.mark.parametrize(
    ("raw", "path", "message"),
    [
        ("x", "facts", "应为列表"),
        ([fact("a", "bool", colour=1)], "facts[0].colour", "未知字段"),
        ([fact("a", "boolean")], "facts[0].type", "应为"),
        ([fact("A1", "bool")], "facts[0].id", "编号只能用"),
        ([{"id": "a", "type": "bool"}], "facts[0].question", "缺少字段"),
        ([fact("a", "choice")], "facts[0].options", "缺少字段"),
        ([fact("a", "choice", options=["一"])], "facts[0].options", "至少需要两个选项"),
        ([fact("a", "choice", options=["一", "一"])], "facts[0].options[1]", "重复的选项"),
        ([fact("a", "bool", options=["是", "否"])], "facts[0].options", "只有 choice"),
        ([fact("a", "count", min=5, max=1)], "facts[0].max", "上限低于下限"),
        ([fact("a", "count", min="5")], "facts[0].min", "应为数字"),
        ([fact("a", "bool", min=0)], "facts[0].min", "只有数值类型"),
        (
            [fact("a", "bool", question_verbatim="yes")],
            "facts[0].question_verbatim",
            "true 或 false",
        ),
        ([fact("a", "bool"), fact("a", "count")], "facts[1].id", "重复的事实 a"),
        (["a"], "facts[0]", "应为映射"),
    ],
)
def test_parse_facts_errors_name_the_path(raw: object, path: str, message: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_facts(raw, "facts")
    assert info.value.path == path
    assert message in info.value.message
    assert isinstance(info.value, KnowledgeError)
    assert str(info.value).startswith(path)


# --- valid rules ------------------------------------------------------------------------------


def test_every_method_parses_with_its_maximum() -> None:
    raw = rule(
        part("bool", "a", fact="b1", points=1),
        part("bool", "b", when={"all": ["b2", {"fact": "n1", "op": ">=", "value": 2}]}, points=1),
        part("choice", "c", fact="c1", scores={"县委书记参会": 2, "县长参会": 1}),
        part("tiers", "d", fact="n1", tiers=[{"min": 3, "points": 1}, {"min": 1, "points": 0.5}]),
        part("per_unit", "e", fact="n1", each=0.5, cap=1),
        part("deduct", "f", facts=["b1", {"fact": "b2", "label": "计量"}], each=0.5, points=1),
        part(
            "cases",
            "g",
            cases=[
                {"when": "b3", "points": 1, "label": "已推行"},
                {"when": {"not": "b3"}, "points": 0.5},
            ],
        ),
        part(
            "efficacy",
            "h",
            points=1,
            measure={"fact": "p1"},
            gate={"min": 90},
            bounds={"satisfied": 100, "allowed": 90},
            bounds_stated=True,
        ),
        part(
            "efficacy",
            "i",
            points=2,
            terms=[
                {
                    "weight": 0.6,
                    "measure": {"fact": "p1"},
                    "bounds": {"satisfied": 100, "allowed": 0},
                },
                {
                    "weight": 0.4,
                    "measure": {"sum": [{"fact": "n1", "weight": 3}, {"fact": "x1"}]},
                    "bounds": {"satisfied": 10, "allowed": 0},
                    "label": "变动幅度",
                },
            ],
        ),
        part("step_down", "j", fact="p1", points=15, full_at=100, step=0.5, each=1),
        part(
            "group",
            "k",
            cap=1,
            parts=[
                part("bool", "k1", fact="b1", points=1),
                part("bool", "k2", fact="b2", points=1),
            ],
        ),
    )
    parsed = parse(raw, points=27)
    kinds = [type(p) for p in parsed.parts]
    assert kinds == [
        BoolPart,
        BoolPart,
        ChoicePart,
        TiersPart,
        PerUnitPart,
        DeductPart,
        CasesPart,
        EfficacyPart,
        EfficacyPart,
        StepDownPart,
        GroupPart,
    ]
    assert [p.max_points for p in parsed.parts] == [1, 1, 2, 1, 1, 1, 1, 1, 2, 15, 1]
    assert parsed.max_points() == 27
    assert parsed.limit == 27
    assert parsed.facts()[:3] == ("b1", "b2", "n1")
    assert isinstance(parsed.part("k2"), BoolPart)
    deduct = parsed.part("f")
    assert isinstance(deduct, DeductPart)
    assert [item.label for item in deduct.items] == ["b1", "计量"]


def test_cap_and_cap_note_allow_a_part_above_points() -> None:
    raw = rule(
        part(
            "choice",
            "a",
            fact="c1",
            scores={"县委书记参会": 25, "县长参会": 15, "其他主要领导参会": 5},
        ),
        cap=15,
        cap_note="评分方法最高25分，超过本项分值15分，按15分计",
    )
    parsed = parse(raw, points=15)
    assert parsed.limit == 15 and parsed.max_points() == 15


def test_veto_rule_has_no_points() -> None:
    parsed = parse(rule(part("veto", "a", when={"any": ["b1", "b2"]})), points=0)
    assert parsed.is_veto and parsed.max_points() == 0
    assert isinstance(parsed.parts[0], VetoPart)


def test_part_ids_may_be_numbers_in_yaml() -> None:
    parsed = parse(rule({**part("bool", "x", fact="b1", points=2), "id": 1}))
    assert parsed.parts[0].id == "1"


def test_tiers_lower_is_better() -> None:
    parsed = parse(
        rule(part("tiers", fact="x1", tiers=[{"max": 1, "points": 2}, {"max": 3, "points": 1}]))
    )
    tiers = parsed.parts[0]
    assert isinstance(tiers, TiersPart) and tiers.lower_is_better


def test_parse_does_not_modify_its_input() -> None:
    raw = rule(part("group", "g", parts=[part("bool", "g1", fact="b1", points=2)], cap=2))
    before = copy.deepcopy(raw)
    parse(raw)
    assert raw == before


# --- invalid rules ------------------------------------------------------------------------------

P = "indicators[5].rule"


@pytest.mark.parametrize(
    ("raw", "points", "path", "message"),
    [
        ("x", 2, P, "应为映射"),
        ({"parts": []}, 2, f"{P}.parts", "应为非空列表"),
        ({}, 2, f"{P}.parts", "缺少字段"),
        (rule(part("bool", fact="b1", points=2), colour=1), 2, f"{P}.colour", "未知字段"),
        (rule(part("yes", fact="b1", points=2)), 2, f"{P}.parts[0].method", "未知的计分方法 yes"),
        (rule(part("bool", fact="b1", points=2, each=1)), 2, f"{P}.parts[0].each", "未知字段"),
        (
            rule({"id": "a", "method": "bool", "fact": "b1", "points": 2, "action": "x"}),
            2,
            f"{P}.parts[0].label",
            "缺少字段",
        ),
        (rule(part("bool", fact="b1")), 2, f"{P}.parts[0].points", "缺少字段"),
        (rule(part("bool", fact="b1", points="2")), 2, f"{P}.parts[0].points", "应为数字"),
        (rule(part("bool", fact="b1", points=True)), 2, f"{P}.parts[0].points", "应为数字"),
        (rule(part("bool", fact="b1", points=-2)), 2, f"{P}.parts[0].points", "不能为负数"),
        (rule(part("bool", fact="i6_x", points=2)), 2, f"{P}.parts[0].fact", "未声明的事实 i6_x"),
        (rule(part("bool", fact="n1", points=2)), 2, f"{P}.parts[0].fact", "应为 bool 类型"),
        (rule(part("bool", points=2)), 2, f"{P}.parts[0].fact", "二者之一"),
        (rule(part("bool", fact="b1", when="b2", points=2)), 2, f"{P}.parts[0].fact", "二者之一"),
        (
            rule(part("choice", fact="c1", scores={"县委书记参会": 2, "书记": 1})),
            2,
            f"{P}.parts[0].scores.书记",
            "不是事实 c1 的选项",
        ),
        (
            rule(part("choice", fact="b1", scores={"是": 2})),
            2,
            f"{P}.parts[0].fact",
            "应为 choice 类型",
        ),
        (rule(part("choice", fact="c1", scores=[2])), 2, f"{P}.parts[0].scores", "应为映射"),
        (
            rule(part("per_unit", fact="n1", each=1, cap=0.5)),
            0.5,
            f"{P}.parts[0].cap",
            "上限低于单项分值",
        ),
        (
            rule(part("per_unit", fact="p1", each=1, cap=2)),
            2,
            f"{P}.parts[0].fact",
            "应为 count 类型",
        ),
        (rule(part("per_unit", fact="n1", each=0, cap=2)), 2, f"{P}.parts[0].each", "应大于0"),
        (
            rule(part("group", parts=[part("bool", "g1", fact="b1", points=2)], cap=-1)),
            2,
            f"{P}.parts[0].cap",
            "上限不能低于0",
        ),
        (
            rule(part("group", parts=[part("veto", "g1", when="b1")])),
            0,
            f"{P}.parts[0].parts[0]",
            "不能有 veto",
        ),
        (
            rule(
                part("tiers", fact="n1", tiers=[{"min": 1, "points": 0.5}, {"min": 3, "points": 1}])
            ),
            1,
            f"{P}.parts[0].tiers[1].min",
            "从高到低",
        ),
        (
            rule(
                part("tiers", fact="n1", tiers=[{"min": 3, "points": 0.5}, {"min": 1, "points": 1}])
            ),
            1,
            f"{P}.parts[0].tiers[1].points",
            "分值应从高到低",
        ),
        (
            rule(
                part("tiers", fact="n1", tiers=[{"min": 3, "points": 1}, {"max": 1, "points": 0.5}])
            ),
            1,
            f"{P}.parts[0].tiers",
            "统一用 min",
        ),
        (
            rule(part("tiers", fact="n1", tiers=[{"points": 1}])),
            1,
            f"{P}.parts[0].tiers[0]",
            "min 或 max",
        ),
        (
            rule(part("tiers", fact="c1", tiers=[{"min": 1, "points": 1}])),
            1,
            f"{P}.parts[0].fact",
            "类型",
        ),
        (
            rule(part("deduct", facts=["b1", "n1"], each=0.5, points=2)),
            2,
            f"{P}.parts[0].facts[1]",
            "应为 bool 类型",
        ),
        (
            rule(part("deduct", facts=["b1", "b1"], each=0.5, points=2)),
            2,
            f"{P}.parts[0].facts",
            "重复列出",
        ),
        (
            rule(part("cases", cases=[{"when": {"fact": "c1", "in": ["书记"]}, "points": 2}])),
            2,
            f"{P}.parts[0].cases[0].when.in[0]",
            "不是事实 c1 的选项",
        ),
        (
            rule(
                part("cases", cases=[{"when": {"fact": "n1", "op": "=>", "value": 2}, "points": 2}])
            ),
            2,
            f"{P}.parts[0].cases[0].when.op",
            "应为",
        ),
        (
            rule(
                part(
                    "cases", cases=[{"when": {"fact": "n1", "op": ">=", "value": "2"}, "points": 2}]
                )
            ),
            2,
            f"{P}.parts[0].cases[0].when.value",
            "应为数字",
        ),
        (
            rule(
                part(
                    "cases", cases=[{"when": {"fact": "t1", "op": "==", "value": "x"}, "points": 2}]
                )
            ),
            2,
            f"{P}.parts[0].cases[0].when.fact",
            "类型",
        ),
        (
            rule(part("cases", cases=[{"when": {"all": []}, "points": 2}])),
            2,
            f"{P}.parts[0].cases[0].when.all",
            "非空列表",
        ),
        (
            rule(
                part(
                    "cases",
                    cases=[{"when": {"fact": "c1", "op": ">", "value": "未召开"}, "points": 2}],
                )
            ),
            2,
            f"{P}.parts[0].cases[0].when.op",
            "只能用 == 或 !=",
        ),
        (
            rule(
                part(
                    "efficacy",
                    points=2,
                    measure={"fact": "p1"},
                    bounds={"satisfied": 90, "allowed": 100},
                )
            ),
            2,
            f"{P}.parts[0].bounds",
            "x满意应高于x不允许",
        ),
        (
            rule(
                part(
                    "efficacy",
                    points=2,
                    measure={"fact": "p1"},
                    direction="lower",
                    bounds={"satisfied": 100, "allowed": 90},
                )
            ),
            2,
            f"{P}.parts[0].bounds",
            "x满意应低于x不允许",
        ),
        (
            rule(part("efficacy", points=2, measure={"fact": "p1"})),
            2,
            f"{P}.parts[0].bounds",
            "缺少字段",
        ),
        (
            rule(
                part(
                    "efficacy",
                    points=2,
                    measure={"fact": "c1"},
                    bounds={"satisfied": 1, "allowed": 0},
                )
            ),
            2,
            f"{P}.parts[0].measure.fact",
            "类型",
        ),
        (
            rule(
                part(
                    "efficacy",
                    points=2,
                    measure={"fact": "p1"},
                    gate={"max": 90},
                    bounds={"satisfied": 100, "allowed": 90},
                )
            ),
            2,
            f"{P}.parts[0].gate.max",
            "未知字段",
        ),
        (
            rule(
                part(
                    "efficacy",
                    points=2,
                    terms=[
                        {
                            "weight": 0.6,
                            "measure": {"fact": "p1"},
                            "bounds": {"satisfied": 100, "allowed": 0},
                        },
                        {
                            "weight": 0.3,
                            "measure": {"fact": "p2"},
                            "bounds": {"satisfied": 100, "allowed": 0},
                        },
                    ],
                )
            ),
            2,
            f"{P}.parts[0].terms",
            "权重合计应为1",
        ),
        (
            rule(
                part(
                    "efficacy",
                    points=2,
                    bounds={"satisfied": 100, "allowed": 0},
                    terms=[
                        {
                            "weight": 1,
                            "measure": {"fact": "p1"},
                            "bounds": {"satisfied": 100, "allowed": 0},
                        },
                    ],
                )
            ),
            2,
            f"{P}.parts[0].bounds",
            "各 term",
        ),
        (
            rule(part("step_down", fact="p1", points=2, full_at=100, step=0, each=1)),
            2,
            f"{P}.parts[0].step",
            "应大于0",
        ),
        (
            rule(
                part("step_down", fact="p1", points=2, full_at=100, step=1, each=1, rounding="up")
            ),
            2,
            f"{P}.parts[0].rounding",
            "ceil",
        ),
        (
            rule(part("step_down", fact="n1", points=2, full_at=100, step=1, each=1)),
            2,
            f"{P}.parts[0].fact",
            "类型",
        ),
        (
            rule(part("bool", fact="b1", points=1)),
            4,
            f"{P}.parts",
            "各部分最高分合计达不到指标分值 4",
        ),
        (
            rule(part("bool", "a", fact="b1", points=2), part("bool", "b", fact="b2", points=1)),
            2,
            f"{P}.cap",
            "需写明 cap",
        ),
        (rule(part("bool", fact="b1", points=3), cap=3), 2, f"{P}.cap", "高于指标分值 2"),
        (rule(part("bool", fact="b1", points=3), cap=1), 2, f"{P}.cap", "低于指标分值 2"),
        (rule(part("bool", fact="b1", points=3), cap=2), 2, f"{P}.parts[0]", "需写明 cap_note"),
        (
            rule(part("bool", "a", fact="b1", points=2), part("veto", "b", when="b2")),
            2,
            f"{P}.parts[1]",
            "一票否决",
        ),
        (
            rule(part("bool", "a", fact="b1", points=1), part("bool", "a", fact="b2", points=1)),
            2,
            f"{P}.parts",
            "重复的部分编号 a",
        ),
        (
            rule(part("bool", fact="b1", points=2, na_when="n1")),
            2,
            f"{P}.parts[0].na_when",
            "应为 bool 类型",
        ),
        (
            rule(part("bool", fact="b1", points=2), na_when="zz"),
            2,
            f"{P}.na_when",
            "未声明的事实 zz",
        ),
        (rule(part("veto", when="b1"), cap=0), 0, f"{P}.parts", "不能写 cap"),
        (rule(part("bool", "a.b", fact="b1", points=2)), 2, f"{P}.parts[0].id", "不能含"),
    ],
)
def test_rule_errors_name_the_path(raw: object, points: float, path: str, message: str) -> None:
    err = error_of(raw, points)
    assert err.path == path, err
    assert message in err.message, err


def test_group_cap_below_part_maxima_limits_the_group() -> None:
    raw = rule(
        part(
            "group",
            "g",
            cap=1,
            parts=[
                part("bool", "g1", fact="b1", points=1),
                part("bool", "g2", fact="b2", points=1),
            ],
        ),
        part("bool", "h", fact="b3", points=1),
    )
    parsed = parse(raw, points=2)
    assert parsed.parts[0].max_points == 1


def test_describe_rule_reads_every_method_back() -> None:
    raw = rule(
        part("bool", "a", fact="b1", points=1),
        part("choice", "c", fact="c1", scores={"县委书记参会": 2, "县长参会": 1}),
        part("tiers", "d", fact="n1", tiers=[{"min": 3, "points": 1}, {"min": 1, "points": 0.5}]),
        part("per_unit", "e", fact="n1", each=0.5, cap=1),
        part("deduct", "f", facts=["b1", {"fact": "b2", "label": "计量"}], each=0.5, points=1),
        part("cases", "g", cases=[{"when": "b3", "points": 1, "label": "已推行"}]),
        part(
            "efficacy",
            "h",
            points=1,
            measure={"fact": "p1"},
            gate={"min": 90},
            bounds={"satisfied": 100, "allowed": 90},
            bounds_stated=True,
        ),
        part("step_down", "j", fact="p1", points=15, full_at=100, step=0.5, each=1),
        part("group", "k", cap=1, parts=[part("bool", "k1", fact="b1", points=1)]),
        cap=20,
        cap_note="累计不超过20分。",
        na_when="b3",
    )
    parsed = parse(raw, points=20)
    ind = Indicator(
        framework="t",
        id="1",
        kind="indicator",
        level1="L",
        level2=None,
        title="t",
        points=20,
        criteria="",
        editorial=Editorial(),
        facts=FACTS,
        rule=parsed,
    )
    lines = {line["id"]: line["text"] for line in describe_rule(ind)}
    assert lines == {
        "a": "部分a：b1，得1分",
        "c": "部分c：县委书记参会2分；县长参会1分",
        "d": "部分d：达到3项得1分；达到1项得0.5分",
        "e": "部分e：每项0.5分，最高1分",
        "f": "部分f：1分，缺少一项扣0.5分，扣完为止（b1、计量）",
        "g": "部分g：已推行得1分",
        "h": "部分h：按功效系数法计算，满分1分（x满意=100%、x不允许=90%，低于90%不得分）",
        "j": "部分j：达到100%得15分，每下降0.5%扣1分，扣完为止",
        "k": "部分k：以下各项合计，最高1分",
        "k1": "部分k1：b1，得1分",
        "上限": "累计不超过20分",
        "缺项": "b3：是则按合理缺项处理",
    }

"""The plans' dates, rolling them to the campaign year, and reading the office's /deadline."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.deadlines import (
    DeadlineError,
    parse_deadline,
    plan_deadlines,
    roll_years,
    rolled,
    shift,
)
from knowledge.departments import DepartmentIndex
from knowledge.model import KnowledgeBase
from knowledge.responsibility import Responsibility

TODAY = date(2026, 9, 1)


def dates_of(kb: KnowledgeBase, plan_id: str) -> list:
    plan = kb.plan(plan_id)
    return plan_deadlines(plan, Responsibility(kb, plan))


def test_pingyin_materials_due_date(kb: KnowledgeBase) -> None:
    found = dates_of(kb, "pingyin")
    assert [(d.id, d.date, d.departments) for d in found] == [("materials", date(2022, 7, 26), None)]
    assert "2022年7月26日前" in found[0].text


def test_minquan_phases_are_its_deadlines_once(kb: KnowledgeBase) -> None:
    found = dates_of(kb, "minquan")
    ends = {p.end for p in kb.plan("minquan").phases if p.end}
    assert ends <= {d.date for d in found}
    assert not [d for d in found if d.source == "phase"]  # each phase end is already a deadline
    assert len({d.id for d in found}) == len(found)


def test_jinan_tasks_are_grouped_by_their_completion_day(kb: KnowledgeBase) -> None:
    found = [d for d in dates_of(kb, "jinan") if d.source == "task"]
    framework = kb.framework("jinan")
    dated = [i for i in framework.indicators.values() if i.editorial.deadline_date]
    assert sum(len(d.tasks) for d in found) == len(dated)
    end_2019 = next(d for d in found if d.date == date(2019, 12, 31))
    assert len(end_2019.tasks) == 108 and "市场监管局" in (end_2019.departments or ())
    for d in found:
        assert all(framework.indicators[t].editorial.deadline_date == d.date for t in d.tasks)


def test_rolling_moves_the_latest_date_into_the_campaign_year(kb: KnowledgeBase) -> None:
    for plan_id in ("pingyin", "minquan", "jinan"):
        found = dates_of(kb, plan_id)
        moved = rolled(found, 2026)
        assert max(d.date for d in moved).year == 2026
        years = {d.date.year - d.original.year for d in moved if d.original}
        assert len(years) == 1  # every date shifted by the same whole number of years
        assert [d.original for d in moved] == [d.date for d in found]
    pingyin = rolled(dates_of(kb, "pingyin"), 2026)[0]
    assert pingyin.date == date(2026, 7, 26) and pingyin.original == date(2022, 7, 26)
    jinan = {d.original: d.date for d in rolled(dates_of(kb, "jinan"), 2026)}
    assert jinan[date(2020, 12, 31)] == date(2026, 12, 31)
    assert jinan[date(2019, 12, 31)] == date(2025, 12, 31)


def test_no_campaign_year_keeps_the_dates(kb: KnowledgeBase) -> None:
    found = dates_of(kb, "minquan")
    assert rolled(found, None) == found
    assert roll_years([], 2026) == 0


def test_shift_keeps_29_february_in_the_month() -> None:
    assert shift(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert shift(date(2024, 2, 29), 4) == date(2028, 2, 29)


def test_parse_deadline_with_departments_through_aliases(kb: KnowledgeBase) -> None:
    index = DepartmentIndex(kb.departments)
    request = parse_deadline("2026-12-15 提交自评材料 县统计局 财政局、市场监督管理局", index, TODAY)
    assert request.date == date(2026, 12, 15)
    assert request.text == "提交自评材料"
    assert request.departments == ("统计局", "财政局", "市场监管局")
    everyone = parse_deadline("2026年12月15日 报送 创建工作总结", index, TODAY)
    assert everyone.text == "报送 创建工作总结" and everyone.departments is None
    assert parse_deadline("12月15日 材料", index, TODAY).date == date(2026, 12, 15)
    assert parse_deadline("3月1日 材料", index, TODAY).date == date(2027, 3, 1)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ("2026-12-15", "格式"),
        ("明天 提交材料", "不是日期"),
        ("2026-02-30 提交材料", "不存在"),
        ("2026-08-01 提交材料", "已经过去"),
    ],
)
def test_parse_deadline_problems(kb: KnowledgeBase, args: str, problem: str) -> None:
    with pytest.raises(DeadlineError, match=problem):
        parse_deadline(args, DepartmentIndex(kb.departments), TODAY)

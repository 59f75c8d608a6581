"""The office's numbers: Henan's task count, the 不予受理 text, /export times and order, /gaps."""

from __future__ import annotations

from bot.app import App
from handlers.office import _question_order, beijing_time
from knowledge.model import KnowledgeBase
from scoring.checklist import checklist_indicators, entries_of
from tests.messages import Person


def test_henan_has_the_documents_92_tasks(kb: KnowledgeBase) -> None:
    henan = kb.framework("henan")
    assert sum(len(entries_of(ind)) for ind in checklist_indicators(henan)) == 92
    assert [key for key, _, _ in entries_of(henan.indicators["11"])] == ["11.1", "11.2"]


def test_export_times_are_beijing_time() -> None:
    assert beijing_time("2026-05-12T01:30:00+00:00") == "2026-05-12 09:30"
    assert beijing_time("2026-12-31T18:05:09") == "2027-01-01 02:05"  # stored without zone: UTC
    assert beijing_time("坏数据") == "坏数据"


async def test_export_rows_follow_question_order(app: App) -> None:
    services = app.handler.services
    questions = services.questions("财政局")
    ids = [q.fact.id for q in questions]
    shuffled = [ids[2], ids[0], "unknown_fact", ids[1]]
    ordered = sorted(shuffled, key=lambda f: _question_order(services, "财政局", f))
    assert ordered == [ids[0], ids[1], ids[2], "unknown_fact"]


async def test_gaps_list_unanswered_items_with_points_in_plain_words(app: App) -> None:
    person = Person(app.handler)
    await person.say("/bind 财政局")
    await person.say("自评")
    await person.say("是")
    reply = await person.say("/gaps")
    assert "未答的题（答了可能得的分）：" in reply
    assert "10 " in reply and "答了最多可得2分" in reply
    assert "x满意" not in reply and "提高到" not in reply

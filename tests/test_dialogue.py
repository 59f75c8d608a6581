"""Conversations: follow-ups resolved against each person's context, in the core, the chat and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App
from knowledge.dialogue import IDLE_SECONDS, converse
from knowledge.errors import KnowledgeError
from knowledge.model import KnowledgeBase
from knowledge.qa import Librarian
from knowledge.vocabulary import synonym_table
from tests.dialogue_eval import DEV, HELDOUT, evaluate, in_process, load
from tests.messages import Person

ROOT = Path(__file__).resolve().parent.parent


def test_dev_set_floors(librarian: Librarian) -> None:
    conversations = load(DEV)
    assert len(conversations) >= 150
    report = evaluate(conversations, *in_process(librarian))
    assert report.rate("follow_up") >= 0.98, report.misses[:10]
    assert report.rate("first") >= 0.97, report.misses[:10]
    assert report.rate("clarify") == 1.0, report.misses[:10]
    assert report.rate("english") >= 0.97, report.misses[:10]


def test_heldout_floors(librarian: Librarian) -> None:
    if not HELDOUT.exists():
        pytest.skip("tests/data/dialogues_heldout.yaml not present")
    report = evaluate(load(HELDOUT), *in_process(librarian))
    assert report.rate("follow_up") >= 0.96, report.misses[:10]
    assert report.rate("first") >= 0.96, report.misses[:10]
    assert report.rate("english") >= 0.9, report.misses[:10]


def test_what_if_and_details_stay_on_the_indicator(librarian: Librarian) -> None:
    _, ctx = converse(librarian, "违法违规处置率怎么打分", None, now=0.0)
    what_if, ctx = converse(librarian, "处置率只有85%咋办", ctx, now=1.0)
    assert what_if.hits[0][0].id == "26" and "90%" in what_if.text
    _, ctx = converse(librarian, "湖南的特种设备安全怎么评", None, now=2.0)
    detail, ctx = converse(librarian, "一岗双责那块几分", ctx, now=3.0)  # not 济南第86项: the talk is about 湖南
    assert (detail.hits[0][0].framework, detail.hits[0][0].id) == ("hunan", "30")


def test_department_checks_without_this(librarian: Librarian) -> None:
    _, ctx = converse(librarian, "有满足工作需要的财政经费怎么得分", None, now=0.0)
    yes, ctx = converse(librarian, "是财政局牵头吗", ctx, now=1.0)
    assert yes.text.startswith("是") and yes.hits[0][0].id == "9"
    no, ctx = converse(librarian, "那归发改局吗", ctx, now=2.0)
    assert no.text.startswith("否") and no.hits[0][0].id == "9"


def test_bound_department_is_remembered_and_named_subjects_win(librarian: Librarian) -> None:
    _, ctx = converse(librarian, "本部门负责哪些指标", None, department="工信局", now=0.0)
    _, ctx = converse(librarian, "质量扶持政策要交什么材料", ctx, now=1.0)
    ours, ctx = converse(librarian, "这个是我们的活吗", ctx, now=2.0)  # the line leaves the department out
    assert ours.text.startswith("是") and ours.hits[0][0].id == "11"
    other, _ = converse(librarian, "质量投诉渠道呢，归我们单位吗", ctx, now=3.0)
    assert other.text.startswith("否") and other.hits[0][0].id == "22"


def test_jinan_heading_numbers(librarian: Librarian) -> None:
    listed, ctx = converse(librarian, "任务3.12有哪些", None, plan="jinan", now=0.0)
    assert [i.id for i, _ in listed.hits] == ["31", "32", "33"]
    lead, _ = converse(librarian, "谁牵头", ctx, plan="jinan", now=1.0)
    assert lead.intent == "owner" and [i.id for i, _ in lead.hits] == ["31", "32", "33"]
    award, _ = converse(librarian, "第4.19项是什么任务", ctx, plan="jinan", now=2.0)
    assert award.hits[0][0].id == "51"


def test_synonyms_reach_the_documents_words(librarian: Librarian) -> None:
    veto = librarian.ask("统计数据造假会一票否决吗")
    assert veto.text.startswith("是") and veto.hits[0][0].id == "0"
    assert librarian.ask("质量扶植政策几分").hits[0][0].id == "11"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("- {canonical: 不实}\n", "[0]"),
        ("- {canonical: 不实, variants: []}\n", "[0].variants"),
        ("- {canonical: 不实, variants: [造假]}\n- {canonical: 虚假, variants: [造假]}\n", "[1].variants[0]"),
        ("- {canonical: 不实, variants: [实]}\n", "[0].variants[0]"),
        ("canonical: 不实\n", ""),
        ("- {canonical: 不实, variants: [造假\n", ""),
    ],
)
def test_a_bad_synonym_file_is_named(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "synonyms.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        synonym_table(path)
    assert caught.value.file == "synonyms.yaml" and caught.value.path == where
    assert synonym_table(tmp_path / "absent.yaml") == {}


def test_slot_without_context_asks_back(librarian: Librarian) -> None:
    answer, context = converse(librarian, "多少分", None, now=0.0)
    assert answer.kind == "out_of_scope" and not answer.hits and answer.text.startswith("您问的是哪一项？")
    answer, _ = converse(librarian, "谁牵头", context, now=1.0)
    assert not answer.hits  # never 第6项 议事机构 as a guess


def test_follow_ups_keep_the_indicator_and_the_system(librarian: Librarian) -> None:
    first, ctx = converse(librarian, "湖南标准里质量月活动怎么评", None, now=0.0)
    assert (first.hits[0][0].framework, first.hits[0][0].id) == ("hunan", "9")
    sibling, ctx = converse(librarian, "政府质量奖呢", ctx, now=1.0)
    assert (sibling.hits[0][0].framework, sibling.hits[0][0].id) == ("hunan", "18")
    owner, ctx = converse(librarian, "归谁管", ctx, now=2.0)
    assert owner.intent == "owner" and owner.hits[0][0].id == "18"
    switched, _ = converse(librarian, "那山东体系呢", ctx, now=3.0)
    assert switched.hits[0][0].framework == "shandong"


def test_yes_no_check_answers_first(librarian: Librarian) -> None:
    _, ctx = converse(librarian, "质量投诉渠道", None, now=0.0)
    no, ctx = converse(librarian, "这个归财政局吗", ctx, now=1.0)
    assert no.text.startswith("否") and no.hits[0][0].id == "22"
    yes, _ = converse(librarian, "這個歸市場監管局嗎", ctx, now=2.0)
    assert yes.text.startswith("是")


def test_a_choice_is_answered_by_its_number(librarian: Librarian) -> None:
    _, ctx = converse(librarian, "湖南的标准化管理几分", None, now=0.0)
    offered, ctx = converse(librarian, "那山东体系呢", ctx, now=1.0)
    assert offered.choices
    picked, _ = converse(librarian, "2", ctx, now=2.0)
    assert picked.hits[0][0] == offered.choices[1] and picked.kind == "indicator"


def test_context_expires_after_the_idle_time(librarian: Librarian) -> None:
    _, ctx = converse(librarian, "质量文化活动怎么评分", None, now=100.0)
    alive, _ = converse(librarian, "多少分", ctx, now=100.0 + IDLE_SECONDS)
    assert alive.hits[0][0].id == "3"
    expired, _ = converse(librarian, "多少分", ctx, now=101.0 + IDLE_SECONDS)
    assert not expired.hits and expired.text.startswith("您问的是哪一项？")


def test_discrepancy_note_once_per_conversation(librarian: Librarian, kb: KnowledgeBase) -> None:
    ind = next(i for fw in kb.frameworks.values() for i in fw.indicators.values()
               if any(n.kind == "discrepancy" for n in i.editorial.notes) and i.framework == "shandong")
    first, ctx = converse(librarian, f"第{ind.id}项", None, now=0.0)
    assert "⚠ 文件差异" in first.text
    again, ctx = converse(librarian, "多少分", ctx, now=1.0)
    assert again.hits[0][0].id == ind.id and "⚠ 文件差异" not in again.text
    asked, _ = converse(librarian, "这个文件之间有什么差异", ctx, now=2.0)
    assert "⚠ 文件差异" in asked.text


async def test_two_people_in_one_group_never_mix(app: App) -> None:
    one = Person(app.handler, user="u1", chat_type="group")
    two = Person(app.handler, user="u2", name="李四", chat_type="group")
    assert "第3项" in await one.say("质量文化活动怎么评分")
    assert "您问的是哪一项" in await two.say("多少分")
    assert "第22项" in await two.say("质量投诉渠道")
    assert "第3项" in await one.say("归谁管")
    assert "第22项" in await two.say("要交什么")


async def test_chat_context_expires_with_the_clock(app: App) -> None:
    now = [datetime(2026, 5, 1, 9, tzinfo=UTC)]
    app.handler.services.now = lambda: now[0]
    person = Person(app.handler, chat_type="group")
    await person.say("质量文化活动怎么评分")
    now[0] += timedelta(seconds=IDLE_SECONDS + 1)
    assert "您问的是哪一项" in await person.say("多少分")


async def test_bound_department_and_choice_buttons(app: App) -> None:
    person = Person(app.handler, chat_type="group")
    await person.say("/bind 财政局")
    listed = await person.say("我们单位负责哪几项")
    assert "财政局涉及" in listed
    await person.say("湖南的标准化管理几分")
    await person.say("那山东体系呢")
    assert person.labels and person.labels[0].startswith("1.")
    assert "【山东·第" in await person.press(person.labels[0])


async def test_questions_about_the_current_question_and_after_pausing(app: App) -> None:
    person = Person(app.handler, chat_type="private")
    await person.say("/bind 财政局")
    await person.say("自评")
    explained = await person.say("这个是指啥")
    assert "怎么答" in explained and "没看懂" not in explained
    assert "怎么答" in await person.say("经费包括人员工资吗")
    await person.say("暂停")
    for word in ("是", "1", "上一题"):
        assert "发送“自评”继续" in await person.say(word)


def _cli(lines: list[str]) -> list[dict[str, object]]:
    run = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "--json", "--dialogue", "-"],
        input="\n".join(lines) + "\n", capture_output=True, text=True, cwd=ROOT, timeout=300, check=True,
    )
    return [json.loads(line) for line in run.stdout.splitlines()]


def test_cli_dialogue_contract() -> None:
    turns = [
        {"chat": "g1", "user": "u1", "text": "质量文化活动怎么评分", "department": None},
        {"chat": "g1", "user": "u2", "text": "多少分", "department": None},
        {"chat": "g1", "user": "u1", "text": "要准备什么材料", "department": None},
        {"chat": "g1", "user": "u1", "text": "我们单位负责哪几项", "department": "财政局"},
    ]
    out = _cli([json.dumps(t, ensure_ascii=False) for t in turns] + ["not json", "[1, 2]", '{"chat": "g1"}'])
    assert len(out) == 7
    assert set(out[0]) == {"question", "kind", "intent", "framework", "department", "hits", "answer"}
    assert out[0]["hits"][0]["id"] == "3"  # type: ignore[index]
    assert out[1]["kind"] == "out_of_scope" and out[1]["hits"] == []
    assert out[2]["hits"][0]["id"] == "3" and out[2]["intent"] == "evidence"  # type: ignore[index]
    assert out[3]["kind"] == "department" and out[3]["department"] == "财政局"
    assert all(o["kind"] == "out_of_scope" and o["answer"] for o in out[4:])

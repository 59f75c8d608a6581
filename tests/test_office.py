"""The office's commands: permissions, /progress, /gaps, /export (same numbers as `qcbot score`), /chart."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image

from bot.channels.console import ConsoleChannel
from bot.cli import main
from handlers.core import Reply
from handlers.reports.charts import DONE, TOTAL
from handlers.store import Actor
from knowledge.assignment import OFFICE
from knowledge.model import KnowledgeBase
from knowledge.qa import Librarian
from scoring.engine import framework_facts, score_framework
from scoring.samples import best_answers
from tests.messages import Person
from tests.reminder_helpers import Clock, County, at, county, open_app
from tests.test_charts import bands
from tests.test_cli_score import as_text

SHEETS = ["申请表答案", "指标得分", "部门进度", "时间节点", "未答问题", "证实性材料"]


@pytest.fixture
async def office(tmp_path: Path, kb: KnowledgeBase, librarian: Librarian) -> AsyncIterator[County]:
    clock = Clock(at("2026-12-01 10:00"))
    app, recorder = await open_app(tmp_path / "db" / "qcbot.db", kb, librarian, clock)
    yield await county(app, clock, recorder)
    await app.close()


def files_of(replies: list[Reply]) -> list[Path]:
    return [Path(f.path) for r in replies for f in r.files]


# --- permissions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["/progress", "/export", "/chart", "/deadline 2026-12-20 报送 统计局"])
async def test_a_liaison_is_refused_office_commands(office: County, command: str) -> None:
    reply = await office.zhang.say(command)
    assert "质量强县办（管理员）专用" in reply and "/myscore" in reply
    assert not office.zhang.last[0].files


async def test_every_admin_row_of_the_command_table_is_refused_centrally(office: County) -> None:
    from handlers.commands import COMMANDS

    admin_rows = [c for c in COMMANDS if c.admin]
    assert admin_rows
    for command in admin_rows:
        for text in (command.name, *command.words):
            assert "质量强县办（管理员）专用" in await office.zhang.say(text), text


async def test_an_unbound_stranger_is_refused_too(office: County) -> None:
    stranger = Person(office.app.handler, user="x9", name="路人")
    assert "质量强县办（管理员）专用" in await stranger.say("各部门进度")


async def test_a_liaison_sees_the_shared_answer_and_edits_their_own(office: County) -> None:
    for answer in ("自评", "120万元", "五十万人"):
        await office.zhang.say(answer)
    li = office.li
    await li.say("自评")
    await li.say("是")
    mine = await li.say("/myscore")
    assert "【财政局】" in mine and "28 质量监管人均经费 0.7/1分" in mine  # the county's one answer
    assert "统计局 张三 已于" in mine  # who gave it
    await li.say("修改第1题")
    await li.say("否")
    authors = {r.fact_id: r.department for r in await office.app.storage.answer_rows("pingyin")}
    stats = {q.fact.id for q in office.app.handler.services.questions("统计局")}
    assert {authors[f] for f in stats if f in authors} == {"统计局"}
    assert set(authors.values()) == {"统计局", "财政局"}
    assert "【统计局】失分项" in await office.zhang.say("/gaps")


# --- views ----------------------------------------------------------------------------------------


async def test_progress_per_department(office: County) -> None:
    for answer in ("自评", "120万元", "五十万人"):
        await office.zhang.say(answer)
    reply = await office.boss.say("/progress")
    assert reply.startswith("【平阴县】各部门自评进度（2026-12-01 10:00）")
    assert "估计全县得分：0.7/100分" in reply
    assert "· 统计局：指标1项，已答1项；完成100%（2/2题）；估分0.7/1分；联络员1人" in reply
    assert "· 财政局：指标3项，已答1项；" in reply  # 28 is shared: 统计局's answers are the county's
    assert "· 市场监管局：" in reply and "未绑定联络员" in reply


async def test_gaps_county_wide_for_admins(office: County) -> None:
    for answer in ("自评", "120万元", "五十万人"):
        await office.zhang.say(answer)
    county_gaps = await office.boss.say("/gaps")
    assert "全县失分项" in county_gaps and "〔财政局、统计局〕" in county_gaps
    assert "【统计局】失分项" in await office.boss.say("/gaps 统计局")


# --- export ---------------------------------------------------------------------------------------


async def store_best_answers(office: County, kb: KnowledgeBase) -> dict[str, object]:
    plan = kb.plan("pingyin")
    best = best_answers(kb.framework(plan.framework), plan=plan)
    await office.app.storage.save_answers("pingyin", OFFICE, best, Actor("console", "boss", "办公室"))
    return best


async def test_export_workbook_holds_the_numbers_of_qcbot_score(
    office: County, kb: KnowledgeBase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    best = await store_best_answers(office, kb)
    await office.zhang.say("今天中午食堂吃什么")  # a question the bot cannot answer
    await office.boss.say("/export")
    replies = office.boss.last
    [path] = files_of(replies)
    assert path.suffix == ".xlsx" and path.parent == tmp_path / "db" / "exports"
    assert replies[0].private and replies[0].files[0].kind == "document"
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == SHEETS
    scores = {row[0]: row for row in book["指标得分"].iter_rows(min_row=2, values_only=True)}

    framework = kb.framework("shandong")
    expected = score_framework(framework, best, plan=kb.plan("pingyin"))
    assert scores["合计"][5] == expected.total == 100
    for s in expected.indicators:
        assert (scores[s.indicator][5], scores[s.indicator][6]) == (s.score, s.max), s.indicator

    answers_file = tmp_path / "best.yaml"
    facts = framework_facts(framework)
    answers_file.write_text("".join(
        f"{json.dumps(k)}: {json.dumps(as_text(facts[k], v), ensure_ascii=False)}\n"
        for k, v in best.items()), encoding="utf-8")
    capsys.readouterr()
    assert main(["score", "--plan", "pingyin", "--answers", str(answers_file), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert scores["合计"][5] == cli["total"] and scores["合计"][6] == cli["max"]
    for item in cli["indicators"]:
        assert scores[item["indicator"]][5:7] == (item["score"], item["max"]), item["indicator"]

    answers = list(book["申请表答案"].iter_rows(min_row=2, values_only=True))
    assert len(answers) == len(best)
    assert any(row[0] == OFFICE and row[5] == "办公室" for row in answers)
    progress = {row[0]: row for row in book["部门进度"].iter_rows(min_row=2, values_only=True)}
    questions = office.app.handler.services.questions(OFFICE)
    assert progress[OFFICE][5] == sum(q.fact.id in best for q in questions) > 0
    stats = office.app.handler.services.questions("统计局")  # the office's answers are the county's
    assert progress["统计局"][1] == 1 and progress["统计局"][5] == sum(q.fact.id in best for q in stats)
    deadlines = list(book["时间节点"].iter_rows(min_row=2, values_only=True))
    assert deadlines[0][:2] == ("materials", "2022-07-26") and deadlines[0][7] == "已过"
    assert any(row[0] == "office:1" and row[6] == "质量强县办" for row in deadlines)
    unanswered = [row[3] for row in book["未答问题"].iter_rows(min_row=2, values_only=True)]
    assert "今天中午食堂吃什么" in unanswered
    book.close()


# --- charts ---------------------------------------------------------------------------------------


async def test_chart_sends_two_pngs(office: County, kb: KnowledgeBase) -> None:
    await store_best_answers(office, kb)
    await office.boss.say("/chart")
    replies = office.boss.last
    paths = files_of(replies)
    assert len(paths) == 2 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
    assert [f.kind for f in replies[0].files] == ["image", "image"]
    assert "估计全县得分：100/100分" in replies[0].text
    levels, departments = (Image.open(p).convert("RGB") for p in paths)
    framework = kb.framework(kb.plan("pingyin").framework)
    # every 一级 at full marks: one all-blue bar each, no grey remainder showing
    assert len(bands(levels, DONE)) == len(framework.levels) and not bands(levels, TOTAL)
    progress = await office.boss.say("/progress")
    [count] = re.findall(r"共(\d+)个部门", progress)
    assert len(bands(departments, DONE, TOTAL)) == int(count)


async def test_the_console_prints_where_the_files_are(
    tmp_path: Path, kb: KnowledgeBase, librarian: Librarian
) -> None:
    clock = Clock(at("2026-12-01 10:00"))
    app, _ = await open_app(tmp_path / "c.db", kb, librarian, clock, admins="console:王")
    try:
        out = io.StringIO()
        console = ConsoleChannel(app.handler, user="王", out=out)
        await console.send("/export")
        await console.send("/chart")
        printed = re.findall(r"（文件：(.+?)）", out.getvalue())
        assert [Path(p).suffix for p in printed] == [".xlsx", ".png", ".png"]
        assert all(Path(p).is_absolute() and Path(p).is_file() for p in printed)
    finally:
        await app.close()

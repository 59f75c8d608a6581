"""One deployment, two counties in one database: every chat routed to its county, nothing crossing.

平阴 (pingyin) and 临淄 (linzi) each have a group; the same user id is the 统计局 liaison in both.
Answers, /myscore, /progress, /export, /gaps, the digest, reminders, evidence and the question
log of one county never show in the other; the city admin sees both; an unmapped chat is asked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.app import App
from bot.config import ConfigError
from bot.counties import read_counties
from handlers.core import Attachment, Incoming
from knowledge.model import KnowledgeBase
from knowledge.qa import Librarian
from tests import wecom_vectors as v
from tests.fake_telegram import BOT, FakeBotApi
from tests.fake_telegram import message as telegram_message
from tests.fakes import RecordingHandler, eventually
from tests.messages import Person, message, text_of
from tests.reminder_helpers import Clock, Recorder, at, open_app, sent_of
from tests.test_channel_telegram import running
from tests.test_wecom_callbacks import Make, group_text, wecom  # noqa: F401 (wecom: the fixture)

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
COUNTIES = """\
counties:
  pingyin:
    admins: ["console:py-boss"]
    chats: ["console:group-py"]
    bots: ["wecom-app:1000002"]
  linzi:
    admins: ["console:lz-boss"]
    chats: ["console:group-lz"]
"""
UNANSWERABLE = "火星基地的质量强县档案归谁保管"


@dataclass
class Region:
    """The app over two counties, a clock, the recorded pushes, and who is where."""

    app: App
    clock: Clock
    recorder: Recorder
    py: Person  # u1, 统计局 liaison in 平阴's group
    lz: Person  # u1 again, 统计局 liaison in 临淄's group

    def person(self, user: str, chat: str | None = None) -> Person:
        """Someone in a group (a private chat when chat is None)."""
        if chat is None:
            return Person(self.app.handler, user=user, name=user)
        return Person(self.app.handler, user=user, name=user, chat_type="group", chat=chat)


@pytest.fixture
async def region(tmp_path: Path, kb: KnowledgeBase, librarian: Librarian) -> AsyncIterator[Region]:
    """Both counties bound and answered differently: 平阴 120万元 and a PDF, 临淄 nothing but 否."""
    counties = tmp_path / "counties.yaml"
    counties.write_text(COUNTIES, encoding="utf-8")
    clock = Clock(at("2026-12-07 10:00"))
    app, recorder = await open_app(
        tmp_path / "db" / "q.db", kb, librarian, clock, admins="console:city", counties_file=str(counties)
    )
    py = Person(app.handler, user="u1", name="张三", chat_type="group", chat="group-py")
    lz = Person(app.handler, user="u1", name="张三", chat_type="group", chat="group-lz")
    assert "已绑定：平阴县统计局" in await py.say("/bind 统计局")
    assert "已绑定：临淄区统计局" in await lz.say("/bind 统计局")
    await py.say("自评")
    assert "已保存：120万元" in await py.say("120万元")
    await lz.say("自评")
    assert "已保存" in await lz.say("否")
    pdf = tmp_path / "经费决算.pdf"
    pdf.write_bytes(PDF)
    upload = Incoming("console", "group-py", "group", "u1", "张三", "第28项", mentioned=True,
                      attachment=Attachment(pdf.name, len(PDF), path=pdf))
    assert "经费决算.pdf" in text_of(await app.handler.handle(upload))
    await py.say(f"/ask {UNANSWERABLE}")
    yield Region(app, clock, recorder, py, lz)
    await app.close()


def sheets_of(path: Path) -> dict[str, list[tuple[object, ...]]]:
    book = load_workbook(path, read_only=True)
    return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in book.worksheets}


async def exported(person: Person, text: str = "/export") -> dict[str, list[tuple[object, ...]]]:
    await person.say(text)
    (file,) = [f for r in person.last for f in r.files]
    return sheets_of(file.path)


# --- answers, scores, progress, gaps, evidence ----------------------------------------------


async def test_the_same_liaison_answers_each_county_apart(region: Region) -> None:
    storage = region.app.storage
    py, lz = storage.scoped("pingyin"), storage.scoped("linzi")
    assert list((await py.answers("pingyin")).values()) == [120.0]
    assert list((await lz.answers("linzi")).values()) == [False]
    mine_py, mine_lz = await region.py.say("/myscore"), await region.lz.say("/myscore")
    assert "平阴县" in mine_py and "临淄" not in mine_py
    assert "临淄区" in mine_lz and "平阴" not in mine_lz and "120万元" not in mine_lz
    assert "28 质量监管人均经费" in await region.py.say("/gaps")
    assert "28 质量监管人均经费" not in await region.lz.say("/gaps")


async def test_county_admins_see_their_county_only(region: Region) -> None:
    py_boss, lz_boss = region.person("py-boss", "group-py"), region.person("lz-boss", "group-lz")
    progress = await py_boss.say("/progress")
    assert "【平阴县】" in progress and "统计局：指标1项，已答0项；完成50%（1/2题）" in progress and "临淄" not in progress
    progress = await lz_boss.say("/progress")
    assert "【临淄区】" in progress and "平阴" not in progress and "（1/9题）" in progress and "材料1份" not in progress
    assert "质量强县办（管理员）专用" in await region.person("py-boss", "group-lz").say("/progress")
    gaps = await lz_boss.say("/gaps")
    assert "【临淄区】" in gaps and "证实性材料：0份" in gaps and "28 质量监管人均经费" not in gaps
    assert "证实性材料：1份" in await py_boss.say("/gaps")
    assert "经费决算.pdf" in await py_boss.say("/evidence")
    assert "经费决算.pdf" not in await lz_boss.say("/evidence")
    assert "经费决算.pdf" not in await region.lz.say("/evidence")


async def test_exports_hold_only_their_county(region: Region) -> None:
    py = await exported(region.person("py-boss", "group-py"))
    lz = await exported(region.person("lz-boss", "group-lz"))
    assert any("120万元" in map(str, row) for row in py["申请表答案"])
    assert not any("120万元" in map(str, row) for row in lz["申请表答案"])
    assert len(py["证实性材料"]) == 2 and len(lz["证实性材料"]) == 1  # the header alone
    assert any(UNANSWERABLE in map(str, row) for row in py["未答问题"])
    assert not any(UNANSWERABLE in map(str, row) for row in lz["未答问题"])
    lz_rows = {row[0] for row in lz["部门进度"][1:]}
    assert "统计局" in lz_rows


# --- the city admin ------------------------------------------------------------------------


async def test_the_city_admin_sees_every_county_and_compares(region: Region) -> None:
    city = region.person("city", "group-py")
    assert "【平阴县】" in await city.say("/progress")
    assert "【临淄区】" in await region.person("city", "group-lz").say("/progress")
    every = await city.say("/progress 全部")
    assert "【全部2个县（区）】" in every
    py_line = next(line for line in every.splitlines() if line.startswith("· 平阴县"))
    assert "（1/" in py_line and "材料1份" in py_line and "联络员1人" in py_line
    lz_line = next(line for line in every.splitlines() if line.startswith("· 临淄区"))
    assert "（1/" in lz_line and "材料0份" in lz_line
    assert "完成率排序：" in every and "得分率排序：" in every
    for boss in (region.person("py-boss", "group-py"), region.person("lz-boss", "group-lz")):
        assert "市（省）级管理员专用" in await boss.say("/progress 全部")
        assert "市（省）级管理员专用" in await boss.say("/export 全部")
        assert not boss.last[0].files


async def test_export_all_has_a_comparison_and_a_sheet_per_county(region: Region) -> None:
    book = await exported(region.person("city", "group-lz"), "/export 全部")
    assert list(book) == ["对比", "平阴县", "临淄区"]
    comparison = {row[0]: row for row in book["对比"][1:]}
    assert set(comparison) == {"平阴县", "临淄区"}
    header = book["对比"][0]
    assert comparison["平阴县"][header.index("证实性材料")] == 1
    assert comparison["临淄区"][header.index("证实性材料")] == 0
    py_cells = {str(c) for row in book["平阴县"] for c in row if c is not None}
    lz_cells = {str(c) for row in book["临淄区"] for c in row if c is not None}
    assert {"部门进度", "指标得分", "申请表答案"} <= py_cells and "120万元" in py_cells
    assert "120万元" not in lz_cells and "合计" in lz_cells


# --- reminders and the digest ---------------------------------------------------------------


async def test_reminders_and_digests_stay_in_their_county(region: Region) -> None:
    boss = region.person("py-boss", "group-py")
    assert "已设置时间节点" in await boss.say("/deadline 2026-12-15 报送经费决算 统计局")
    assert "报送经费决算" not in await region.lz.say("/deadline")
    sent = await region.app.scheduler.tick(at("2026-12-08 09:00"))
    deadlines = sent_of(sent, "deadline")
    assert deadlines and {d.county for d in deadlines} == {"pingyin"}
    texts = [r for r in region.recorder.of("deadline") if "报送经费决算" in r.text]
    assert texts and {r.to_chat for r in texts} == {"group-py"}

    region.recorder.sent.clear()
    sent = await region.app.scheduler.tick(at("2026-12-11 16:00"))
    digests = {d.county: d.reply for d in sent_of(sent, "digest")}
    assert set(digests) == {"pingyin", "linzi"}
    py, lz = digests["pingyin"], digests["linzi"]
    assert py is not None and lz is not None
    assert py.to_chat == "group-py" and "平阴县" in py.text and "临淄" not in py.text
    assert lz.to_chat == "group-lz" and "临淄区" in lz.text and "平阴" not in lz.text
    assert "报送经费决算" in py.text and "报送经费决算" not in lz.text
    assert "统计局：指标1项，已答0项；完成50%（1/2题）" in py.text and "（1/2题）" not in lz.text


async def test_a_mute_in_one_county_leaves_the_other(region: Region) -> None:
    await region.lz.say("/mute")
    assert await region.app.storage.scoped("linzi").muted() == {("console", "u1")}
    assert await region.app.storage.scoped("pingyin").muted() == frozenset()


# --- which county a message is for ---------------------------------------------------------


async def test_an_unmapped_group_is_asked_to_choose_and_only_an_admin_may(region: Region) -> None:
    stranger = region.person("u9", "group-x")
    asked = await stranger.say("计量怎么得分")
    assert asked.startswith("本服务覆盖多个县（区），请先发送 /county 县名")
    assert stranger.labels == ["平阴县", "临淄区"]
    assert "只有临淄区的质量强县办（管理员）" in await stranger.press("临淄区")
    assert await region.person("u9", "group-x").say("随便聊聊", mentioned=False) == ""
    assert "只有" in await region.person("py-boss", "group-x").say("/county 临淄")
    assert "已设为平阴县" in await region.person("py-boss", "group-x").say("/county 平阴")
    assert "不能" not in await region.person("city", "group-x").say("/county 当前")  # not a county
    assert "已设为临淄区" in await region.person("city", "group-x").say("/county linzi")
    assert "当前属于：临淄区" in await stranger.say("/county")
    assert "临淄区" in await stranger.say("/help")
    assert "部署配置文件" in await region.person("city", "group-py").say("/county 临淄区")


async def test_private_chats_follow_the_liaisons_binding_or_ask(region: Region) -> None:
    only_py = region.person("u2")
    assert "已绑定：平阴县财政局" in await region.person("u2", "group-py").say("/bind 财政局")
    assert "平阴县" in await only_py.say("/myscore")
    both = region.person("u1")
    assert (await both.say("/myscore")).startswith("本服务覆盖多个县（区）")
    assert both.labels == ["平阴县", "临淄区"]
    assert "已设为临淄区" in await both.press("临淄区")
    assert "临淄区" in await both.say("/myscore")
    assert "只能在这些县（区）之间选择" not in await both.say("/county 平阴县")
    nobody = region.person("u7")
    assert "请先在本县（区）的工作群里发送 /bind" in await nobody.say("你好")
    assert "还没有在任何县（区）绑定部门" in await nobody.say("/county 平阴县")


async def test_the_receiving_agent_names_the_county(region: Region) -> None:
    agent = Incoming("wecom_app", "zhangsan", "private", "zhangsan", text="/help", mentioned=True, bot="1000002")
    assert "平阴县" in text_of(await region.app.handler.handle(agent))
    other = Incoming("wecom_app", "zhangsan", "private", "zhangsan", text="/help", mentioned=True, bot="1000009")
    assert "本服务覆盖多个县" in text_of(await region.app.handler.handle(other))


# --- one county: today's behaviour ---------------------------------------------------------


async def test_one_county_without_a_file_needs_no_choice(app: App) -> None:
    person = Person(app.handler, chat_type="group", chat="anywhere")
    assert "本服务只覆盖平阴县" in await person.say("/county 临淄")
    answer = text_of(await app.handler.handle(message("计量怎么得分", chat="anywhere", chat_type="group")))
    assert "计量" in answer and "本服务覆盖多个县" not in answer


# --- the counties file ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("counties:\n  nowhere: {}\n", "counties.nowhere: 未知的方案 'nowhere'"),
        ("counties:\n  pingyin: {chats: ['telegram:-1001']}\n  linzi: {chats: ['telegram:-1001']}\n",
         "counties.linzi.chats: telegram:-1001 已属于 counties.pingyin"),
        ("counties:\n  pingyin: {chats: ['-1001']}\n", "counties.pingyin.chats[0]: '-1001' 应写成 渠道:ID"),
        ("counties:\n  pingyin: {chats: ['fax:1']}\n", "counties.pingyin.chats[0]: 'fax:1' 应写成 渠道:ID"),
        ("counties:\n  pingyin: {groups: []}\n", "counties.pingyin.groups: 未知的键"),
        ("counties:\n  pingyin: {admins: telegram:42}\n", "counties.pingyin.admins: 应为字符串列表"),
        ("counties:\n  pingyin: {bots: ['wecom-bot:B']}\n  linzi: {bots: ['wecom_bot:B']}\n",
         "counties.linzi.bots: wecom_bot:B 已属于 counties.pingyin"),
        ("counties: {}\n", "counties: 至少需要一个县（区）"),
        ("counties: [pingyin]\n", "counties: 应为县（区）表"),
        ("counties:\n  pingyin: {chats: [\n", "不是有效的 YAML"),
    ],
)
def test_counties_file_mistakes_name_file_and_path(tmp_path: Path, kb: KnowledgeBase, text: str, error: str) -> None:
    path = tmp_path / "counties.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        read_counties(path, kb.plans)
    assert str(raised.value).startswith(f"{path}: ") and error in str(raised.value), str(raised.value)


def test_counties_file_in_toml_with_wecom_for_both_channels(tmp_path: Path, kb: KnowledgeBase) -> None:
    path = tmp_path / "counties.toml"
    path.write_text(
        '[counties.pingyin]\nadmins = ["wecom:zhangsan", 42]\nchats = ["wecom:wrkX"]\nbots = ["telegram:@PingyinBot"]\n'
        "[counties.linzi]\n",
        encoding="utf-8",
    )
    counties = read_counties(path, kb.plans)
    assert list(counties) == ["pingyin", "linzi"]
    pingyin = counties["pingyin"]
    assert pingyin.chats == {("wecom_bot", "wrkX"), ("wecom_app", "wrkX")}
    assert pingyin.is_admin("wecom_app", "zhangsan") and pingyin.is_admin("telegram", "42")
    assert not pingyin.is_admin("telegram", "zhangsan")
    assert counties["linzi"].chats == frozenset()


# --- the channels name the receiving bot ---------------------------------------------------


async def test_channels_say_which_bot_received_the_message(wecom: Make) -> None:  # noqa: F811 (the fixture)
    """智能机器人: aibotid; 自建应用: AgentID; Telegram: the bot's username (real HTTP on 127.0.0.1)."""
    bot = await wecom(clock=lambda: int(v.V1B["timestamp"]))
    stamp = int(v.V1B["timestamp"])
    assert (await bot.post_bot(group_text("@RobotA 计量怎么得分？"), timestamp=stamp)).status == 200
    assert (await bot.client.post("/wecom/app", params=v.V1B, data=v.V1B_BODY.encode())).status == 200
    await eventually(lambda: len(bot.handler.received) == 2)
    assert {(m.channel, m.bot) for m in bot.handler.received} == {
        ("wecom_bot", "AIBOTID"), ("wecom_app", "1000002")}

    api, handler = FakeBotApi(), RecordingHandler()
    channel = await running(api, handler)
    try:
        api.push(telegram_message("/help"))
        await eventually(lambda: len(handler.received) == 1)
    finally:
        await channel.stop()
        await api.close()
    assert handler.received[0].bot == BOT["username"]

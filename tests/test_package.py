"""The 申报材料 package: 申请表.docx read back with python-docx, 材料清单目录.xlsx with openpyxl,
the evidence folders, determinism, the checklist systems, and that building changes no data."""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import docx
import pytest
from openpyxl import load_workbook

from bot.cli import main
from bot.storage.store import Storage
from handlers.package.build import APPLICATION, LISTING, REPORT, build_package
from handlers.package.listing import LIST_HEADER, safe_name, split_name
from handlers.store import Actor, EvidenceFile, StoredAnswer
from knowledge.form_layout import FormRow, Tick, filled_content, load_layout
from knowledge.model import KnowledgeBase
from scoring.engine import framework_facts
from tests.helpers import seed_text

_WS = re.compile(r"\s+")
WHO = Actor("telegram", "42", "王科长")
ANSWERED = datetime(2022, 7, 20, 1, 0, tzinfo=UTC)


# --- the layout is the seed's form ------------------------------------------------------------------


def test_every_transcribed_string_occurs_in_seed_000() -> None:
    source = _WS.sub("", seed_text("000"))
    layout = load_layout()
    missing = [(where, text) for where, text in layout.verbatim() if _WS.sub("", text) not in source]
    assert missing == []


def test_the_rows_read_known_facts_and_cover_every_shandong_indicator(kb: KnowledgeBase) -> None:
    fw = kb.framework("shandong")
    layout = load_layout()
    facts = framework_facts(fw)
    assert [f for row in layout.rows for f in row.facts() if f not in facts] == []
    assert {row.indicator for row in layout.rows} == set(fw.indicators)
    assert len(layout.instructions) == 14  # 13 items, the 7th in two paragraphs
    assert layout.basic.years == ("2019年", "2020年", "2021年") and len(layout.basic.year_rows) == 9


@pytest.mark.parametrize(
    ("tick", "blanks", "content", "answers", "expected"),
    [
        (Tick("fact", ("a",)), (), "□是  □否", {"a": True}, "☑是  □否"),
        (Tick("fact", ("a",)), (), "□是  □否", {"a": False}, "□是  ☑否"),
        (Tick("fact", ("a",)), (), "□是  □否", {}, "□是  □否"),
        (Tick("fact", ("a",), min=90), ("a",), "□是，覆盖率：____%\n□否", {"a": 95.5}, "☑是，覆盖率：95.5%\n□否"),
        (Tick("fact", ("a",), min=90), ("a",), "□是，覆盖率：____%\n□否", {"a": 80}, "□是，覆盖率：80%\n☑否"),
        (Tick("fact", ("a",), yes=("县长参会",)), (), "□是，请列明\n□否", {"a": "县长参会"}, "☑是，请列明\n□否"),
        (Tick("fact", ("a",)), (), "□国家级\n□省级\n□无", {"a": "省级"}, "□国家级\n☑省级\n□无"),
        (Tick("all", ("a", "b")), (), "□是  □否", {"a": True, "b": False}, "□是  ☑否"),
        (Tick("all", ("a", "b")), (), "□是  □否", {"a": True}, "□是  □否"),
        (Tick("any", ("a", "b")), (), "□是  □否", {"a": False, "b": False}, "□是  ☑否"),
        (Tick("counts"), ("a", "b"), "□国家级，____次\n□省级，____次\n□无", {"a": 0, "b": 2},
         "□国家级，0次\n☑省级，2次\n□无"),
        (Tick("counts"), ("a", "b"), "□国家级，____次\n□省级，____次\n□无", {"a": 0, "b": 0},
         "□国家级，0次\n□省级，0次\n☑无"),
        (Tick("counts"), (("a", "b"), None), "□国家级____项\n□省级____项\n□无", {"a": 1, "b": 2},
         "☑国家级3项\n□省级____项\n□无"),
    ],
)
def test_a_row_is_ticked_and_filled_from_the_answers(
    tick: Tick, blanks: tuple[object, ...], content: str, answers: dict[str, object], expected: str
) -> None:
    row = FormRow("一级", "二级", "表述", content, "1", tick, blanks)  # type: ignore[arg-type]
    assert filled_content(row, answers) == expected


@pytest.mark.parametrize(
    ("name", "safe"),
    [("../../x.pdf", "x.pdf"), ("a:b*?<>|\".pdf", "a_b______.pdf"), ("CON.pdf", "_CON.pdf"),
     ("会议\x00纪要\n.docx", "会议_纪要_.docx"), ("  . ", "_")],
)
def test_file_names_are_safe_on_windows(name: str, safe: str) -> None:
    stem, ext = split_name(name)
    assert safe_name(stem, 40) + ext == safe


# --- a package for 平阴 --------------------------------------------------------------------------------


class Evidence:
    """Content-addressed files, as the store keeps them, and their records."""

    def __init__(self, root: Path, plan: str, framework: str) -> None:
        self.root, self.plan, self.framework = root, plan, framework
        self.root.mkdir(parents=True, exist_ok=True)
        self.records: list[EvidenceFile] = []

    def add(self, indicator: str, name: str, data: bytes, department: str, when: str) -> EvidenceFile:
        sha = hashlib.sha256(data).hexdigest()
        (self.root / sha).write_bytes(data)
        record = EvidenceFile(
            id=len(self.records) + 1, plan=self.plan, framework=self.framework, indicator=indicator,
            department=department, uploader=WHO.user_name, channel=WHO.channel, user_id=WHO.user_id,
            name=name, size=len(data), media_type="application/pdf", sha256=sha, received_at=when,
            status="active",
        )
        self.records.append(record)
        return record

    def path(self, sha: str) -> Path:
        return self.root / sha


ANSWERS = {
    "市场监管局": {"i1_slogan": True, "i1_slogan_text": "质在平阴  量出精品", "i7_plan": True,
                 "i7_mobilization": False, "i5_event": "省级", "i17_a_coverage": 96.5},
    "统计局": {"i4_award_national": 0, "i4_award_provincial": 2, "i4_award_city": 0,
            "i0_safety_accident": False, "i0_quality_incident": False, "i0_env_incident": False,
            "i0_stats_fraud": False},
}


async def stored_answers(db: Path, plan: str, answers: dict[str, dict[str, object]]) -> list[StoredAnswer]:
    storage = await Storage.open(db, clock=lambda: ANSWERED)
    try:
        for department, values in answers.items():
            await storage.save_answers(plan, department, values, WHO)  # type: ignore[arg-type]
        await storage.flush()
        return await storage.plan_answer_rows(plan)
    finally:
        await storage.close()


def pingyin_evidence(root: Path) -> Evidence:
    ev = Evidence(root, "pingyin", "shandong")
    ev.add("14", "标准制修订会议纪要.pdf", b"%PDF-1.4 minutes", "市场监管局", "2022-07-20T02:30:00+00:00")
    ev.add("14", "../../标准:清单?.pdf", b"%PDF-1.4 list", "市场监管局", "2022-07-20T03:00:00+00:00")
    ev.add("3", "质量月活动照片.jpg", b"\xff\xd8\xff photo", "市场监管局", "2022-07-21T16:30:00+00:00")
    ev.add("1", "质量精神口号文件.pdf", b"%PDF-1.4 slogan", "质量强县办", "2022-07-19T01:00:00+00:00")
    return ev


def row_text(table: docx.table.Table, statement: str) -> str:
    found = [r.cells[3].text for r in table.rows if r.cells[2].text == statement]
    assert len(found) == 1, statement
    return found[0]


async def test_the_pingyin_package_holds_the_filled_form_the_list_and_the_files(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    plan = kb.plan("pingyin")
    rows = await stored_answers(tmp_path / "q.db", "pingyin", ANSWERS)
    ev = pingyin_evidence(tmp_path / "evidence")
    package = build_package(plan, kb.framework("shandong"), rows, ev.records, ev.path, tmp_path / "out")
    assert package.path.name == "平阴县申报材料.zip"
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(package.path) as done:
        names = done.namelist()
        done.extractall(unpacked)
    assert names == sorted(names) and {APPLICATION, LISTING, REPORT} <= set(names)
    folders = [n for n in names if "/" in n]
    assert folders == [
        "01_质量发展理念/01_质量理念/01_质量精神口号/01-01_质量精神口号文件.pdf",
        "01_质量发展理念/02_质量文化/03_质量文化活动/03-01_质量月活动照片.jpg",
        "03_质量发展基础/02_标准化/14_标准制修订/14-01_标准制修订会议纪要.pdf",
        "03_质量发展基础/02_标准化/14_标准制修订/14-02_标准_清单_.pdf",
    ]
    assert not [n for n in names if re.search(r'[\\:*?"<>|]', n)]

    form = docx.Document(str(unpacked / APPLICATION))
    text = "\n".join(p.text for p in form.paragraphs)
    assert "申报县（市、区）  平阴县  （盖章）" in text
    assert "填表日期：2022 年 7 月 22 日" in text  # the latest data, 2022-07-21 16:30 UTC, in Beijing
    assert "填 报 说 明" in text and "13.其他未尽事项，由质量强省办负责解释。" in text
    basic, years = form.tables[0], form.tables[1]
    assert basic.cell(0, 1).text == "平阴县  （盖章）"
    assert [c.text for c in years.rows[0].cells] == ["年度\n指标", "2019年", "2020年", "2021年"]
    important = form.tables[3]
    assert [c.text for c in important.rows[0].cells] == ["一级指标", "二级指标", "指标表述", "填报内容"]
    assert row_text(important, "是否树立明确的质量发展理念，制定特色的质量精神或质量发展宣传口号，且在党委政府文件中有明确体现。") \
        == "☑是，质量精神/质量宣传口号：质在平阴  量出精品\n□否"
    assert row_text(important, "是否制定质量强县（市、区）创建工作方案。") == "☑是  □否"
    assert row_text(important, "政府是否专门组织召开质量强县（市、区）创建动员部署大会。") == "□是  ☑否"
    assert row_text(important, "A类强制检定项目覆盖率是否达到90%。") == "☑是，覆盖率：96.5%\n□否"
    assert row_text(important, "近三年质量相关工作是否得到党委政府或主管部门表彰。").startswith(
        "□国家级（党中央、国务院），0次\n☑省级（国家部委、省委、省政府），2次\n□市级（省直部门、市委、市政府），0次\n□无"
    )
    assert "☑省级" in row_text(important, "近三年是否承担或举办具有示范性的省级及以上质量主题活动或现场交流会。")
    veto = important.rows[1].cells
    assert veto[0].text == "一票否决项" and veto[3].text == "□是  ☑否"
    assert row_text(important, "是否出台信用体系建设政策措施。").startswith("□是")  # unanswered: nothing ticked
    assert "☑" not in row_text(important, "是否出台信用体系建设政策措施。")

    sheet = load_workbook(unpacked / LISTING).worksheets[0]
    listed = [tuple(c.value for c in row) for row in sheet.iter_rows(min_row=2)]
    assert listed[0] == LIST_HEADER
    by_path = {row[3]: row for row in listed[1:]}
    assert sorted(by_path) == folders
    for path, row in by_path.items():
        data = (unpacked / path).read_bytes()
        assert row[8] == hashlib.sha256(data).hexdigest()
        assert data == ev.path(row[8]).read_bytes()
    photo = by_path["01_质量发展理念/02_质量文化/03_质量文化活动/03-01_质量月活动照片.jpg"]
    assert photo[1:3] == ("3", "3 质量文化活动") and photo[5:7] == ("市场监管局", "2022-07-22 00:30")
    assert by_path[folders[3]][4] == "../../标准:清单?.pdf"  # the name it was sent with, in the list only

    end = form.tables[-1]
    assert [c.text for c in end.rows[0].cells] == ["序号", "指标", "文件", "部门", "报送时间", "SHA-256"]
    assert [(r.cells[2].text, r.cells[5].text) for r in end.rows[1:]] == [
        (row[3], row[8]) for row in listed[1:]
    ]

    report = (unpacked / REPORT).read_bytes().decode("utf-8-sig")
    assert report == package.report.replace("\n", "\r\n")
    assert "  1 质量精神口号" not in report.split("没有证实性材料")[1]
    assert "  2 质量发展模式" in report.split("没有证实性材料")[0]  # no answer for 2
    without = {i.id for i in package.coverage.without_evidence}
    assert {"1", "3", "14"}.isdisjoint(without) and {"0", "2", "43"} <= without


async def test_a_second_build_with_the_same_data_is_the_same_zip(tmp_path: Path, kb: KnowledgeBase) -> None:
    plan, fw = kb.plan("pingyin"), kb.framework("shandong")
    rows = await stored_answers(tmp_path / "q.db", "pingyin", ANSWERS)
    ev = pingyin_evidence(tmp_path / "evidence")
    first = build_package(plan, fw, rows, ev.records, ev.path, tmp_path / "a")
    second = build_package(plan, fw, rows, list(reversed(ev.records)), ev.path, tmp_path / "b")
    assert first.entries == second.entries
    assert hashlib.sha256(first.path.read_bytes()).digest() == hashlib.sha256(second.path.read_bytes()).digest()
    with zipfile.ZipFile(first.path) as a:
        assert {i.date_time for i in a.infolist()} == {(2022, 7, 22, 0, 30, 0)}
    ev.add("22", "12345热线.pdf", b"%PDF hotline", "市场监管局", "2022-07-23T01:00:00+00:00")
    third = build_package(plan, fw, rows, ev.records, ev.path, tmp_path / "c")
    assert "03_质量发展基础/05_质量管理/22_质量投诉渠道/22-01_12345热线.pdf" in third.entries
    assert third.path.read_bytes() != first.path.read_bytes()


async def test_a_missing_or_changed_file_is_reported_not_packed(tmp_path: Path, kb: KnowledgeBase) -> None:
    ev = pingyin_evidence(tmp_path / "evidence")
    ev.path(ev.records[0].sha256).unlink()
    ev.path(ev.records[2].sha256).write_bytes(b"changed on disk")
    package = build_package(kb.plan("pingyin"), kb.framework("shandong"), [], ev.records, ev.path, tmp_path / "o")
    packed = [n for n in package.entries if "/" in n]
    assert len(packed) == 3 and not [n for n in packed if "14-01" in n]
    assert [f.name for f in package.coverage.missing] == ["标准制修订会议纪要.pdf"]
    assert [f.name for f in package.coverage.changed] == ["质量月活动照片.jpg"]
    assert "未能打包的材料（1份，文件缺失）" in package.report
    assert "内容与记录的SHA-256不符的材料（1份" in package.report


@pytest.mark.parametrize(("plan_id", "indicator", "folder"), [
    ("minquan", "5", "02_质量文化特色鲜明/05_创建活动宣传"),
    ("jinan", "3", "01_城市质量发展战略规划明确清晰/02_为实施质量发展规划提供组织保障/003_质量工作部门联席会议制度"),
])
async def test_checklist_plans_get_the_list_and_folders_without_a_form(
    tmp_path: Path, kb: KnowledgeBase, plan_id: str, indicator: str, folder: str
) -> None:
    plan = kb.plan(plan_id)
    fw = kb.framework(plan.framework)
    rows = await stored_answers(tmp_path / "q.db", plan_id, {"市场监管局": {f"{indicator}.1" if fw.indicators[indicator].lines else indicator: True}})
    ev = Evidence(tmp_path / "evidence", plan_id, fw.id)
    ev.add(indicator, "宣传照片.jpg", b"\xff\xd8 photo", "市场监管局", "2019-12-01T02:00:00+00:00")
    package = build_package(plan, fw, rows, ev.records, ev.path, tmp_path / "out")
    assert APPLICATION not in package.entries and {LISTING, REPORT} <= set(package.entries)
    evidence = [n for n in package.entries if "/" in n]
    assert len(evidence) == 1 and evidence[0].startswith(folder + "/"), evidence
    with zipfile.ZipFile(package.path) as done:
        done.extract(LISTING, tmp_path)
    rows_listed = list(load_workbook(tmp_path / LISTING).worksheets[0].iter_rows(min_row=3, values_only=True))
    assert [r[1] for r in rows_listed] == [indicator]
    assert indicator not in {i.id for i in package.coverage.without_answers}
    assert indicator not in {i.id for i in package.coverage.without_evidence}


def dump(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return list(conn.iterdump())


def test_the_command_line_builds_the_package_and_changes_no_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "q.db"
    asyncio.run(stored_answers(db, "pingyin", ANSWERS))
    before = dump(db)
    code = main(["package", "--plan", "pingyin", "--db", str(db), "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.splitlines()[0] == str(tmp_path / "out" / "平阴县申报材料.zip")
    assert "未填报答案的指标" in out and "没有证实性材料的指标（44项）" in out
    assert dump(db) == before
    assert main(["package", "--plan", "pingyin", "--db", str(tmp_path / "none.db"), "--out", str(tmp_path)]) == 2
    assert "数据库文件不存在" in capsys.readouterr().err

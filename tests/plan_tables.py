"""The 临淄 任务分解表 rewritten as a county keeps it, as .xlsx, .docx and .csv (test and bench data).

The source is knowledge/data/plans/linzi.yaml (its `responsible` table, transcribed from 附件2 of seed
001) and the Shandong framework's headings. A county's own table differs from the framework in the
ways `qcbot plan import` must cope with, so this rewrite does all of them:

* the task titles are reworded in a county's words (TASKS below, written by hand, not copied);
* the rows are reordered (the 一级 groups in another order, some 二级 groups reversed, the
  一票否决 row last) and numbered 1… in the new order, so 序号 is not the indicator number;
* 一级/二级 headings are merged cells (xlsx, docx) or left blank under the first row (csv);
* the first unit is the 牵头单位 and the rest the 配合单位 (xlsx, docx), or all in one 责任单位
  cell (csv); units are joined with 、，/ ; or line breaks and some are respelled;
* one extra row (迎接省级评审) belongs to no indicator and must be left unplaced;
* the docx splits the table in two, the second repeating the header.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
LINZI = ROOT / "knowledge" / "data" / "plans" / "linzi.yaml"
SHANDONG = ROOT / "knowledge" / "data" / "frameworks" / "shandong.yaml"
TITLE = "临淄区创建“山东省质量强区”重点任务分解表"

# Indicator id → the task as a county office would word it in its own table.
TASKS: dict[str, str] = {
    "0": "守牢安全底线，确保近三年不发生重大及以上安全生产事故、重大质量安全事件、重大突发环境事件和统计造假问题",
    "1": "提炼具有本区特色的质量精神和质量发展口号，并在区委区政府文件中予以体现",
    "2": "总结推广具有临淄特色的质量发展经验模式",
    "3": "组织开展“质量月”“3·15”“世界标准日”等群众性质量文化宣传活动",
    "4": "争取质量工作获得上级表彰，在省级以上主流媒体宣传报道我区质量工作",
    "5": "积极承办省级以上质量主题现场会、交流会等示范活动",
    "6": "成立由区主要领导任组长的质量强区工作领导小组，每年召开质量工作专题会议",
    "7": "制定创建工作方案，召开全区创建动员部署大会",
    "8": "完善社会信用体系建设政策，建立部门间失信联合惩戒机制",
    "9": "落实标准、计量、检验检测、认证认可、品牌、商标专利等质量工作财政经费保障",
    "10": "逐年提高质量工作经费占一般公共预算支出的比例",
    "11": "制定出台质量提升和品牌建设扶持奖励政策",
    "12": "建设质量基础设施“一站式”服务平台（服务站），服务支柱产业",
    "13": "将标准化工作纳入区国民经济和社会发展规划，制定标准化政策措施",
    "14": "鼓励企业主导或参与国际标准、国家标准、地方标准制修订",
    "15": "争取承担标准化技术委员会秘书处，创建国家级、省级标准化试点示范项目",
    "16": "建立计量工作协调机制，争创省级以上产业计量测试中心",
    "17": "实现强制检定全覆盖，开展重点用能单位能源计量审查",
    "18": "出台计量促进政策，开展诚信计量示范创建和“世界计量日”计量惠民活动",
    "19": "开展质量管理体系认证提升行动，帮扶中小企业",
    "20": "推动企业获得质量管理体系及绿色、有机、低碳、环保等自愿性认证证书",
    "21": "建立质量安全风险预警机制，制定重点领域风险应急预案",
    "22": "畅通“12345”热线等质量投诉举报渠道",
    "23": "督促规模以上企业落实岗位质量规范与质量考核制度",
    "24": "推广先进质量管理方法，开展首席质量官和企业质量培训",
    "25": "建立产品质量伤害监测体系和缺陷产品召回监管体系",
    "26": "依法及时处置质量违法违规行为，提高案件处置率",
    "27": "开展全区质量发展状况分析，形成分析报告",
    "28": "保障工业产品和消费品质量监管经费投入，按常住人口测算",
    "29": "巩固省级农产品质量安全县创建成果，保持动态评价合格",
    "30": "创建省级食品安全区并通过动态评价",
    "31": "药品监督检查实现全覆盖",
    "32": "新开工建筑全面执行绿色建筑节能设计标准",
    "33": "培育装配式建筑产业基地",
    "34": "推进智慧工地建设，在建工程项目全部接入信息化监管系统",
    "35": "提高服务业增加值占地区生产总值比重",
    "36": "培育规上服务业企业，提升营业收入",
    "37": "降低规上工业单位增加值能耗",
    "38": "改善环境空气质量，提高优良天数比例，降低PM2.5浓度",
    "39": "提高高新技术产业产值占规上工业总产值比重",
    "40": "提升每万人口有效发明专利拥有量",
    "41": "扩大技术合同成交额，提高技术交易额占GDP比重",
    "42": "组织申报各级科技进步奖",
    "43": "组织企业争创政府质量奖、“好品山东”等质量荣誉",
}
EXTRA_TASK = "做好创建材料汇总报送，迎接省级评审验收"  # belongs to no indicator
LEVEL1_ORDER = ("质量发展基础", "质量发展理念", "质量发展成效", "质量发展保障")
REVERSED_LEVEL2 = {"标准化", "质量文化", "服务质量", "政策经费保障"}  # rows inside these run backwards
RESPELL = {"区市场监督管理局": "区市场监管局", "区市场监管局": "临淄区市场监督管理局", "区政府办": "区政府办公室"}
SEPARATORS = ("、", "，", "/", "；", "\n")
DEADLINES = ("2022年12月底前", "长期坚持", "2023年6月底前")
HEADER = ("序号", "一级指标", "二级指标", "重点任务", "分值", "牵头单位", "配合单位", "完成时限")
CSV_HEADER = ("序号", "类别", "项目", "工作任务", "分值", "责任单位", "完成时限")


@dataclass(frozen=True)
class CountyRow:
    """One row of the rewritten table and the indicator it belongs to (None: none)."""

    no: str
    level1: str
    level2: str
    task: str
    points: str
    lead: str
    support: tuple[str, ...]
    deadline: str
    indicator: str | None


def county_rows() -> list[CountyRow]:
    """The 临淄 table as the county would keep it, in the county's order."""
    plan = yaml.safe_load(LINZI.read_text(encoding="utf-8"))
    framework = yaml.safe_load(SHANDONG.read_text(encoding="utf-8"))
    heading = _headings(framework)
    indicators = {str(i["id"]): i for i in framework["indicators"]}
    ordered: list[str] = []
    for level1 in LEVEL1_ORDER:
        for level2 in _level2_of(framework, level1):
            ids = [k for k, v in indicators.items() if v.get("level1") == level1 and v.get("level2") == level2]
            ordered += list(reversed(ids)) if level2 in REVERSED_LEVEL2 else ids
    ordered.append("0")
    rows: list[CountyRow] = []
    for n, ind_id in enumerate(ordered, start=1):
        ind = indicators[ind_id]
        units = [RESPELL.get(u, u) if n % 3 == 0 else u for u in plan["responsible"][ind_id]]
        level1 = heading.get(ind.get("level1") or "", "一票否决事项")
        level2 = heading.get(ind.get("level2") or "", "")
        points = f"{ind['points']:g}" if ind["kind"] == "indicator" else ""
        rows.append(CountyRow(str(n), level1, level2, TASKS[ind_id], points, units[0], tuple(units[1:]), DEADLINES[n % 3], ind_id))
    extra = CountyRow(str(len(rows) + 1), "其他", "", EXTRA_TASK, "", "区质量强区创建工作领导小组办公室", (), "2022年12月底前", None)
    rows.insert(len(rows) - 1, extra)
    return [replace(r, no=str(i)) for i, r in enumerate(rows, start=1)]


def _headings(framework: dict[str, object]) -> dict[str, str]:
    """Level name → the heading as the table prints it, with its points: 计量（7分）."""
    out: dict[str, str] = {}
    for level in framework["levels"]:  # type: ignore[attr-defined]
        out[level["name"]] = f"{level['name']}（{level['points']:g}分）"
        for child in level.get("children", ()):
            out[child["name"]] = f"{child['name']}（{child['points']:g}分）"
    return out


def _level2_of(framework: dict[str, object], level1: str) -> list[str]:
    level = next(lv for lv in framework["levels"] if lv["name"] == level1)  # type: ignore[attr-defined]
    names = [c["name"] for c in level.get("children", ())]
    return list(reversed(names)) if level1 == "质量发展成效" else names


def expected(rows: list[CountyRow] | None = None) -> dict[str, str | None]:
    """序号 → the indicator the row belongs to."""
    return {r.no: r.indicator for r in rows or county_rows()}


def joined(units: tuple[str, ...], n: int) -> str:
    """The units in one cell, joined the way row n's cell joins them."""
    return SEPARATORS[n % len(SEPARATORS)].join(units)


def write_xlsx(path: Path, rows: list[CountyRow] | None = None) -> Path:
    """The table as a workbook: a merged title row, merged 一级/二级 and 牵头单位 cells."""
    from openpyxl import Workbook

    rows = rows or county_rows()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "任务分解表"
    sheet.append([TITLE])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet.append(list(HEADER))
    for i, r in enumerate(rows):
        sheet.append([int(r.no), r.level1, r.level2, r.task, float(r.points) if r.points else None, r.lead, joined(r.support, i), r.deadline])
    for column, key in ((2, "level1"), (3, "level2"), (6, "lead")):
        for start, end in _runs([getattr(r, key) for r in rows]):
            if end > start:
                sheet.merge_cells(start_row=start + 3, start_column=column, end_row=end + 3, end_column=column)
    book.save(path)
    return path


def write_docx(path: Path, rows: list[CountyRow] | None = None) -> Path:
    """The table in a Word document: two tables, merged 一级/二级 cells, units on separate lines."""
    from docx import Document

    rows = rows or county_rows()
    doc = Document()
    doc.add_paragraph(TITLE)
    half = next(i for i, r in enumerate(rows) if r.level1 != rows[0].level1 and i >= len(rows) // 3)
    for part in (rows[:half], rows[half:]):
        table = doc.add_table(rows=1 + len(part), cols=len(HEADER))
        for c, name in enumerate(HEADER):
            table.cell(0, c).text = name
        for i, r in enumerate(part, start=1):
            support = "\n".join(r.support) if i % 2 else joined(r.support, i)
            values = (r.no, r.level1, r.level2, r.task, r.points, r.lead, support, r.deadline)
            for c, value in enumerate(values):
                table.cell(i, c).text = value
        for column, key in ((1, "level1"), (2, "level2")):
            for start, end in _runs([getattr(r, key) for r in part]):
                if end > start:
                    for i in range(start + 2, end + 2):
                        table.cell(i, column).text = ""
                    table.cell(start + 1, column).merge(table.cell(end + 1, column))
        doc.add_paragraph("")
    doc.save(str(path))
    return path


def write_csv(path: Path, rows: list[CountyRow] | None = None, encoding: str = "gb18030") -> Path:
    """The table as a CSV export: one 责任单位 column, headings only on the first row of a group."""
    rows = rows or county_rows()
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([TITLE])
        writer.writerow(CSV_HEADER)
        previous = ("", "")
        for i, r in enumerate(rows):
            level1 = "" if r.level1 == previous[0] else r.level1
            level2 = "" if (r.level1, r.level2) == previous else r.level2
            previous = (r.level1, r.level2)
            writer.writerow([r.no, level1, level2, r.task, r.points, joined((r.lead, *r.support), i), r.deadline])
    return path


def _runs(values: list[str]) -> list[tuple[int, int]]:
    """Index ranges [start, end] of equal, non-empty neighbours."""
    out: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            if values[start]:
                out.append((start, i - 1))
            start = i
    return out


WRITERS = {"xlsx": write_xlsx, "docx": write_docx, "csv": write_csv}


# --- a Henan county's table (民权 附件2 style) ----------------------------------------------------
# The 民权 工作任务分解表 (seed 002) as another Henan county would keep it: one row per 考核评分内容
# line under a merged 项目 and 指标内容, the 指标内容 reworded in the county's words (HENAN_TASKS,
# by hand) and unnumbered, the items of each 项目 in reverse order, units under the county's own
# name on every third row, a 完成时限 column, and one row (迎检) that belongs to no item.

HENAN = ROOT / "knowledge" / "data" / "frameworks" / "henan.yaml"
HENAN_COUNTY = "宁陵县"
HENAN_TITLE = "宁陵县创建河南省质量强县示范县工作任务分解表"
HENAN_HEADER = ("项 目", "指标内容", "考核评分内容", "工作任务", "责任单位", "完成时限", "验收方式")
HENAN_DEADLINES = ("2021年12月底前", "长期坚持", "2022年6月30日前")
HENAN_TASKS: dict[str, str] = {
    "1": "制定质量发展战略规划，把质量发展目标纳入全县国民经济和社会发展规划",
    "2": "建立党委领导、政府主导、部门联合的质量工作格局，为战略规划实施提供组织保障",
    "3": "落实质量工作专项经费保障",
    "4": "面向社会征集形成本县特色的质量精神",
    "5": "利用电视、报纸、展板等多种形式宣传创建活动",
    "6": "每年9月开展质量月活动，加强质量舆论宣传",
    "7": "建设与本县经济社会发展相适应的质量技术基础平台",
    "8": "实施标准化发展战略，健全标准化管理体制机制",
    "9": "强化计量基础支撑，健全量值传递和溯源体系",
    "10": "加强认证认可工作，健全认证认可体系",
    "11": "成立质量强县创建工作领导机构，加强创建工作组织领导",
    "12": "召开全县创建动员大会，部署安排创建工作",
    "13": "将质量工作纳入政府领导干部绩效考核",
    "14": "大力开展质量提升行动",
    "15": "加强质量安全监管",
    "16": "提升产品质量水平",
    "17": "提升工程质量水平",
    "18": "提升服务质量水平",
    "19": "提升群众质量满意度",
    "20": "推进质量宏观管理创新",
    "21": "争取加分项目（领导批示、媒体报道、经验推广）",
}
HENAN_EXTRA = "汇总创建材料，迎接省级考核验收"


@dataclass(frozen=True)
class HenanRow:
    """One line of the Henan county's table and the item it belongs to (None: none)."""

    level1: str
    title: str
    content: str
    tasks: str
    units: str
    deadline: str
    acceptance: str
    indicator: str | None


def henan_rows() -> list[HenanRow]:
    """The Henan county's table, one row per 考核评分内容 line, in the county's order."""
    framework = yaml.safe_load(HENAN.read_text(encoding="utf-8"))
    items = [i for i in framework["indicators"] if i.get("lines")]
    ordered: list[dict[str, object]] = []
    for level in framework["levels"]:
        ordered += list(reversed([i for i in items if i["level1"] == level["name"]]))
    rows: list[HenanRow] = []
    for item in ordered:
        units = ""
        for line in item["lines"]:  # type: ignore[attr-defined]
            units = line.get("units") or units  # a blank 责任单位 repeats the one above (merged)
            n = len(rows)
            cell = _county_units(units, n)
            rows.append(HenanRow(
                str(item["level1"]), HENAN_TASKS[str(item["id"])], line["content"], "\n".join(line.get("tasks", ())),
                cell, HENAN_DEADLINES[n % 3], str(item.get("acceptance") or ""), str(item["id"]),
            ))
    last = rows[-1].level1
    rows.append(HenanRow(last, HENAN_EXTRA, "", "", "县创建办公室", "2022年6月30日前", "", None))
    return rows


def _county_units(cell: str, n: int) -> str:
    """Every third row names its units under the county (县市场监管局 → 宁陵县市场监管局) and joins them its own way."""
    units = [u.strip() for u in cell.replace("，", "、").split("、") if u.strip()]
    if n % 3 == 0:
        units = [HENAN_COUNTY + u[1:] if u.startswith("县") else u for u in units]
    return SEPARATORS[n % len(SEPARATORS)].join(units)


def henan_expected(rows: list[HenanRow] | None = None) -> dict[int, str | None]:
    """Sheet row number (title and header first) → the item the row belongs to."""
    return {i + 3: r.indicator for i, r in enumerate(rows or henan_rows())}


def write_henan_xlsx(path: Path, rows: list[HenanRow] | None = None) -> Path:
    """The Henan table as a workbook: a merged title, 项目 and 指标内容 merged over their lines."""
    from openpyxl import Workbook

    rows = rows or henan_rows()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "工作任务分解表"
    sheet.append([HENAN_TITLE])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HENAN_HEADER))
    sheet.append(list(HENAN_HEADER))
    for r in rows:
        sheet.append([r.level1, r.title, r.content, r.tasks, r.units, r.deadline, r.acceptance])
    for column, key in ((1, "level1"), (2, "title"), (7, "acceptance")):
        for start, end in _runs([getattr(r, key) for r in rows]):
            if end > start:
                sheet.merge_cells(start_row=start + 3, start_column=column, end_row=end + 3, end_column=column)
    book.save(path)
    return path


def write_henan_csv(path: Path, rows: list[HenanRow] | None = None, encoding: str = "gb18030") -> Path:
    """The Henan table as a CSV export of the merged sheet: 项目 and 指标内容 only on an item's first line."""
    rows = rows or henan_rows()
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([HENAN_TITLE])
        writer.writerow(HENAN_HEADER)
        previous = ("", "")
        for r in rows:
            level1 = "" if r.level1 == previous[0] else r.level1
            title = "" if (r.level1, r.title) == previous else r.title
            previous = (r.level1, r.title)
            writer.writerow([level1, title, r.content, r.tasks, r.units, r.deadline, r.acceptance])
    return path


HENAN_WRITERS = {"xlsx": write_henan_xlsx, "csv": write_henan_csv}

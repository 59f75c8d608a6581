"""The answers workbook: the same questions as the chat, as an xlsx a department fills offline.

Sheet “填写说明” holds the instructions; sheet “答案” one row per question (number, indicator,
question, type, unit in the header, allowed values, the answer, for tasks the completion date) with
list validation for 是/否 and choices, and the fact ids in hidden, locked columns. Reading keeps each
answer as text (95、0.35、是、2026-05-12) so the chat's reading rules apply unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from knowledge.display import num
from scoring.answer_file import AnswerFile, AnswerFileError, expectation, range_text
from scoring.answers import AnswerProblem
from scoring.questionnaire import Question

if TYPE_CHECKING:
    from knowledge.model import Indicator

SHEET = "答案"
HELP_SHEET = "填写说明"
OPTIONS_SHEET = "选项"
HEADERS = ("序号", "指标", "责任单位", "问题", "单位", "填写要求", "答案", "完成日期（已完成的任务）",
           "事实编号", "日期编号")
ANSWER, WHEN, FACT, DATE_FACT = 7, 8, 9, 10  # 1-based columns
_TYPE = {"bool": "是/否", "count": "整数", "percent": "百分数", "number": "数字", "amount": "金额",
         "choice": "单选", "date": "日期", "text": "文字"}


def write_workbook(
    path: Path,
    questions: Sequence[Question],
    units_of: Callable[[Indicator], Sequence[str]],
    instructions: Sequence[str],
) -> int:
    """Write the workbook; return the number of questions. AnswerFileError when it cannot be written."""
    book = Workbook()
    notes = book.active
    assert notes is not None  # a new Workbook always has a sheet
    notes.title = HELP_SHEET
    for line in instructions:
        notes.append([line])
    notes.column_dimensions["A"].width = 110
    sheet = book.create_sheet(SHEET)
    options = book.create_sheet(OPTIONS_SHEET)
    options.sheet_state = "hidden"
    _fill(sheet, options, questions, units_of)
    book.active = 1
    try:
        book.save(path)
    except OSError as exc:
        raise AnswerFileError(f"无法写入 {path}：{exc.strerror or exc}") from None
    return len(questions)


def _fill(
    sheet: Worksheet, options: Worksheet, questions: Sequence[Question],
    units_of: Callable[[Indicator], Sequence[str]],
) -> None:
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    yes_no = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    dated = DataValidation(type="date", operator="greaterThan", formula1="1", allow_blank=True)
    sheet.add_data_validation(yes_no)
    sheet.add_data_validation(dated)
    open_fill = PatternFill("solid", fgColor="FFF2CC")
    for row, q in enumerate(questions, 2):
        fact = q.fact
        sheet.append([q.number, f"{q.indicator.id} {q.indicator.label}", "、".join(units_of(q.indicator)),
                      fact.question, fact.shown_unit, _requirement(q), None, None, fact.id,
                      q.done_date.id if q.done_date else None])
        answer = sheet.cell(row, ANSWER)
        if fact.type == "bool":
            yes_no.add(answer)
        elif fact.type == "choice":
            column = get_column_letter(options.max_column + (1 if options.max_row > 1 else 0))
            for n, option in enumerate(fact.options, 1):
                options[f"{column}{n}"] = option
            ref = f"{quote_sheetname(OPTIONS_SHEET)}!${column}$1:${column}${len(fact.options)}"
            chosen = DataValidation(type="list", formula1=ref, allow_blank=True)
            sheet.add_data_validation(chosen)
            chosen.add(answer)
        editable = [answer]
        if q.done_date is not None:
            when = sheet.cell(row, WHEN)
            dated.add(when)
            editable.append(when)
        for cell in editable:
            cell.protection = Protection(locked=False)
            cell.fill = open_fill
        for col in range(1, len(HEADERS) + 1):
            sheet.cell(row, col).alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCDEFGH", (6, 24, 18, 50, 8, 30, 16, 16), strict=True):
        sheet.column_dimensions[letter].width = width
    for letter in ("I", "J"):
        sheet.column_dimensions[letter].hidden = True
    sheet.freeze_panes = "A2"
    sheet.protection.sheet = True  # only the answer cells are unlocked
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False


def _requirement(q: Question) -> str:
    fact = q.fact
    text = expectation(fact).removeprefix("应为")
    if fact.type == "choice":
        text = "从下拉列表选择：" + " ".join(f"{i}.{o}" for i, o in enumerate(fact.options, 1))
    if fact.type == "percent":
        text += "；写 0.35% 或 35%，不要只写 0.35"
    if range_text(fact) and fact.type != "percent":
        text += f"（{range_text(fact)}）"
    return f"{_TYPE.get(fact.type, fact.type)}：{text}"


# --- reading a filled workbook ----------------------------------------------------------------


def read_workbook(path: Path) -> AnswerFile:
    """The answers of a filled workbook as text per fact id (None = blank), with their rows."""
    try:
        book = load_workbook(path, data_only=True)
    except FileNotFoundError:
        raise AnswerFileError(f"无法读取答案文件 {path}：文件不存在") from None
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise AnswerFileError(f"无法读取答案文件 {path}：不是有效的 xlsx 工作簿（{type(exc).__name__}）") from None
    if SHEET not in book.sheetnames:
        raise AnswerFileError(f"答案文件 {path} 没有“{SHEET}”工作表：请用 qcbot score --template --format xlsx 生成")
    sheet = book[SHEET]
    header = [str(c.value or "") for c in sheet[1]]
    if header[: len(HEADERS)] != list(HEADERS):
        raise AnswerFileError(f"答案文件 {path} 的“{SHEET}”表第1行不是模板的表头，请勿增删列")
    values: dict[str, str | None] = {}
    lines: dict[str, int] = {}
    problems: list[AnswerProblem] = []
    for row in sheet.iter_rows(min_row=2):
        number = row[0].row
        for col, id_col in ((ANSWER, FACT), (WHEN, DATE_FACT)):
            fact_id = row[id_col - 1].value
            if not fact_id:
                continue
            key = str(fact_id)
            if key in lines:
                problems.append(AnswerProblem(key, None, f"第{number}行重复（第{lines[key]}行已有）"))
                continue
            lines[key] = number
            values[key] = cell_text(row[col - 1].value, row[col - 1].number_format)
    return AnswerFile(values, lines, tuple(problems))


def cell_text(value: object, number_format: str = "General") -> str | None:
    """A cell's value as the text a liaison would type: 35% for a percent-formatted 0.35."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):
        if "%" in (number_format or ""):
            return f"{num(float(value) * 100, 6)}%"
        return f"{value:.15g}"
    text = str(value).strip()
    return text or None

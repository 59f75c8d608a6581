"""申请表.docx: the 申请表 of seed 000 in its own order, filled from the stored answers.

Cover (county, date), 填报说明, 一、基本情况 with its three-year table, 二、重要指标 with each row's
填报内容 ticked and filled, then the 材料清单目录. Written with python-docx (Word and WPS open it).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.table import Table

from handlers.package.listing import ListedFile
from knowledge.form_layout import FormLayout, filled_content, show_value

FONT = "宋体"
LIST_TITLE = "证实性材料清单目录"
LIST_COLUMNS = ("序号", "指标", "文件", "部门", "报送时间", "SHA-256")


def application_docx(
    layout: FormLayout,
    county: str,
    answers: Mapping[str, object],
    listed: Sequence[ListedFile],
    filled_on: date | None,
) -> bytes:
    """The filled 申请表 as .docx bytes (small: text and tables only)."""
    doc = Document()
    _fonts(doc)
    _cover(doc, layout, county, filled_on)
    _instructions(doc, layout)
    _basic(doc, layout, county, answers)
    _important(doc, layout, answers)
    _listing(doc, listed)
    props = doc.core_properties
    props.title = f"{county}{layout.title}"
    props.author = props.last_modified_by = "qcbot"
    props.revision = 1
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _fonts(doc: object) -> None:
    styles = doc.styles  # type: ignore[attr-defined]
    for name in ("Normal", "Title", "Heading 1", "Heading 2"):
        style = styles[name]
        style.font.name = FONT
        style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    styles["Normal"].font.size = Pt(11)


def _centered(doc: object, text: str, size: float, bold: bool = False) -> None:
    paragraph = doc.add_paragraph()  # type: ignore[attr-defined]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.bold = bold


def _cover(doc: object, layout: FormLayout, county: str, filled_on: date | None) -> None:
    cover = layout.cover
    for _ in range(6):
        doc.add_paragraph()  # type: ignore[attr-defined]
    _centered(doc, layout.title, 24, bold=True)
    for _ in range(8):
        doc.add_paragraph()  # type: ignore[attr-defined]
    _centered(doc, f"{cover['applicant']}  {county}  {cover['seal']}", 16)
    if filled_on is not None:
        when = f"{filled_on.year} {cover['year']} {filled_on.month} {cover['month']} {filled_on.day} {cover['day']}"
    else:
        when = f"        {cover['year']}     {cover['month']}     {cover['day']}"
    _centered(doc, f"{cover['date']}{when}", 16)
    doc.add_page_break()  # type: ignore[attr-defined]


def _instructions(doc: object, layout: FormLayout) -> None:
    _centered(doc, layout.instructions_title, 18, bold=True)
    for text in layout.instructions:
        doc.add_paragraph(text)  # type: ignore[attr-defined]
    doc.add_page_break()  # type: ignore[attr-defined]


def _table(doc: object, rows: int, cols: int) -> Table:
    table: Table = doc.add_table(rows=rows, cols=cols)  # type: ignore[attr-defined]
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    return table


def _basic(doc: object, layout: FormLayout, county: str, answers: Mapping[str, object]) -> None:
    b = layout.basic
    _centered(doc, b.heading, 16, bold=True)
    pairs = max(len(line) for line in b.contacts)
    head = _table(doc, 2 + len(b.contacts), 2 * pairs)
    head.cell(0, 0).text = b.applicant
    head.cell(0, 1).merge(head.cell(0, 2 * pairs - 1)).text = f"{county}  {b.seal}"
    for r, line in enumerate(b.contacts, start=1):
        for k, label in enumerate(line):
            head.cell(r, 2 * k).text = label
        if len(line) < pairs:
            head.cell(r, 2 * len(line) - 1).merge(head.cell(r, 2 * pairs - 1))
    area = len(b.contacts) + 1
    head.cell(area, 0).text = b.area_heading
    for k, label in enumerate(b.area):
        head.cell(area, 1 + 2 * k).text = label
    if 1 + 2 * len(b.area) < 2 * pairs:
        head.cell(area, 2 * len(b.area)).merge(head.cell(area, 2 * pairs - 1))
    years = _table(doc, 1 + len(b.year_rows), 1 + len(b.years))
    years.cell(0, 0).text = "\n".join(b.years_header)
    for k, year in enumerate(b.years, start=1):
        years.cell(0, k).text = year
    for r, label in enumerate(b.year_rows, start=1):
        years.cell(r, 0).text = label
    tail = _table(doc, 3, 2)
    model = answers.get(b.model_fact) if b.model_fact else None
    for r, (label, text) in enumerate((
        (b.performance, b.performance_content),
        (b.model, b.model_prompt + (f"\n{show_value(model)}" if model is not None else "")),
        (b.profile, b.profile_prompt),
    )):
        tail.cell(r, 0).text = label
        tail.cell(r, 1).text = text
    doc.add_page_break()  # type: ignore[attr-defined]


def _important(doc: object, layout: FormLayout, answers: Mapping[str, object]) -> None:
    _centered(doc, layout.heading, 16, bold=True)
    table = _table(doc, 1 + len(layout.rows), len(layout.header))
    for k, label in enumerate(layout.header):
        table.cell(0, k).text = label
        table.cell(0, k).paragraphs[0].runs[0].bold = True
    starts: dict[tuple[int, str], int] = {}
    for r, row in enumerate(layout.rows, start=1):
        table.cell(r, 2).text = row.statement
        table.cell(r, 3).text = filled_content(row, answers)
        if row.level2 is None:  # 一票否决项: one cell over 一级 and 二级
            table.cell(r, 0).merge(table.cell(r, 1)).text = row.level1
            continue
        for col, name in ((0, row.level1), (1, f"{row.level1}/{row.level2}")):
            first = starts.get((col, name))
            previous = layout.rows[r - 2] if r > 1 else None
            same = previous is not None and (
                previous.level1 == row.level1 and (col == 0 or previous.level2 == row.level2)
            )
            if same and first is not None:
                table.cell(first, col).merge(table.cell(r, col))
            else:
                starts[(col, name)] = r
                table.cell(r, col).text = row.level1 if col == 0 else row.level2


def _listing(doc: object, listed: Sequence[ListedFile]) -> None:
    doc.add_page_break()  # type: ignore[attr-defined]
    _centered(doc, LIST_TITLE, 16, bold=True)
    if not listed:
        doc.add_paragraph("（尚无证实性材料）")  # type: ignore[attr-defined]
        return
    table = _table(doc, 1 + len(listed), len(LIST_COLUMNS))
    rows = table.rows  # row by row: table.cell() rebuilds the whole grid on every call
    for cell, label in zip(rows[0].cells, LIST_COLUMNS, strict=True):
        cell.text = label
    for row, item in zip(rows[1:], listed, strict=True):
        values = (str(item.no), item.label, item.arcname, item.department, item.received, item.sha256)
        cells = row.cells
        for cell, value in zip(cells, values, strict=True):
            cell.text = value
        for run in cells[5].paragraphs[0].runs:
            run.font.size = Pt(7)

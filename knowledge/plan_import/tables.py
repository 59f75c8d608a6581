"""Read a county's 任务分解表 (.xlsx, .docx, .csv) into grids of cell texts, merged cells filled in."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from knowledge.plan_import.errors import TableError

Grid = list[list[str]]
MAX_BYTES = 20 * 1024 * 1024  # a task table is a few hundred KB; beyond this it is not one
ENCODINGS = ("utf-8-sig", "gb18030")  # utf-8-sig reads utf-8 with or without a BOM
SUFFIXES = (".xlsx", ".docx", ".csv")


def read_grids(path: Path) -> list[tuple[str, Grid]]:
    """Every table of the file as (where, rows of cell texts); a merged cell's value fills its range."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise TableError(f"{path.name}：不支持的文件类型“{path.suffix or '无扩展名'}”，请提供 .xlsx、.docx 或 .csv 文件")
    if not path.is_file():
        raise TableError(f"{path.name}：文件不存在")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise TableError(f"{path.name}：无法读取文件（{exc.strerror or exc}）") from None
    if size == 0:
        raise TableError(f"{path.name}：文件是空的")
    if size > MAX_BYTES:
        raise TableError(f"{path.name}：文件超过 {MAX_BYTES // 1024 // 1024} MB，不像任务分解表")
    if suffix == ".csv":
        return [("", _csv(path))]
    if not zipfile.is_zipfile(path):
        kind = "Excel（.xlsx）" if suffix == ".xlsx" else "Word（.docx）"
        raise TableError(f"{path.name}：不是有效的 {kind} 文件（可能已损坏，或是旧版 .xls/.doc 改了扩展名，请另存为 {suffix}）")
    try:
        return _xlsx(path) if suffix == ".xlsx" else _docx(path)
    except TableError:
        raise
    except Exception as exc:  # a damaged package raises anything from zipfile, lxml or the readers
        raise TableError(f"{path.name}：文件无法打开（{type(exc).__name__}），请用 Office 或 WPS 重新另存后再导入") from None


def _xlsx(path: Path) -> list[tuple[str, Grid]]:
    from openpyxl import load_workbook

    book = load_workbook(path, data_only=True)  # not read_only: merged ranges are needed
    out: list[tuple[str, Grid]] = []
    for sheet in book.worksheets:
        grid = [[_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        for merged in sheet.merged_cells.ranges:
            value = _text(sheet.cell(merged.min_row, merged.min_col).value)
            for r in range(merged.min_row, min(merged.max_row, len(grid)) + 1):
                row = grid[r - 1]
                row.extend([""] * (merged.max_col - len(row)))
                for c in range(merged.min_col, merged.max_col + 1):
                    row[c - 1] = value
        out.append((f"工作表“{sheet.title}”", grid))
    return out


def _docx(path: Path) -> list[tuple[str, Grid]]:
    from docx import Document

    doc = Document(str(path))
    out: list[tuple[str, Grid]] = []
    for n, table in enumerate(doc.tables, start=1):
        grid: Grid = []
        for row in table.rows:  # row.cells repeats a merged cell over every grid position it covers
            cells = [""] * row.grid_cols_before + [cell.text for cell in row.cells]
            grid.append([_text(c) for c in cells])
        out.append((f"第{n}个表格", grid))
    return out


def _csv(path: Path) -> Grid:
    data = path.read_bytes()
    text = None
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None or "\x00" in text:
        raise TableError(f"{path.name}：无法识别文件编码（应为 UTF-8 或 GB18030/GBK 的文本 CSV）")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    try:
        return [[_text(c) for c in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
    except csv.Error as exc:
        raise TableError(f"{path.name}：CSV 格式错误（{exc}）") from None


def _text(value: object) -> str:
    """A cell's value as text: numbers without a trailing .0, line breaks kept, ends stripped."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()

"""An .xlsx workbook from plain sheets (title, header, rows): bold header, frozen, sized columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Cell = str | int | float | None
HEADER_COLOR = "DDEBF7"
MAX_WIDTH = 60


@dataclass(frozen=True)
class Sheet:
    """One worksheet: its title (≤31 characters), column names and rows."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def write_workbook(path: Path, sheets: Sequence[Sheet]) -> Path:
    """Write the sheets in order to `path` (parent folders created); return the path."""
    from openpyxl import Workbook  # imported only when a workbook is written

    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        _fill(book.create_sheet(sheet.title[:31]), sheet)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def _fill(ws: Any, sheet: Sheet) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws.append(list(sheet.header))
    for row in sheet.rows:
        ws.append(list(row))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEADER_COLOR)
    ws.freeze_panes = "A2"
    for index, name in enumerate(sheet.header, 1):
        values = [name, *(row[index - 1] for row in sheet.rows if index - 1 < len(row))]
        width = max(_width(v) for v in values)
        ws.column_dimensions[get_column_letter(index)].width = min(MAX_WIDTH, width + 2)
        if width > MAX_WIDTH:
            for cell in ws[get_column_letter(index)][1:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")


def _width(value: Cell) -> int:
    """Display width: CJK characters count double."""
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)

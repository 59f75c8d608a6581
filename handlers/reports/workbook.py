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
    headings: frozenset[int] = frozenset()  # rows (0-based) drawn as a header: a table stacked below


def stacked(title: str, parts: Sequence[Sheet]) -> Sheet:
    """One worksheet holding several tables one below the other, each under its title and header."""
    rows: list[tuple[Cell, ...]] = []
    headings: set[int] = set()
    for index, part in enumerate(parts):
        if index:
            rows.append(())
            headings.add(len(rows))
            rows.append((part.title,))
        headings.add(len(rows))
        rows.append(part.header)
        rows.extend(part.rows)
    first = parts[0].title if parts else title
    return Sheet(title, (first,), tuple(rows), frozenset(headings))


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
    for line in (1, *(h + 2 for h in sorted(sheet.headings))):
        for cell in ws[line]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor=HEADER_COLOR)
    ws.freeze_panes = "A2"
    columns = max([len(sheet.header), *(len(row) for row in sheet.rows)])
    for index in range(1, columns + 1):
        name = sheet.header[index - 1] if index <= len(sheet.header) else ""
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

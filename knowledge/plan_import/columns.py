"""Find the header row of a task table by its words and read the rows under it as TaskRows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.plan_import.errors import TableError
from knowledge.plan_import.tables import Grid

HEADER_SEARCH = 15  # the header is among a table's first rows (a title and a note may come first)

# Column roles by header words, most specific first (一级指标 before 指标). Matched on the cell
# without whitespace and without a trailing note in brackets (分值（分） → 分值).
ROLES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (role, re.compile(pattern))
    for role, pattern in (
        ("indicator", r"(对应|评价|三级)?指标(序号|编号|号)|对应指标|对应序号|指标项"),
        ("level1", r"一级(指标)?|(评价)?类别|大类|领域"),
        ("level2", r"二级(指标)?|(评价)?项目|类目"),
        ("criteria", r"(评价|评分|考核|验收)(标准|方法|细则)|考核评分(方法|内容)|(考核|评分)内容|(工作|具体|目标)要求|评分办法"),
        ("points", r"(标准)?分值|分数|赋分|满分|标准分"),
        ("lead", r"牵头(单位|部门)?|主责(单位|部门)"),
        ("support", r"配合(单位|部门)?|协办(单位|部门)?|参与(单位|部门)"),
        ("units", r"责任(单位|部门|主体)|承办(单位|部门)|负责(单位|部门)"),
        ("deadline", r"完成(时限|时间)|时限(要求)?|时间(节点|要求|安排)|进度安排"),
        ("data_source", r"数据来源"),
        ("no", r"序号?|编号|行号|No\.?"),
        ("title", r"(三级)?指标(内容|名称)?|评价(内容|指标)|(重点|具体|主要|工作)?任务(内容|名称)?|工作(内容|措施)|具体措施|创建内容"),
    )
)
_NOTE = re.compile(r"[（(][^）)]*[）)]$")
_SPACE = re.compile(r"\s+")
_POINTS = re.compile(r"^(\d+(?:\.\d+)?)\s*分?$")
_NUMBER = re.compile(r"^\D{0,3}?(\d{1,3})(?!\d)")


@dataclass(frozen=True)
class TaskRow:
    """One task row of a county's table, its headings filled in from the rows above."""

    line: int  # row number in its sheet or table, 1-based, as a spreadsheet shows it
    where: str  # 工作表“…” or 第N个表格; "" for a CSV
    no: str
    level1: str
    level2: str
    title: str
    criteria: str
    points: float | None
    lead: str
    support: str
    units: str
    deadline: str
    indicator_ref: str | None  # an explicit indicator number the table gives

    @property
    def label(self) -> str:
        """How the report names the row: 序号 3（第5行）."""
        where = f"{self.where}" if self.where else ""
        return f"{where}第{self.line}行" + (f"（序号 {self.no}）" if self.no else "")


def header_role(cell: str) -> str | None:
    """The role a header cell names, or None."""
    key = _NOTE.sub("", _SPACE.sub("", cell))
    if not key or len(key) > 12:
        return None
    return next((role for role, pattern in ROLES if pattern.fullmatch(key)), None)


def find_header(grid: Grid) -> tuple[int, dict[str, int]] | None:
    """The header row's index and role → column, when a row names a task column and two more."""
    best: tuple[int, dict[str, int]] | None = None
    for index, row in enumerate(grid[:HEADER_SEARCH]):
        roles: dict[str, int] = {}
        for column, cell in enumerate(row):
            role = header_role(cell)
            if role is not None and role not in roles:
                roles[role] = column
        if "title" in roles and len(roles) >= 3 and (best is None or len(roles) > len(best[1])):
            best = (index, roles)
    return best


def task_rows(tables: list[tuple[str, Grid]], name: str) -> tuple[list[TaskRow], str]:
    """The task rows of every table that has a header (a table without one continues the last); and the title above."""
    rows: list[TaskRow] = []
    columns: dict[str, int] | None = None
    title = ""
    for where, grid in tables:
        found = find_header(grid)
        start = 0
        if found is not None:
            start, columns = found[0] + 1, found[1]
            title = title or _title_above(grid[: found[0]])
        elif columns is None or not grid or len(grid[0]) <= max(columns.values()):
            continue
        rows += _rows(grid, start, columns, where if len(tables) > 1 else "")
    if columns is None:
        raise TableError(
            f"{name}：没有找到任务分解表的表头（需要一行写有“序号”“任务”或“指标”“责任单位”或“牵头单位”等列名）"
        )
    if not rows:
        raise TableError(f"{name}：表头下面没有任务行")
    return rows, title


def _rows(grid: Grid, start: int, columns: dict[str, int], where: str) -> list[TaskRow]:
    out: list[TaskRow] = []
    heading = {"level1": "", "level2": ""}
    above = ""  # the task title above: a merged 指标内容 exported blank under its first line (Henan)
    for index in range(start, len(grid)):
        row = grid[index]

        def cell(role: str, row: list[str] = row) -> str:
            column = columns.get(role)
            return row[column].strip() if column is not None and column < len(row) else ""

        filled = {c for c in row if c}
        if len(filled) == 1 and len([c for c in row if c]) > 2:  # a section row merged across the table
            heading = {"level1": filled.pop(), "level2": ""}
            continue
        for level in ("level1", "level2"):
            if cell(level):
                if level == "level1" and cell(level) != heading["level1"]:
                    heading["level2"] = ""
                heading[level] = cell(level)
        title = cell("title")
        if not title and above and cell("criteria") and columns.get("criteria") != columns.get("title"):
            title = above  # another 考核评分内容 line of the item above
        if not title or header_role(title) == "title":  # blank, or a repeated header
            continue
        above = title
        out.append(
            TaskRow(
                line=index + 1,
                where=where,
                no=cell("no"),
                level1=heading["level1"],
                level2=heading["level2"],
                title=title,
                criteria=cell("criteria"),
                points=_points(cell("points")),
                lead=cell("lead"),
                support=cell("support"),
                units=cell("units"),
                deadline=cell("deadline"),
                indicator_ref=_number(cell("indicator")),
            )
        )
    return out


def _title_above(rows: Grid) -> str:
    """The table's title: the longest text above the header (a merged title row)."""
    texts = [c for row in rows for c in row if c]
    return max(texts, key=len, default="").replace("\n", "")


def _points(text: str) -> float | None:
    match = _POINTS.match(text.replace("分值", "").strip())
    return float(match.group(1)) if match else None


def _number(text: str) -> str | None:
    match = _NUMBER.match(text.strip())
    return str(int(match.group(1))) if match else None

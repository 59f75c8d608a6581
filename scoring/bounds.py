"""The office's 功效系数法 bounds: read from a file (YAML or CSV), from stored rows, and reported.

Bounds set by the office are official (`Bounds.official`); every other measure keeps its
estimate (the default in the rules, or the plan's). `bounds_in_use` lists, for a result, the
bounds each measure was scored with and which kind they are.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import yaml

from knowledge.bounds import bounds_problem, efficacy_measures, find_measures
from knowledge.rules import Bounds
from scoring.results import BoundsInUse

if TYPE_CHECKING:
    from knowledge.model import Framework

log = logging.getLogger(__name__)
KEY_WORDS = ("measure", "indicator", "测度", "指标", "编号")
SATISFIED_WORDS = ("satisfied", "x满意", "满意值", "满意")
ALLOWED_WORDS = ("disallowed", "allowed", "x不允许", "不允许值", "不允许")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_UNITS = ("个百分点", "百分点", "%", "％")
MAX_FILE_BYTES = 1_000_000


def bounds_in_use(
    framework: Framework, merged: Mapping[str, Bounds], indicators: Iterable[str]
) -> tuple[BoundsInUse, ...]:
    """The bounds every efficacy measure of these indicators is scored with, official or not."""
    keep = set(indicators)
    out = []
    for m in efficacy_measures(framework):
        if m.indicator not in keep:
            continue
        b = merged.get(m.key, m.default)
        out.append(
            BoundsInUse(
                key=m.key,
                indicator=m.indicator,
                label=m.label,
                satisfied=b.satisfied,
                allowed=b.allowed,
                direction=m.direction,
                unit=m.unit,
                official=b.official,
                stated=b.stated and not b.official,
                set_by=b.set_by,
                set_at=b.set_at,
            )
        )
    return tuple(out)


# --- stored rows --------------------------------------------------------------------------------


class BoundsRow(Protocol):
    """What scoring needs of a stored official bound."""

    @property
    def measure(self) -> str: ...
    @property
    def satisfied(self) -> float: ...
    @property
    def allowed(self) -> float: ...
    @property
    def set_by(self) -> str: ...
    @property
    def set_at(self) -> str: ...


def official_bounds(framework: Framework, rows: Iterable[BoundsRow]) -> dict[str, Bounds]:
    """Stored rows as official Bounds by measure key; a row the system no longer takes is skipped."""
    measures = {m.key: m for m in efficacy_measures(framework)}
    out: dict[str, Bounds] = {}
    for row in rows:
        measure = measures.get(row.measure)
        problem = (
            "没有这个功效系数测度"
            if measure is None
            else bounds_problem(measure, row.satisfied, row.allowed)
        )
        if problem is not None:
            log.warning("stored bounds %s of %s skipped: %s", row.measure, framework.id, problem)
            continue
        out[row.measure] = official(row.satisfied, row.allowed, row.set_by, row.set_at)
    return out


def official(satisfied: float, allowed: float, by: str, at: str = "") -> Bounds:
    """Bounds the office set."""
    note = f"{by}设定" if by else "质量强县办设定"
    return Bounds(satisfied, allowed, note=note, official=True, set_by=by, set_at=at)


# --- the --bounds file ----------------------------------------------------------------------------


class BoundsFileError(Exception):
    """A bounds file that cannot be used; `problems` are `file: line: message` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class _Entry:
    line: int
    key: str
    satisfied: str
    allowed: str


def read_bounds_file(path: Path, framework: Framework) -> dict[str, Bounds]:
    """Official bounds from a YAML or CSV file (measure, satisfied, disallowed); BoundsFileError lists every problem."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BoundsFileError([f"{name}: 无法读取：{exc.strerror or exc}"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise BoundsFileError([f"{name}: 文件过大（超过1 MB），不像界值文件"])
    text = _decode(data)
    if text is None:
        raise BoundsFileError([f"{name}: 不是文本文件（应为 UTF-8 或 GBK 编码的 YAML/CSV）"])
    problems: list[str] = []
    if path.suffix.lower() == ".csv":
        entries = _csv_entries(text, name, problems)
    else:
        entries = _yaml_entries(text, name, problems)
    out = _check_entries(entries, framework, name, path.name, problems)
    if not entries and not problems:
        problems.append(f"{name}: 1: 文件里没有界值（每行：测度编号, 满意值, 不允许值）")
    if problems:
        raise BoundsFileError(problems)
    return out


def _decode(data: bytes) -> str | None:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _check_entries(
    entries: list[_Entry], framework: Framework, name: str, short: str, problems: list[str]
) -> dict[str, Bounds]:
    measures = efficacy_measures(framework)
    out: dict[str, Bounds] = {}
    first: dict[str, int] = {}
    for entry in entries:
        where = f"{name}: {entry.line}: "
        found = find_measures(measures, entry.key)
        if not found:
            available = "、".join(m.key for m in measures) or "无"
            problems.append(f"{where}{framework.id} 没有测度“{entry.key}”（可用：{available}）")
            continue
        if len(found) > 1:
            listed = "、".join(f"{m.key} {m.label}" for m in found)
            problems.append(
                f"{where}第{found[0].indicator}项有{len(found)}个测度：{listed}，请写到测度"
            )
            continue
        measure = found[0]
        values = [_number(entry.satisfied), _number(entry.allowed)]
        if None in values:
            bad = entry.satisfied if values[0] is None else entry.allowed
            problems.append(f"{where}“{bad}”不是数字（满意值、不允许值都应为数字，如 1.5、-0.5）")
            continue
        satisfied, allowed = values[0] or 0.0, values[1] or 0.0
        problem = bounds_problem(measure, satisfied, allowed)
        if problem is not None:
            problems.append(f"{where}{problem}")
            continue
        if measure.key in first:
            problems.append(f"{where}{measure.key} 已在第{first[measure.key]}行设定")
            continue
        first[measure.key] = entry.line
        out[measure.key] = official(satisfied, allowed, f"文件{short}")
    return out


def _number(text: str) -> float | None:
    value = text.strip().replace("−", "-").replace("－", "-")
    for unit in _UNITS:
        value = value.removesuffix(unit).strip()
    if not _NUMBER.match(value):
        return None
    return float(value) + 0.0


def _key(text: str) -> str:
    return text.strip().removeprefix("第").removesuffix("项").strip()


def _column(words: tuple[str, ...], header: list[str]) -> int | None:
    cells = [cell.strip().lower() for cell in header]
    return next((i for i, cell in enumerate(cells) if cell in words), None)


def _csv_entries(text: str, name: str, problems: list[str]) -> list[_Entry]:
    rows = [
        (n, row)
        for n, row in enumerate(csv.reader(io.StringIO(text)), 1)
        if any(cell.strip() for cell in row) and not row[0].lstrip().startswith("#")
    ]
    if not rows:
        return []
    order = [0, 1, 2]
    head = rows[0][1]
    found = [_column(words, head) for words in (KEY_WORDS, SATISFIED_WORDS, ALLOWED_WORDS)]
    if any(i is not None for i in found):
        if None in found:
            problems.append(
                f"{name}: {rows[0][0]}: 表头应有三列：measure（测度编号）、satisfied（满意值）、disallowed（不允许值）"
            )
            return []
        order = [i for i in found if i is not None]
        rows = rows[1:]
    out = []
    for line, row in rows:
        if len(row) <= max(order):
            problems.append(f"{name}: {line}: 应有三列：测度编号, 满意值, 不允许值")
            continue
        out.append(_Entry(line, _key(row[order[0]]), row[order[1]], row[order[2]]))
    return out


def _yaml_entries(text: str, name: str, problems: list[str]) -> list[_Entry]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problems.append(f"{name}: {line}: 不是有效的 YAML（{getattr(exc, 'problem', '') or exc}）")
        return []
    if root is None:
        return []
    if isinstance(root, yaml.MappingNode):
        return [e for k, v in root.value if (e := _mapping_entry(k, v, name, problems))]
    if isinstance(root, yaml.SequenceNode):
        return [e for item in root.value if (e := _list_entry(item, name, problems))]
    problems.append(
        f"{name}: {root.start_mark.line + 1}: 应为列表（- measure: 10.a.2 …）或映射（10.a.2: {{…}}）"
    )
    return []


def _fields(node: yaml.Node, name: str, problems: list[str]) -> dict[str, tuple[int, str]] | None:
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode):
        problems.append(f"{name}: {line}: 应写 satisfied（满意值）和 disallowed（不允许值）")
        return None
    out: dict[str, tuple[int, str]] = {}
    for key, value in node.value:
        word = str(key.value).strip().lower()
        if not isinstance(value, yaml.ScalarNode):
            problems.append(f"{name}: {value.start_mark.line + 1}: {word} 应为一个值")
            return None
        role = next(
            (
                role
                for role, words in (
                    ("key", KEY_WORDS),
                    ("satisfied", SATISFIED_WORDS),
                    ("allowed", ALLOWED_WORDS),
                )
                if word in words
            ),
            None,
        )
        if role is None:
            problems.append(
                f"{name}: {key.start_mark.line + 1}: 未知字段 {word}（可用：measure、satisfied、disallowed）"
            )
            return None
        out[role] = (value.start_mark.line + 1, str(value.value))
    return out


def _entry(
    fields: dict[str, tuple[int, str]], line: int, name: str, problems: list[str]
) -> _Entry | None:
    missing = [
        word
        for role, word in (
            ("satisfied", "satisfied（满意值）"),
            ("allowed", "disallowed（不允许值）"),
        )
        if role not in fields
    ]
    if missing or "key" not in fields:
        what = "、".join(([] if "key" in fields else ["measure（测度编号）"]) + missing)
        problems.append(f"{name}: {line}: 缺少 {what}")
        return None
    return _Entry(line, _key(fields["key"][1]), fields["satisfied"][1], fields["allowed"][1])


def _mapping_entry(
    key: yaml.Node, value: yaml.Node, name: str, problems: list[str]
) -> _Entry | None:
    fields = _fields(value, name, problems)
    if fields is None:
        return None
    fields["key"] = (key.start_mark.line + 1, str(key.value))
    return _entry(fields, key.start_mark.line + 1, name, problems)


def _list_entry(item: yaml.Node, name: str, problems: list[str]) -> _Entry | None:
    fields = _fields(item, name, problems)
    if fields is None:
        return None
    return _entry(fields, item.start_mark.line + 1, name, problems)

"""The 申请表's layout, in its own order: cover, 填报说明, 基本情况 and the 重要指标 rows to fill in.

Loaded from knowledge/data/forms/shandong_application_layout.yaml (verbatim text from seed 000) with
our `editorial` reading of each row: the indicator it belongs to, the facts that tick its “□” and
fill its “____”. The 申报材料 package writes 申请表.docx from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge.errors import KnowledgeError

LAYOUT_FILE = Path(__file__).parent / "data" / "forms" / "shandong_application_layout.yaml"
TICK_KINDS = ("fact", "all", "any", "counts")
BlankSpec = str | tuple[str, ...] | None  # a fact, the sum of several, or left empty


@dataclass(frozen=True)
class Tick:
    """How a row's “□” are ticked: from one fact, all/any of several, or the counts in its blanks."""

    kind: str  # fact | all | any | counts
    facts: tuple[str, ...] = ()
    yes: tuple[str, ...] = ()  # choice options that mean 是
    min: float | None = None  # a number at least this means 是


@dataclass(frozen=True)
class FormRow:
    """One 重要指标 row: 一级, 二级, 指标表述 and the 填报内容 template (verbatim)."""

    level1: str
    level2: str | None
    statement: str
    content: str
    indicator: str
    tick: Tick | None = None
    blanks: tuple[BlankSpec, ...] = ()

    def facts(self) -> tuple[str, ...]:
        """Every fact the row reads."""
        out = list(self.tick.facts) if self.tick else []
        for blank in self.blanks:
            out += [blank] if isinstance(blank, str) else list(blank or ())
        return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class BasicSection:
    """一、基本情况: contacts, area, the three-year table and the closing rows."""

    heading: str
    applicant: str
    seal: str
    contacts: tuple[tuple[str, ...], ...]
    area_heading: str
    area: tuple[str, ...]
    years_header: tuple[str, ...]
    years: tuple[str, ...]
    year_rows: tuple[str, ...]
    performance: str
    performance_content: str
    model: str
    model_prompt: str
    profile: str
    profile_prompt: str
    model_fact: str | None = None


@dataclass(frozen=True)
class FormLayout:
    """The whole 申请表 as printed in the seed, with how stored answers fill it."""

    id: str
    framework: str
    source: str
    title: str
    cover: dict[str, str]
    instructions_title: str
    instructions: tuple[str, ...]
    basic: BasicSection
    heading: str
    header: tuple[str, ...]
    rows: tuple[FormRow, ...]

    def verbatim(self) -> Iterator[tuple[str, str]]:
        """(path, text) of every field transcribed from the seed."""
        yield "title", self.title
        for key, text in self.cover.items():
            yield f"cover.{key}", text
        yield "instructions_title", self.instructions_title
        for i, text in enumerate(self.instructions):
            yield f"instructions[{i}]", text
        b = self.basic
        for name in ("heading", "applicant", "seal", "area_heading", "performance",
                     "performance_content", "model", "model_prompt", "profile", "profile_prompt"):
            yield f"basic.{name}", getattr(b, name)
        for group in ("contacts",):
            for i, line in enumerate(getattr(b, group)):
                for j, text in enumerate(line):
                    yield f"basic.{group}[{i}][{j}]", text
        for group in ("area", "years_header", "years", "year_rows"):
            for i, text in enumerate(getattr(b, group)):
                yield f"basic.{group}[{i}]", text
        yield "important.heading", self.heading
        for i, text in enumerate(self.header):
            yield f"important.header[{i}]", text
        for i, row in enumerate(self.rows):
            where = f"important.rows[{i}]"
            yield f"{where}.level1", row.level1
            if row.level2:
                yield f"{where}.level2", row.level2
            yield f"{where}.statement", row.statement
            yield f"{where}.content", row.content


def load_layout(path: Path = LAYOUT_FILE) -> FormLayout:
    """Read and check the layout file; a problem raises KnowledgeError naming the file and path."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(path.name, "", f"无法读取：{exc}") from None
    reader = _Reader(path.name)
    data = reader.mapping(raw, "")
    basic = reader.mapping(data.get("basic"), "basic")
    important = reader.mapping(data.get("important"), "important")
    rows = [reader.row(r, f"important.rows[{i}]") for i, r in enumerate(reader.seq(important.get("rows"), "important.rows"))]
    return FormLayout(
        id=reader.text(data, "id", ""),
        framework=reader.text(data, "framework", ""),
        source=reader.text(data, "source", ""),
        title=reader.text(data, "title", ""),
        cover={str(k): str(v) for k, v in reader.mapping(data.get("cover"), "cover").items()},
        instructions_title=reader.text(data, "instructions_title", ""),
        instructions=reader.texts(data.get("instructions"), "instructions"),
        basic=BasicSection(
            **{k: reader.text(basic, k, "basic") for k in (
                "heading", "applicant", "seal", "area_heading", "performance", "performance_content",
                "model", "model_prompt", "profile", "profile_prompt")},
            contacts=tuple(reader.texts(c, f"basic.contacts[{i}]")
                           for i, c in enumerate(reader.seq(basic.get("contacts"), "basic.contacts"))),
            area=reader.texts(basic.get("area"), "basic.area"),
            years_header=reader.texts(basic.get("years_header"), "basic.years_header"),
            years=reader.texts(basic.get("years"), "basic.years"),
            year_rows=reader.texts(basic.get("year_rows"), "basic.year_rows"),
            model_fact=(basic.get("editorial") or {}).get("model_fact"),
        ),
        heading=reader.text(important, "heading", "important"),
        header=reader.texts(important.get("header"), "important.header"),
        rows=tuple(rows),
    )


class _Reader:
    """Type checks that name the file and the path of what is wrong."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, where: str, message: str) -> KnowledgeError:
        return KnowledgeError(self.file, where, message)

    def mapping(self, raw: object, where: str) -> Mapping[str, Any]:
        if not isinstance(raw, dict):
            raise self.fail(where, "应为映射")
        return raw

    def seq(self, raw: object, where: str) -> list[Any]:
        if not isinstance(raw, list):
            raise self.fail(where, "应为列表")
        return raw

    def text(self, data: Mapping[str, Any], key: str, where: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}.{key}".lstrip("."), "应为非空文字")
        return value

    def texts(self, raw: object, where: str) -> tuple[str, ...]:
        items = self.seq(raw, where)
        if not all(isinstance(t, str) and t.strip() for t in items):
            raise self.fail(where, "应为文字列表")
        return tuple(items)

    def row(self, raw: object, where: str) -> FormRow:
        data = self.mapping(raw, where)
        editorial = self.mapping(data.get("editorial"), f"{where}.editorial")
        level2 = data.get("level2")
        return FormRow(
            level1=self.text(data, "level1", where),
            level2=str(level2) if level2 else None,
            statement=self.text(data, "statement", where),
            content=self.text(data, "content", where),
            indicator=str(editorial.get("indicator") or ""),
            tick=self.tick(editorial.get("tick"), f"{where}.editorial.tick"),
            blanks=tuple(self.blank(b, f"{where}.editorial.blanks[{i}]")
                         for i, b in enumerate(editorial.get("blanks") or ())),
        )

    def tick(self, raw: object, where: str) -> Tick | None:
        if raw is None:
            return None
        if raw == "counts":
            return Tick("counts")
        data = self.mapping(raw, where)
        unknown = sorted(str(k) for k in data if k not in ("fact", "means_yes", "min", "all", "any"))
        if unknown:
            raise self.fail(where, f"未知的键：{'、'.join(unknown)}")
        if "fact" in data:
            minimum = data.get("min")
            if minimum is not None and not isinstance(minimum, int | float):
                raise self.fail(f"{where}.min", "应为数字")
            return Tick("fact", (str(data["fact"]),), tuple(str(y) for y in data.get("means_yes") or ()),
                        float(minimum) if minimum is not None else None)
        for kind in ("all", "any"):
            if kind in data:
                return Tick(kind, self.texts(data[kind], f"{where}.{kind}"))
        raise self.fail(where, f"应为 {' | '.join(TICK_KINDS)} 之一")

    def blank(self, raw: object, where: str) -> BlankSpec:
        if raw is None or isinstance(raw, str):
            return raw
        data = self.mapping(raw, where)
        return self.texts(data.get("sum"), f"{where}.sum")


# --- filling a row from the answers ---------------------------------------------------------------

BOX, TICKED = "□", "☑"
_BLANK = re.compile(r"_{3,}")
_LABEL = re.compile(r"□([^，,（(_\s□]+)")
NONE_LABEL = "无"


def filled_content(row: FormRow, answers: Mapping[str, object]) -> str:
    """The row's 填报内容 with its “□” ticked (☑) and its “____” filled from the answers."""
    values = [_blank_value(spec, answers) for spec in row.blanks]
    blanks = list(_BLANK.finditer(row.content))
    boxes = [m for m in _LABEL.finditer(row.content)]
    ticked = _ticked(row, answers, boxes, blanks, values)
    out: list[str] = []
    last = 0
    marks = sorted([(m.start(), "box", i) for i, m in enumerate(boxes)]
                   + [(m.start(), "blank", i) for i, m in enumerate(blanks)])
    for start, kind, i in marks:
        out.append(row.content[last:start])
        if kind == "box":
            out.append(TICKED if i in ticked else BOX)
            last = start + 1
        else:
            value = values[i] if i < len(values) else None
            out.append(show_value(value) if value is not None else blanks[i].group(0))
            last = blanks[i].end()
    out.append(row.content[last:])
    return "".join(out)


def show_value(value: object) -> str:
    """An answer as written into the form: 是/否, a number without trailing zeros, the text."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        text = f"{float(value):.4f}".rstrip("0").rstrip(".")
        return "0" if text in ("", "-0") else text
    return str(value)


def _blank_value(spec: BlankSpec, answers: Mapping[str, object]) -> object:
    if spec is None:
        return None
    if isinstance(spec, str):
        return answers.get(spec)
    numbers = [answers.get(f) for f in spec]
    found = [float(v) for v in numbers if isinstance(v, int | float) and not isinstance(v, bool)]
    return sum(found) if len(found) == len(numbers) else None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _ticked(
    row: FormRow,
    answers: Mapping[str, object],
    boxes: list[re.Match[str]],
    blanks: list[re.Match[str]],
    values: list[object],
) -> set[int]:
    """Indexes of the boxes to tick."""
    tick = row.tick
    if tick is None or not boxes:
        return set()
    labels = [m.group(1) for m in boxes]
    if tick.kind == "counts":
        return _ticked_counts(row.content, boxes, blanks, values)
    label = _chosen_label(tick, answers)
    return {i for i, text in enumerate(labels) if label is not None and text == label}


def _chosen_label(tick: Tick, answers: Mapping[str, object]) -> str | None:
    got = [answers.get(f) for f in tick.facts]
    if tick.kind == "all":
        if any(v is False for v in got):
            return "否"
        return "是" if all(v is True for v in got) else None
    if tick.kind == "any":
        if any(v is True for v in got):
            return "是"
        return "否" if all(v is False for v in got) else None
    value = got[0] if got else None
    if value is None:
        return None
    if tick.min is not None:
        return ("是" if float(value) >= tick.min else "否") if _is_number(value) else None  # type: ignore[arg-type]
    if tick.yes:
        return "是" if str(value) in tick.yes else "否"
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def _ticked_counts(
    content: str, boxes: list[re.Match[str]], blanks: list[re.Match[str]], values: list[object]
) -> set[int]:
    """counts: a box whose blanks hold a number above 0; 无 when every blank is answered 0."""
    ticked: set[int] = set()
    ends = [b.start() for b in boxes[1:]] + [len(content)]
    for i, box in enumerate(boxes):
        end = min(ends[i], _line_end(content, box.start()))
        mine = [values[k] for k, b in enumerate(blanks) if box.start() < b.start() < end and k < len(values)]
        if any(_is_number(v) and float(v) > 0 for v in mine):  # type: ignore[arg-type]
            ticked.add(i)
    answered = [v for v in values if v is not None]
    if answered and len(answered) == len(values) and not ticked:
        ticked |= {i for i, b in enumerate(boxes) if b.group(1) == NONE_LABEL}
    return ticked


def _line_end(content: str, start: int) -> int:
    end = content.find("\n", start)
    return len(content) if end < 0 else end

"""The 材料清单目录: where each evidence file goes in the package, the list itself, and what is missing.

Pure functions over the framework, the stored answers and the evidence records, plus the .xlsx
writer of the list. Folder and file names are numbered, readable and safe on Windows.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from knowledge.model import Framework, Indicator
from scoring.checklist import checklist_indicators, entries_of

if TYPE_CHECKING:
    from handlers.store import EvidenceFile

BEIJING = ZoneInfo("Asia/Shanghai")
UNSORTED = "未归类"
LIST_HEADER = ("序号", "指标编号", "指标", "文件", "原文件名", "部门", "报送时间（北京时间）", "大小（字节）", "SHA-256")
_WINDOWS_BAD = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)
_NUMBERING = re.compile(r"^\s*(?:[一二三四五六七八九十]+、|\d+(?:\.\d+)*[.、]?\s*)")
NAME_CHARS = 40  # a file's readable part
FOLDER_CHARS = 24  # a folder's readable part


@dataclass(frozen=True)
class ListedFile:
    """One evidence file as the package lists and stores it."""

    no: int
    indicator: str  # the framework's id; "" when the file names no known indicator
    label: str  # 指标 as people read it
    arcname: str  # the path inside the zip
    name: str  # the name it was sent with
    department: str
    received: str  # Beijing time, "2022-07-20 10:31"
    size: int
    sha256: str
    evidence_id: object = None  # the stored record's id

    def row(self) -> tuple[object, ...]:
        """The row of the 材料清单目录."""
        return (self.no, self.indicator, self.label, self.arcname, self.name, self.department,
                self.received, self.size, self.sha256)


def safe_name(text: str, limit: int) -> str:
    """A name Windows, macOS and Linux accept: no \\/:*?\"<>| or control characters, not reserved."""
    text = unicodedata.normalize("NFC", text)
    text = _WINDOWS_BAD.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    text = text[:limit].rstrip(" .")
    if not text or _RESERVED.match(text):
        text = f"_{text}"
    return text


def split_name(name: str) -> tuple[str, str]:
    """(stem, .ext) of a sent file name, the extension lower-case and short."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem or not re.fullmatch(r"[A-Za-z0-9]{1,5}", ext):
        return base, ""
    return stem, f".{ext.lower()}"


def beijing(moment: str) -> datetime | None:
    """An ISO timestamp (UTC when it names no zone) in Beijing time; None when unreadable."""
    try:
        parsed = datetime.fromisoformat(moment.strip())
    except (ValueError, AttributeError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(BEIJING)


def indicator_label(ind: Indicator) -> str:
    """第14项 标准制修订数量 → "14 标准制修订数量"-like text for the list."""
    return f"{ind.id} {ind.label}" if ind.id else ind.label


def _bare(name: str) -> str:
    return _NUMBERING.sub("", name).strip() or name


def _width(framework: Framework) -> int:
    numbers = [len(i) for i in framework.indicators if i.isdigit()]
    return max([2, *numbers])


def folder_of(framework: Framework, indicator: Indicator | None) -> PurePosixPath:
    """01_质量发展理念/02_质量文化/04_质量相关工作… : the indicator's folder in the package."""
    if indicator is None:
        return PurePosixPath(f"99_{UNSORTED}")
    parts: list[str] = []
    levels = [lv.name for lv in framework.levels]
    if indicator.level1 in levels:
        level = framework.levels[levels.index(indicator.level1)]
        parts.append(f"{levels.index(indicator.level1) + 1:02d}_{safe_name(_bare(level.name), FOLDER_CHARS)}")
        children = [c.name for c in level.children]
        if indicator.level2 in children:
            parts.append(f"{children.index(indicator.level2) + 1:02d}_{safe_name(_bare(indicator.level2), FOLDER_CHARS)}")
    else:
        parts.append(f"00_{safe_name(indicator.label, FOLDER_CHARS)}")
    parts.append(f"{_pid(framework, indicator)}_{safe_name(_bare(indicator.label), FOLDER_CHARS)}")
    return PurePosixPath(*parts)


def _pid(framework: Framework, indicator: Indicator) -> str:
    ident = indicator.id
    return ident.zfill(_width(framework)) if ident.isdigit() else safe_name(ident, 8)


def list_files(framework: Framework, evidence: Iterable[EvidenceFile]) -> list[ListedFile]:
    """Every evidence file with its place in the package, by indicator (document order), then time."""
    order = {ind_id: n for n, ind_id in enumerate(framework.indicators)}
    ranked = sorted(
        evidence,
        key=lambda e: (order.get(e.indicator or "", len(order)), e.received_at, e.id),
    )
    out: list[ListedFile] = []
    counts: dict[str, int] = {}
    for ev in ranked:
        ind = framework.indicators.get(ev.indicator or "")
        key = ind.id if ind is not None else ""
        counts[key] = counts.get(key, 0) + 1
        stem, ext = split_name(ev.name)
        prefix = f"{_pid(framework, ind)}-{counts[key]:02d}" if ind is not None else f"{counts[key]:03d}"
        file = f"{prefix}_{safe_name(stem, NAME_CHARS)}{ext}"
        when = beijing(ev.received_at)
        out.append(ListedFile(
            no=len(out) + 1,
            indicator=key,
            label=indicator_label(ind) if ind is not None else UNSORTED,
            arcname=str(folder_of(framework, ind) / file),
            name=ev.name,
            department=ev.department,
            received=when.strftime("%Y-%m-%d %H:%M") if when else ev.received_at,
            size=ev.size,
            sha256=ev.sha256,
            evidence_id=ev.id,
        ))
    return out


# --- what is missing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """Indicators without answers or evidence; files missing from storage or changed since stored."""

    without_answers: tuple[Indicator, ...]
    without_evidence: tuple[Indicator, ...]
    missing: tuple[ListedFile, ...] = ()  # not in the zip
    changed: tuple[ListedFile, ...] = ()  # in the zip, but its sha256 differs from the record


def answer_keys(framework: Framework, indicator: Indicator) -> tuple[str, ...]:
    """The stored-answer keys that answer an indicator: its facts, or its checklist entries."""
    keys = [f.id for f in indicator.facts]
    if framework.scoring == "checklist":
        keys += [key for key, _, _ in entries_of(indicator)]
    return tuple(keys)


def expected_indicators(framework: Framework) -> list[Indicator]:
    """The indicators the package accounts for: every row the county answers or documents."""
    if framework.scoring == "checklist":
        listed = {i.id for i in checklist_indicators(framework)}
        return [i for i in framework.indicators.values() if i.id in listed or i.facts]
    return [i for i in framework.indicators.values() if i.kind != "rejection"]


def coverage(
    framework: Framework,
    answers: Mapping[str, object],
    listed: Sequence[ListedFile],
    missing: Sequence[ListedFile] = (),
    changed: Sequence[ListedFile] = (),
) -> Coverage:
    """Which indicators still lack an answer or a piece of evidence."""
    documented = {f.indicator for f in listed if f not in missing}
    expected = expected_indicators(framework)
    no_answer = [i for i in expected if answer_keys(framework, i)
                 and not any(answers.get(k) is not None for k in answer_keys(framework, i))]
    no_evidence = [i for i in expected if i.id not in documented]
    return Coverage(tuple(no_answer), tuple(no_evidence), tuple(missing), tuple(changed))


def write_listing(path: Path, title: str, listed: Sequence[ListedFile]) -> None:
    """材料清单目录.xlsx: one row per file (indicator, file, department, Beijing time, sha256)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.worksheets[0]
    sheet.title = "材料清单目录"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(list(LIST_HEADER))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for item in listed:
        sheet.append(list(item.row()))
    for column, width in zip("ABCDEFGHI", (6, 9, 30, 60, 30, 14, 20, 12, 66), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=3):
        row[3].alignment = Alignment(wrap_text=True)
    sheet.freeze_panes = "A3"
    book.save(path)

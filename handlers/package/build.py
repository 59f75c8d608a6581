"""Build the 申报材料 zip: 申请表.docx (Shandong plans), the evidence in indicator folders,
材料清单目录.xlsx and a short 缺项报告.

Reads only what it is given (the stored answers, the evidence records, a way to find each file) and
writes one zip; it never changes stored data. The same data gives the same zip, byte for byte.
"""

from __future__ import annotations

import logging
import os
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from handlers.package.archive import EPOCH, PackageError, SteadyZip, steady_office_file
from handlers.package.docx import application_docx
from handlers.package.listing import (
    BEIJING,
    Coverage,
    ListedFile,
    beijing,
    coverage,
    indicator_label,
    list_files,
    safe_name,
    write_listing,
)
from handlers.store import StoredAnswer
from knowledge.form_layout import FormLayout, load_layout
from knowledge.model import Framework, Indicator, Plan
from scoring.progress import merge_answers

if TYPE_CHECKING:
    from handlers.store import EvidenceFile

log = logging.getLogger(__name__)

APPLICATION = "申请表.docx"
LISTING = "材料清单目录.xlsx"
REPORT = "缺项报告.txt"
SHOWN = 12  # indicators named in the chat reply before “等”
PathOf = Callable[[str], Path]


@dataclass(frozen=True)
class Package:
    """A built package: where it is, what is in it, and what is still missing."""

    path: Path
    entries: tuple[str, ...]
    files: tuple[ListedFile, ...]
    coverage: Coverage
    report: str  # the short report, also in the zip as 缺项报告.txt
    size: int


def package_name(plan: Plan) -> str:
    """平阴县申报材料.zip."""
    return f"{safe_name(plan.county or plan.id, 40)}申报材料.zip"


def layout_for(framework: Framework) -> FormLayout | None:
    """The 申请表 layout of a framework (Shandong's), None where the system has no 申请表."""
    layout = load_layout()
    return layout if layout.framework == framework.id else None


def data_moment(answers: Sequence[StoredAnswer], evidence: Sequence[EvidenceFile]) -> datetime:
    """The latest change among the data, in Beijing time: the package's date and its timestamps."""
    stamps = [beijing(a.updated_at) for a in answers] + [beijing(e.received_at) for e in evidence]
    known = [s for s in stamps if s is not None]
    return max(known) if known else EPOCH.replace(tzinfo=BEIJING)


def build_package(
    plan: Plan,
    framework: Framework,
    answers: Sequence[StoredAnswer],
    evidence: Sequence[EvidenceFile],
    path_of: PathOf,
    out_dir: Path,
    layout: FormLayout | None = None,
) -> Package:
    """Write <out_dir>/<county>申报材料.zip from the stored answers and evidence; raises PackageError."""
    if layout is None:
        layout = layout_for(framework)
    merged = merge_answers(answers)
    listed = list_files(framework, evidence)
    moment = data_moment(answers, evidence)
    target = out_dir / package_name(plan)
    partial = target.with_name(f".{target.name}.partial")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        missing, changed = _write(partial, moment, plan, framework, layout, merged, listed, evidence, path_of)
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise PackageError(f"无法写入 {target}：{exc.strerror or exc}") from None
    cov = coverage(framework, merged, listed, missing, changed)
    return _result(target, plan, cov, listed, layout is not None)


def _write(
    partial: Path,
    moment: datetime,
    plan: Plan,
    framework: Framework,
    layout: FormLayout | None,
    merged: Mapping[str, object],
    listed: list[ListedFile],
    evidence: Sequence[EvidenceFile],
    path_of: PathOf,
) -> tuple[list[ListedFile], list[ListedFile]]:
    """The zip's entries, sorted by name; returns the files missing, and those whose content changed."""
    sources: dict[object, EvidenceFile] = {e.id: e for e in evidence}
    missing: list[ListedFile] = []
    changed: list[ListedFile] = []
    archive = SteadyZip(partial, moment)
    try:
        generated: dict[str, bytes] = {}
        for item in sorted(listed, key=lambda f: f.arcname):
            status = _add_evidence(archive, item, sources[item.evidence_id], path_of)
            if status != "ok":
                (missing if status == "missing" else changed).append(item)
        if layout is not None:
            docx = application_docx(layout, plan.county, merged, listed, moment.date() if moment.year > EPOCH.year else None)
            generated[APPLICATION] = steady_office_file(docx, moment)
        generated[LISTING] = steady_office_file(_listing_bytes(plan, listed, partial), moment)
        report = report_text(plan, coverage(framework, merged, listed, missing, changed), listed, layout is not None)
        generated[REPORT] = ("\ufeff" + report.replace("\n", "\r\n")).encode("utf-8")
        for name in sorted(generated):
            archive.add_bytes(name, generated[name])
    finally:
        archive.close()
    return missing, changed


def _add_evidence(archive: SteadyZip, item: ListedFile, ev: EvidenceFile, path_of: PathOf) -> str:
    """Stream one evidence file in: "ok", "missing" (not packed) or "changed" (packed, sha256 differs)."""
    try:
        source = path_of(ev.sha256)
        digest = archive.add_file(item.arcname, source, source.stat().st_size)
    except (OSError, ValueError) as exc:
        log.warning("package: evidence %s (%s) unreadable: %s", ev.id, ev.sha256[:12], exc)
        return "missing"
    if digest != ev.sha256:
        log.warning("package: evidence %s content does not match its sha256", ev.id)
        return "changed"
    return "ok"


def _listing_bytes(plan: Plan, listed: Sequence[ListedFile], partial: Path) -> bytes:
    scratch = partial.with_name(partial.name + ".xlsx")
    try:
        write_listing(scratch, f"{plan.county}证实性材料清单目录", listed)
        return scratch.read_bytes()
    finally:
        scratch.unlink(missing_ok=True)


def _result(target: Path, plan: Plan, cov: Coverage, listed: list[ListedFile], with_form: bool) -> Package:
    with zipfile.ZipFile(target) as done:
        names = tuple(done.namelist())
    return Package(
        path=target,
        entries=names,
        files=tuple(listed),
        coverage=cov,
        report=report_text(plan, cov, listed, with_form),
        size=target.stat().st_size,
    )


# --- the short report -------------------------------------------------------------------------------


def _names(indicators: Sequence[Indicator]) -> list[str]:
    return [indicator_label(i) for i in indicators]


def report_text(plan: Plan, cov: Coverage, listed: Sequence[ListedFile], with_form: bool) -> str:
    """缺项报告: what the package holds, then indicators without answers or evidence (all of them)."""
    kept = len(listed) - len(cov.missing)
    parts = ["申请表、" if with_form else "", f"证实性材料{kept}份、材料清单目录"]
    lines = [f"{plan.county}申报材料：{''.join(parts)}。"]
    for title, items in (("未填报答案的指标", cov.without_answers), ("没有证实性材料的指标", cov.without_evidence)):
        lines.append(f"{title}（{len(items)}项）：" + ("无" if not items else ""))
        lines += [f"  {name}" for name in _names(items)]
    for title, files, note in (("未能打包的材料", cov.missing, "文件缺失"),
                               ("内容与记录的SHA-256不符的材料", cov.changed, "已打包，请核对")):
        if files:
            lines.append(f"{title}（{len(files)}份，{note}）：")
            lines += [f"  {f.label}：{f.name}（{f.department}，{f.received}）" for f in files]
    return "\n".join(lines) + "\n"


def short_report(package: Package) -> str:
    """The chat reply: counts and the first indicators missing answers or evidence, by number."""
    cov = package.coverage
    kept = len(package.files) - len(cov.missing)
    lines = [f"已生成 {package.path.name}（{_size(package.size)}）：证实性材料{kept}份。"]
    for title, items in (("未填报答案", cov.without_answers), ("没有材料", cov.without_evidence)):
        if items:
            ids = "、".join(i.id for i in items[:SHOWN]) + ("等" if len(items) > SHOWN else "")
            lines.append(f"{title}：{len(items)}项（第{ids}项）")
    if cov.missing or cov.changed:
        lines.append(f"文件缺失{len(cov.missing)}份、内容不符{len(cov.changed)}份，见 {REPORT}。")
    if not cov.without_answers and not cov.without_evidence and not cov.missing:
        lines.append("每项指标都有答案和材料。")
    return "\n".join(lines)


def _size(size: int) -> str:
    if size >= 1 << 30:
        return f"{size / (1 << 30):.1f} GB"
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f} MB"
    return f"{max(1, size // 1024)} KB"

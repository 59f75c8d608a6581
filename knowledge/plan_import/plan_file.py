"""Write an import as a plan file (knowledge/SCHEMA.md, plans/<id>.yaml) and as a review report.

What is written: every row placed with confidence ≥ PLACE, its units that departments.yaml knows,
and the 完成时限 column as `deadlines` (one per day a cell names; see timing.py).
Rows placed with confidence < REVIEW are written with a `# 请核对` comment; rows not placed and
unknown units are NOT written: they are listed as comments at the end of the file and in the report.
"""

from __future__ import annotations

import json
from typing import Any

from knowledge.model import Indicator
from knowledge.plan_import.importer import ImportedRow, PlanImport
from knowledge.plan_import.placing import REVIEW


def _q(text: str) -> str:
    """A YAML scalar: JSON's double-quoted string is valid YAML."""
    return json.dumps(text, ensure_ascii=False)


def _list(items: list[str]) -> str:
    return "[" + ", ".join(_q(i) for i in items) + "]"


def _number(value: float) -> str:
    return f"{value:g}"


def responsible(result: PlanImport) -> dict[str, list[str]]:
    """Indicator id → the known units of the rows placed on it (牵头 first), in framework order."""
    out: dict[str, list[str]] = {}
    for ind_id in result.framework.indicators:
        units: list[str] = []
        for r in result.by_indicator.get(ind_id, []):
            for lead in (True, False):
                units += [u.kept for u in r.units if u.departments and u.lead is lead and u.kept not in units]
        if units:
            out[ind_id] = units
    return out


def plan_yaml(result: PlanImport) -> str:
    """The plan file's text."""
    fw = result.framework
    name = result.title or f"{result.county}任务分解表"
    short = result.county.rstrip("县区市") if len(result.county) > 2 else result.county
    lines = [
        f"# 由 qcbot plan import 从“{result.source}”导入：{len(result.rows)} 行，写入 {sum(r.written for r in result.rows)} 行。",
        f"# 置信度低于 {REVIEW} 的行标有“请核对”；未能定位的行和未识别的单位没有写入，列在文件末尾。",
        f"id: {result.plan_id}",
        f"framework: {fw.id}",
        f"source: {_q(result.source)}",
        f"name: {_q(name)}",
        f"county: {_q(result.county)}",
        "responsible_from_framework: false",
        "phases: []",
        *_deadlines(result),
        "responsible:",
    ]
    resp = responsible(result)
    for ind_id, units in resp.items():
        note = _review_note(result.by_indicator[ind_id])
        lines.append(f"  {_q(ind_id)}: {_list(units)}{note}")
    if not resp:
        lines[-1] = "responsible: {}"
    lines.append("rows:")
    written = [r for r in result.rows if r.written]
    for r in written:
        if r.placement.indicator is not None:
            lines.append(_row(r, r.placement.indicator))
    if not written:
        lines[-1] = "rows: []"
    lines += [
        "editorial:",
        f"  aliases: {_list(sorted({result.county, short}))}",
        "  notes:",
        "    - kind: explanation",
        f"      text: {_q(_note(result))}",
        "      sources: []",
    ]
    lines += _left_out(result)
    return "\n".join(lines) + "\n"


def _deadlines(result: PlanImport) -> list[str]:
    """The 完成时限 column as the plan's deadlines, one per day (cells without a day are listed at the end)."""
    found, _ = result.due
    if not found:
        return ["deadlines: []"]
    lines = ["deadlines:  # 由“完成时限”列导入：每个日期一条，提醒该日到期任务的责任单位"]
    for d in found:
        departments = _list(list(d.departments)) if d.departments else "all"
        note = "" if d.departments else "  # 这些任务的责任单位未识别，提醒所有部门"
        lines.append(f"  - {{id: {_q(d.id)}, date: {d.date.isoformat()}, text: {_q(d.text)}, departments: {departments}}}{note}")
    return lines


def _row(r: ImportedRow, ind: Indicator) -> str:
    row = r.row
    fields = [
        f"row: {_q(row.no or str(row.line))}",
        f"indicator: {_q(ind.id)}",
        f"points: {_number(row.points if row.points is not None else ind.points)}",
        f"responsible: {_list([u.kept for u in r.units if u.departments])}",
    ]
    if row.level2:
        fields.append(f"level2: {_q(row.level2)}")
    return "  - {" + ", ".join(fields) + "}" + _review_note([r])


def _review_note(rows: list[ImportedRow]) -> str:
    doubtful = [r for r in rows if r.placement.needs_review]
    if not doubtful and len(rows) < 2:
        return ""
    parts = [f"{r.row.label}置信度 {r.placement.confidence:.2f}，请核对" for r in doubtful]
    if len(rows) > 1:
        parts.append("多行对应同一指标：" + "、".join(r.row.label for r in rows))
    return "  # " + "；".join(parts)


def _note(result: PlanImport) -> str:
    return (
        f"本方案由 qcbot plan import 从{result.county}的任务分解表“{result.source}”导入，"
        f"各行按问答的检索对应到{result.framework.name}的指标；责任单位按部门别名表统一。"
    )


def _left_out(result: PlanImport) -> list[str]:
    """Comment lines for what was not written: unplaced rows and unknown units."""
    lines: list[str] = []
    if result.unplaced:
        lines.append("# 未写入的行（无法可靠对应到指标，请人工确定后补入 responsible 和 rows）：")
        for r in result.unplaced:
            guess = "、".join(f"第{c.indicator.id}项" for c in r.placement.candidates[:2])
            lines.append(f"#   {r.row.label}“{_clip(r.row.title)}”" + (f"，可能是{guess}" if guess else ""))
    _, undated = result.due
    if undated:
        lines.append("# 完成时限没有具体日期的行（未写入 deadlines；需要提醒的请在 deadlines 中补上日期）：")
        for cell, labels in undated.items():
            lines.append(f"#   {_clip(cell)}：" + "、".join(labels[:10]) + ("等" if len(labels) > 10 else ""))
    unknown = result.unknown_units
    if unknown:
        lines.append("# 未识别的责任单位（未写入；请在 departments.yaml 中添加别名后重新导入）：")
        for text, rows in unknown.items():
            lines.append(f"#   {text}：" + "、".join(r.row.label for r in rows))
    return lines


def _clip(text: str, size: int = 30) -> str:
    flat = text.replace("\n", " ")
    return flat if len(flat) <= size else flat[: size - 1] + "…"


# --- the review report -------------------------------------------------------------------------


def report(result: PlanImport) -> dict[str, Any]:
    """The review report as JSON: every row, what it was placed on, and what needs a person."""
    return {
        "plan": result.plan_id,
        "framework": result.framework.id,
        "county": result.county,
        "source": result.source,
        "rows": [_row_json(r) for r in result.rows],
        "placed": sum(r.written for r in result.rows),
        "total": len(result.rows),
        "review": [r.row.label for r in result.review],
        "unplaced": [_row_json(r) for r in result.unplaced],
        "duplicates": {k: [r.row.label for r in v] for k, v in result.duplicates.items()},
        "uncovered": [{"id": i.id, "title": i.editorial.short or i.title} for i in result.uncovered],
        "unknown_units": {k: [r.row.label for r in v] for k, v in result.unknown_units.items()},
        "deadlines": [
            {"id": d.id, "date": d.date.isoformat(), "text": d.text, "departments": list(d.departments) if d.departments else "all"}
            for d in result.due[0]
        ],
        "undated": result.due[1],
    }


def _row_json(r: ImportedRow) -> dict[str, Any]:
    p = r.placement
    return {
        "line": r.row.line,
        "where": r.row.where,
        "no": r.row.no,
        "title": r.row.title,
        "indicator": p.indicator.id if p.indicator else None,
        "confidence": p.confidence,
        "method": p.method,
        "candidates": [{"id": c.indicator.id, "score": round(c.score, 1)} for c in p.candidates],
        "units": [{"text": u.text, "departments": list(u.departments), "lead": u.lead} for u in r.units],
    }


def render_report(result: PlanImport) -> str:
    """The review report as Chinese text."""
    data = report(result)
    lines = [f"【导入】{result.source} → 方案 {result.plan_id}（{result.framework.name}，{result.county}）",
             f"共 {data['total']} 行，写入 {data['placed']} 行。", ""]
    for r in result.rows:
        p = r.placement
        target = f"第{p.indicator.id}项 {p.indicator.editorial.short or _clip(p.indicator.title, 16)}" if p.indicator else "未定位"
        flag = "  ⚠请核对" if p.needs_review else ""
        lines.append(f"{r.row.label}“{_clip(r.row.title, 24)}” → {target}（{p.method}，置信度 {p.confidence:.2f}）{flag}")
    sections = [
        ("未写入（无法可靠定位）", [f"{r.row.label}“{_clip(r.row.title)}”" for r in result.unplaced]),
        ("多行对应同一指标", [f"第{k}项：" + "、".join(v) for k, v in data["duplicates"].items()]),
        ("没有任何行对应的指标", [f"第{i.id}项 {i.editorial.short or _clip(i.title)}" for i in result.uncovered]),
        ("未识别的责任单位（未写入）", [f"{k}：" + "、".join(v) for k, v in data["unknown_units"].items()]),
        ("完成时限（写入 deadlines）", [f"{d['date']}：{d['text']}" for d in data["deadlines"]]),
        ("完成时限没有具体日期（未写入）", [f"{k}：{len(v)}行" for k, v in data["undated"].items()]),
    ]
    for heading, items in sections:
        lines += ["", f"{heading}：{len(items)}"] + [f"  · {i}" for i in items]
    return "\n".join(lines)

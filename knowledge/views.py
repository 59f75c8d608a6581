"""Structured views of the knowledge base for `qcbot kb` (dicts for JSON, text for people)."""

from __future__ import annotations

from typing import Any

from knowledge.model import Framework, Indicator, KnowledgeBase, Plan
from knowledge.responsibility import Responsibility
from knowledge.rules import describe_rule

KIND_NAMES = {
    "indicator": "指标",
    "veto": "一票否决项",
    "rejection": "不予受理条件",
    "bonus": "加分项",
    "task": "任务",
}


def fmt(points: float | None) -> str:
    """Points as people write them: 3, 0.5, 1060."""
    if points is None:
        return "—"
    return f"{points:g}"


# --- kb check ---------------------------------------------------------------------------------


def framework_summary(fw: Framework) -> dict[str, Any]:
    """Counts and point totals of one system."""
    scored = [i for i in fw.indicators.values() if i.kind == "indicator"]
    kinds: dict[str, int] = {}
    for ind in fw.indicators.values():
        kinds[ind.kind] = kinds.get(ind.kind, 0) + 1
    return {
        "id": fw.id,
        "name": fw.name,
        "scoring": fw.scoring,
        "levels1": len(fw.levels),
        "levels2": sum(len(lv.children) for lv in fw.levels),
        "indicators": len(scored) if fw.scoring == "points" else len(fw.indicators) - kinds.get("bonus", 0),
        "kinds": kinds,
        "total_points": fw.total_points,
        "indicator_points": sum(i.points for i in scored),
        "bonus_points": sum(i.points for i in fw.indicators.values() if i.kind == "bonus"),
        "pass_line": fw.pass_line,
        "level_points": {lv.name: lv.points for lv in fw.levels},
        "facts": sum(len(i.facts) for i in fw.indicators.values()),
        "rules": sum(1 for i in fw.indicators.values() if i.rule is not None),
    }


def plan_summary(kb: KnowledgeBase, plan: Plan) -> dict[str, Any]:
    """Counts of one plan: rows, covered indicators, departments named."""
    resp = Responsibility(kb, plan)
    fw = kb.frameworks[plan.framework]
    covered = [i for i in fw.indicators.values() if resp.covered(i)]
    return {
        "id": plan.id,
        "framework": plan.framework,
        "county": plan.county,
        "rows": len(plan.rows),
        "row_points": sum(r.points for r in plan.rows),
        "covered_indicators": len(covered),
        "departments": len(resp.by_department),
        "phases": len(plan.phases),
        "deadlines": [{"date": d.date.isoformat(), "id": d.id} for d in plan.deadlines],
    }


def check_summary(kb: KnowledgeBase) -> dict[str, Any]:
    """Everything `qcbot kb check` reports."""
    return {
        "ok": True,
        "frameworks": [framework_summary(fw) for fw in sorted(kb.frameworks.values(), key=_order)],
        "plans": [plan_summary(kb, p) for p in kb.plans.values()],
        "departments": len(kb.departments),
        "glossary": len(kb.glossary),
    }


def _order(fw: Framework) -> tuple[int, str]:
    known = ("shandong", "hunan", "henan", "jinan")
    return (known.index(fw.id) if fw.id in known else len(known), fw.id)


def render_check(summary: dict[str, Any]) -> str:
    """The check summary as Chinese text."""
    lines = ["知识库校验通过。", ""]
    for fw in summary["frameworks"]:
        lines.append(f"【{fw['id']}】{fw['name']}")
        if fw["scoring"] == "points":
            levels = " / ".join(f"{name} {fmt(p)}" for name, p in fw["level_points"].items())
            lines.append(
                f"  一级 {fw['levels1']} 项，二级 {fw['levels2']} 项，指标 {fw['indicators']} 项，"
                f"合计 {fmt(fw['indicator_points'])} 分（总分 {fmt(fw['total_points'])}）"
            )
            lines.append(f"  一级分值：{levels}")
        else:
            bonus = fw["kinds"].get("bonus", 0)
            extra = f"，另有加分项 {bonus} 项（最高 {fmt(fw['bonus_points'])} 分）" if bonus else ""
            lines.append(f"  {fw['indicators']} 项（清单式考核，文件未规定分值）{extra}")
        if fw["pass_line"] is not None:
            lines.append(f"  合格线：{fmt(fw['pass_line'])} 分")
        special = [f"{KIND_NAMES[k]} {n}" for k, n in fw["kinds"].items() if k in ("veto", "rejection")]
        if special:
            lines.append(f"  另有：{'、'.join(special)}")
        lines.append(f"  事实 {fw['facts']} 个，评分规则 {fw['rules']} 条")
    lines.append("")
    for plan in summary["plans"]:
        text = f"方案 {plan['id']}（{plan['county']}，{plan['framework']}）：覆盖指标 {plan['covered_indicators']} 项，涉及部门 {plan['departments']} 个"
        if plan["rows"]:
            text += f"，本地任务表 {plan['rows']} 行共 {fmt(plan['row_points'])} 分"
        if plan["deadlines"]:
            text += f"，时间节点 {len(plan['deadlines'])} 个"
        lines.append(text)
    lines.append(f"部门 {summary['departments']} 个，术语 {summary['glossary']} 条。")
    return "\n".join(lines)


# --- kb list ----------------------------------------------------------------------------------


def indicator_row(ind: Indicator, resp: Responsibility | None) -> dict[str, Any]:
    """One line of `qcbot kb list`."""
    return {
        "framework": ind.framework,
        "id": ind.id,
        "kind": ind.kind,
        "title": ind.name,
        "short": ind.editorial.short,
        "points": ind.points,
        "level1": ind.level1,
        "level2": ind.level2,
        "units": resp.units(ind) if resp else [],
        "deadline": ind.deadline,
    }


def render_list(rows: list[dict[str, Any]]) -> str:
    """Rows as compact text lines."""
    out = []
    for row in rows:
        head = f"{row['framework']} {row['id']:>3}"
        points = f"{fmt(row['points'])}分 " if row["points"] else ""
        kind = "" if row["kind"] in ("indicator", "task") else f"[{KIND_NAMES[row['kind']]}] "
        text = f"{head}  {kind}{points}{row['short'] or row['title']}"
        if row["units"]:
            text += f"  —— {'、'.join(row['units'])}"
        if row["deadline"]:
            text += f"  （{row['deadline']}）"
        out.append(text)
    return "\n".join(out)


# --- kb show ----------------------------------------------------------------------------------


def indicator_view(kb: KnowledgeBase, fw_id: str, ind_id: str, plan_id: str | None) -> dict[str, Any]:
    """Everything about one indicator, optionally as one plan applies it."""
    from knowledge.errors import NotFound

    fw = kb.framework(fw_id)
    ind = fw.indicator(ind_id)
    plan = kb.plan(plan_id) if plan_id else None
    if plan is not None and plan.framework != fw.id:
        raise NotFound(f"方案 {plan.id} 采用 {plan.framework} 体系，不含 {fw.id} 的指标")
    resp = Responsibility(kb, plan) if plan else None
    row = next((r for r in plan.rows if r.indicator == ind.id), None) if plan else None
    clause = fw.clauses.get(ind.clause) if ind.clause else None
    return {
        "framework": fw.id,
        "framework_name": fw.name,
        "id": ind.id,
        "kind": ind.kind,
        "title": ind.title,
        "display": ind.editorial.display or None,
        "short": ind.editorial.short,
        "level1": ind.level1,
        "level2": ind.level2,
        "points": ind.points,
        "criteria": ind.criteria,
        "rule": describe_rule(ind) if ind.rule else [],
        "data_source": ind.data_source,
        "county_supplied": ind.county_supplied,
        "clause": {"id": clause.id, "title": clause.title, "text": clause.text} if clause else None,
        "lines": [{"content": ln.content, "tasks": list(ln.tasks), "units": ln.units} for ln in ind.lines],
        "acceptance": ind.acceptance,
        "lead": ind.lead,
        "support": ind.support,
        "deadline": ind.deadline,
        "plan": plan.id if plan else None,
        "plan_row": {"row": row.row, "points": row.points} if row else None,
        "units": resp.units(ind) if resp else [],
        "departments": list(resp.departments(ind)) if resp else [],
        "evidence": list(ind.editorial.evidence),
        "notes": [{"kind": n.kind, "text": n.text, "sources": list(n.sources)} for n in ind.editorial.notes],
    }


_PLAIN_FIELDS = (
    ("data_source", "数据来源"),
    ("lead", "牵头单位"),
    ("support", "配合单位"),
    ("deadline", "完成时限"),
    ("acceptance", "验收方式"),
)


def render_indicator(view: dict[str, Any]) -> str:
    """An indicator view as Chinese text."""
    head = f"【{view['framework']} 第{view['id']}项】{view['display'] or view['title']}"
    lines = [head]
    path = " › ".join(p for p in (view["level1"], view["level2"]) if p)
    if path:
        lines.append(f"所属：{path}")
    if view["points"]:
        lines.append(f"分值：{fmt(view['points'])} 分")
    if view["plan_row"]:
        lines.append(f"方案任务表第 {view['plan_row']['row']} 行（{fmt(view['plan_row']['points'])} 分）")
    if view["criteria"]:
        lines.append(f"评分标准：{view['criteria']}")
    if view["rule"]:
        lines.append("评分规则：")
        lines += [f"  {part['id']}. {part['text']}" for part in view["rule"]]
    for ln in view["lines"]:
        lines.append(f"· {ln['content']}")
        lines += [f"    {task}" for task in ln["tasks"]]
        if ln["units"]:
            lines.append(f"    责任单位：{ln['units']}")
    if view["clause"]:
        lines.append(f"对应条款 {view['clause']['id']} {view['clause']['title']}：{view['clause']['text']}")
    lines += [f"{label}：{view[key]}" for key, label in _PLAIN_FIELDS if view[key]]
    if view["plan"]:
        units = "、".join(view["units"]) or "本方案未列责任单位"
        lines.append(f"责任单位（{view['plan']}）：{units}")
    if view["evidence"]:
        lines.append("需准备材料：" + "；".join(view["evidence"]))
    for note in view["notes"]:
        tag = "文件差异" if note["kind"] == "discrepancy" else "说明"
        lines.append(f"【{tag}】{note['text']}")
    return "\n".join(lines)

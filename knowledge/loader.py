"""Load and validate the knowledge files into a KnowledgeBase."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from knowledge.bounds import bounds_problem, efficacy_measures, indicator_measures
from knowledge.errors import KnowledgeError, RuleError
from knowledge.fields import Node
from knowledge.model import (
    Clause,
    Deadline,
    Department,
    Editorial,
    Framework,
    Indicator,
    KnowledgeBase,
    LeadingGroup,
    Level,
    Line,
    Note,
    Phase,
    Plan,
    PlanRow,
    Target,
    Term,
)
from knowledge.rules import Fact, parse_facts, parse_rule

if TYPE_CHECKING:
    from knowledge.departments import DepartmentIndex

DATA_DIR = Path(__file__).parent / "data"

_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_KINDS = ("indicator", "veto", "rejection", "bonus", "task")

_FRAMEWORK_KEYS = (
    "id", "name", "source", "total_points", "pass_line", "scoring", "levels", "clauses",
    "editorial", "indicators", "targets",
)
_INDICATOR_KEYS = (
    "id", "kind", "level1", "level2", "title", "points", "criteria", "data_source",
    "county_supplied", "clause", "lines", "acceptance", "lead", "support", "deadline",
    "editorial", "facts", "rule",
)
_EDITORIAL_KEYS = (
    "short", "display", "aliases", "keywords", "evidence", "notes", "deadline_date",
)
_PLAN_KEYS = (
    "id", "framework", "source", "name", "county", "issuer", "doc_no", "date", "date_text",
    "slogan", "goals", "leading_group", "task_force", "phases", "deadlines", "responsible",
    "responsible_from_framework", "rows", "editorial",
)


def read_yaml(path: Path) -> object:
    """Parse one YAML file; a syntax error becomes a KnowledgeError naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(path.name, "", f"无法读取：{exc}") from None
    try:
        return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第{mark.line + 1}行" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise KnowledgeError(path.name, where, f"YAML 格式错误：{problem}") from None


def load_knowledge(data_dir: Path | None = None, plans_dir: Path | None = None) -> KnowledgeBase:
    """Load every knowledge file under data_dir (default: the packaged data), and the plans in plans_dir."""
    root = data_dir or DATA_DIR
    frameworks: dict[str, Framework] = {}
    for path in sorted((root / "frameworks").glob("*.yaml")):
        fw = parse_framework(path.name, read_yaml(path))
        if fw.id in frameworks:
            raise KnowledgeError(path.name, "id", f"重复的体系编号 {fw.id}")
        frameworks[fw.id] = fw
    departments = parse_departments("departments.yaml", read_yaml(root / "departments.yaml"))
    plans: dict[str, Plan] = {}
    files: dict[str, Path] = {}
    for path in [*sorted((root / "plans").glob("*.yaml")), *plan_files(plans_dir)]:
        plan = parse_plan(path.name, read_yaml(path), frameworks)
        if plan.id in plans:
            where = "内置方案" if files[plan.id].parent == root / "plans" else "方案"
            raise KnowledgeError(str(path), "id", f"方案编号 {plan.id} 与{where} {files[plan.id]} 重名，请改用另一个编号")
        plans[plan.id] = plan
        files[plan.id] = path
    glossary = parse_glossary("glossary.yaml", read_yaml(root / "glossary.yaml"))
    kb = KnowledgeBase(frameworks, plans, departments, glossary)
    _check_responsible(kb)
    return kb


def plan_files(plans_dir: Path | None) -> list[Path]:
    """The plan files of a deployment's plans directory (QCBOT_PLANS_DIR), beside the built-in ones."""
    if plans_dir is None:
        return []
    if not plans_dir.is_dir():
        raise KnowledgeError(str(plans_dir), "", "方案目录不存在（QCBOT_PLANS_DIR）")
    return sorted(plans_dir.glob("*.yaml"))


# --- frameworks -------------------------------------------------------------------------------


def parse_framework(file: str, data: object) -> Framework:
    """Validate one framework file."""
    node = Node(file, "", data, _FRAMEWORK_KEYS)
    scoring = node.text("scoring")
    if scoring not in ("points", "checklist"):
        raise node.error("scoring", "应为 points 或 checklist")
    levels = tuple(_level(file, p, d) for p, d in node.items("levels", required=True))
    clauses = {c.id: c for c in (_clause(file, p, d) for p, d in node.items("clauses"))}
    editorial = node.child("editorial", ("aliases", "notes"))
    indicators: dict[str, Indicator] = {}
    seen_facts: dict[str, str] = {}
    fw_id = node.text("id")
    for path, raw in node.items("indicators", required=True):
        ind = _indicator(file, path, raw, fw_id, levels, clauses)
        for measure in indicator_measures(ind):  # negative bounds only for changes and growth
            problem = bounds_problem(measure, measure.default.satisfied, measure.default.allowed)
            if problem is not None:
                raise KnowledgeError(file, f"{path}.rule", f"{measure.key} 的 bounds：{problem}")
        if ind.id in indicators:
            raise KnowledgeError(file, f"{path}.id", f"重复的指标编号 {ind.id}")
        for fact in ind.facts:
            if fact.id in seen_facts:
                raise KnowledgeError(file, f"{path}.facts", f"事实 {fact.id} 已在指标 {seen_facts[fact.id]} 中声明")
            seen_facts[fact.id] = ind.id
        indicators[ind.id] = ind
    fw = Framework(
        id=fw_id,
        name=node.text("name"),
        source=node.text("source"),
        total_points=node.opt_number("total_points"),
        pass_line=node.opt_number("pass_line"),
        scoring=scoring,
        levels=levels,
        indicators=indicators,
        clauses=clauses,
        targets=tuple(_targets(file, node)),
        aliases=editorial.texts("aliases") if editorial else (),
        notes=_notes(editorial) if editorial else (),
    )
    _check_totals(file, fw)
    return fw


def _level(file: str, path: str, data: object) -> Level:
    node = Node(file, path, data, ("name", "points", "children", "display"))
    children = tuple(_level(file, p, d) for p, d in node.items("children"))
    return Level(
        name=node.text("name"),
        points=node.opt_number("points"),
        children=children,
        display=node.text("display", ""),
    )


def _clause(file: str, path: str, data: object) -> Clause:
    node = Node(file, path, data, ("id", "title", "text"))
    return Clause(id=str(node.text("id")), title=node.text("title"), text=node.text("text"))


def _targets(file: str, node: Node) -> list[Target]:
    out: list[Target] = []
    for path, raw in node.items("targets"):
        table = Node(file, path, raw, ("table", "items"))
        name = table.text("table")
        for ipath, item in table.items("items", required=True):
            row = Node(file, ipath, item, ("no", "text"))
            out.append(Target(table=name, no=row.text("no"), text=row.text("text")))
    return out


def _indicator(
    file: str,
    path: str,
    data: object,
    fw_id: str,
    levels: tuple[Level, ...],
    clauses: Mapping[str, Clause],
) -> Indicator:
    node = Node(file, path, data, _INDICATOR_KEYS)
    kind = node.text("kind")
    if kind not in _KINDS:
        raise node.error("kind", f"应为 {'、'.join(_KINDS)} 之一")
    ind_id = node.text("id")
    level1, level2 = _check_levels(node, levels, kind)
    clause = node.opt_text("clause")
    if clause is not None and clause not in clauses:
        raise node.error("clause", f"未定义的条款 {clause}")
    points = node.number("points")
    facts = _facts(node)
    rule = None
    if node.has("rule"):
        try:
            rule = parse_rule(node.raw("rule"), {f.id: f for f in facts}, points, node.at("rule"))
        except RuleError as exc:
            raise exc.in_file(file) from None
    return Indicator(
        framework=fw_id,
        id=ind_id,
        kind=kind,
        level1=level1,
        level2=level2,
        title=node.text("title"),
        points=points,
        criteria=node.text("criteria", ""),
        editorial=_editorial(node.child("editorial", _EDITORIAL_KEYS)),
        facts=facts,
        rule=rule,
        data_source=node.opt_text("data_source"),
        county_supplied=node.flag("county_supplied") if node.has("county_supplied") else None,
        clause=clause,
        lines=_lines(node),
        acceptance=node.opt_text("acceptance"),
        lead=node.opt_text("lead"),
        support=node.opt_text("support"),
        deadline=node.opt_text("deadline"),
    )


def _check_levels(node: Node, levels: tuple[Level, ...], kind: str) -> tuple[str, str | None]:
    level1 = node.text("level1", "" if kind in ("veto", "rejection") else None)
    level2 = node.opt_text("level2")
    if not level1:
        return level1, level2
    parent = next((lv for lv in levels if lv.name == level1), None)
    if parent is None:
        raise node.error("level1", f"不在 levels 中：{level1}")
    if level2 is not None and parent.children and level2 not in {c.name for c in parent.children}:
        raise node.error("level2", f"不是“{level1}”的二级指标：{level2}")
    return level1, level2


def _facts(node: Node) -> tuple[Fact, ...]:
    if not node.has("facts"):
        return ()
    try:
        return parse_facts(node.raw("facts"), node.at("facts"))
    except RuleError as exc:
        raise exc.in_file(node.file) from None


def _lines(node: Node) -> tuple[Line, ...]:
    out: list[Line] = []
    for path, raw in node.items("lines"):
        line = node.node(path, raw, ("content", "tasks", "units"))
        units = line.opt_text("units")
        if units is None:
            units = out[-1].units if out else ""
        out.append(Line(content=line.text("content"), tasks=line.texts("tasks"), units=units))
    return tuple(out)


def _editorial(node: Node | None) -> Editorial:
    if node is None:
        return Editorial()
    return Editorial(
        short=node.text("short", ""),
        display=node.text("display", ""),
        aliases=node.texts("aliases"),
        keywords=node.texts("keywords"),
        evidence=node.texts("evidence"),
        notes=_notes(node),
        deadline_date=node.date("deadline_date"),
    )


def _notes(node: Node) -> tuple[Note, ...]:
    notes: list[Note] = []
    for path, raw in node.items("notes"):
        if isinstance(raw, str):
            notes.append(Note(kind="explanation", text=raw))
            continue
        note = node.node(path, raw, ("kind", "text", "sources"))
        kind = note.text("kind")
        if kind not in ("discrepancy", "explanation", "damaged"):
            raise note.error("kind", "应为 discrepancy、explanation 或 damaged")
        sources = tuple(str(s) for s in (note.get("sources") or ()))
        notes.append(Note(kind=kind, text=note.text("text"), sources=sources))
    return tuple(notes)


def _check_totals(file: str, fw: Framework) -> None:
    """Points must add up: indicators to the total, 二级 to their indicators, 一级 to 二级."""
    scored = [i for i in fw.indicators.values() if i.kind == "indicator"]
    if fw.total_points is not None:
        total = sum(i.points for i in scored)
        if abs(total - fw.total_points) > 1e-9:
            raise KnowledgeError(file, "total_points", f"指标分值合计 {total:g}，与总分 {fw.total_points:g} 不符")
    for i, level in enumerate(fw.levels):
        members = [ind for ind in scored if ind.level1 == level.name]
        _check_sum(file, f"levels[{i}]", level, members)
        for j, child in enumerate(level.children):
            _check_sum(file, f"levels[{i}].children[{j}]", child, [m for m in members if m.level2 == child.name])


def _check_sum(file: str, path: str, level: Level, members: list[Indicator]) -> None:
    if level.points is None or not members:
        return
    total = sum(m.points for m in members)
    if abs(total - level.points) > 1e-9:
        raise KnowledgeError(file, f"{path}.points", f"“{level.name}”为 {level.points:g} 分，其指标合计 {total:g} 分")


# --- plans ------------------------------------------------------------------------------------


def parse_plan(file: str, data: object, frameworks: Mapping[str, Framework]) -> Plan:
    """Validate one plan file against its framework."""
    node = Node(file, "", data, _PLAN_KEYS)
    fw_id = node.text("framework")
    if fw_id not in frameworks:
        raise node.error("framework", f"未知的评价体系 {fw_id}")
    fw = frameworks[fw_id]
    editorial = node.child("editorial", ("aliases", "notes", "efficacy"))
    return Plan(
        id=node.text("id"),
        framework=fw_id,
        source=node.text("source"),
        name=node.text("name"),
        county=node.text("county"),
        issuer=node.text("issuer", ""),
        doc_no=node.text("doc_no", ""),
        date=node.date("date"),
        date_text=node.text("date_text", ""),
        slogan=node.opt_text("slogan"),
        goals=node.texts("goals"),
        leading_group=_leading_group(node),
        phases=tuple(_phase(file, p, d) for p, d in node.items("phases")),
        deadlines=tuple(_deadline(file, p, d) for p, d in node.items("deadlines")),
        responsible=_responsible(node, fw),
        responsible_from_framework=node.flag("responsible_from_framework"),
        rows=tuple(_row(file, p, d, fw) for p, d in node.items("rows")),
        aliases=editorial.texts("aliases") if editorial else (),
        notes=_notes(editorial) if editorial else (),
        efficacy=_efficacy(editorial, fw),
    )


def _leading_group(node: Node) -> LeadingGroup | None:
    group = node.child(
        "leading_group", ("name", "leader", "deputies", "members", "office", "office_department")
    )
    if group is None:
        return None
    return LeadingGroup(
        name=group.text("name"),
        leader=group.text("leader", ""),
        deputies=group.texts("deputies"),
        members=group.texts("members"),
        office=group.text("office", ""),
        office_department=group.text("office_department", ""),
    )


def _phase(file: str, path: str, data: object) -> Phase:
    node = Node(file, path, data, ("name", "period", "start", "end", "text"))
    return Phase(
        name=node.text("name"),
        period=node.text("period", ""),
        start=node.date("start"),
        end=node.date("end"),
        text=node.text("text", ""),
    )


def _deadline(file: str, path: str, data: object) -> Deadline:
    node = Node(file, path, data, ("id", "date", "text", "departments", "to"))
    depts = node.get("departments", "all")
    departments = None if depts == "all" else node.texts("departments")
    when = node.date("date")
    if when is None:
        raise node.error("date", "缺少字段")
    return Deadline(id=node.text("id"), date=when, text=node.text("text"), departments=departments)


def _responsible(node: Node, fw: Framework) -> dict[str, tuple[str, ...]]:
    raw = node.get("responsible") or {}
    if not isinstance(raw, dict):
        raise node.error("responsible", "应为映射（指标编号: 责任单位列表）")
    out: dict[str, tuple[str, ...]] = {}
    for key, units in raw.items():
        ind_id = str(key)
        path = f"responsible.{ind_id}"
        if ind_id not in fw.indicators:
            raise KnowledgeError(node.file, path, f"{fw.id} 没有编号为 {ind_id} 的指标")
        if not isinstance(units, list) or not all(isinstance(u, str) for u in units):
            raise KnowledgeError(node.file, path, "应为责任单位（文字）列表")
        out[ind_id] = tuple(units)
    return out


def _row(file: str, path: str, data: object, fw: Framework) -> PlanRow:
    node = Node(file, path, data, ("row", "indicator", "points", "responsible", "level2"))
    ind_id = node.text("indicator")
    if ind_id not in fw.indicators:
        raise node.error("indicator", f"{fw.id} 没有编号为 {ind_id} 的指标")
    return PlanRow(
        row=node.text("row"),
        indicator=ind_id,
        points=node.number("points"),
        responsible=node.texts("responsible"),
        level2=node.opt_text("level2"),
    )


def _efficacy(editorial: Node | None, fw: Framework) -> dict[str, dict[str, float]]:
    raw = editorial.get("efficacy") if editorial else None
    if not raw:
        return {}
    if not isinstance(raw, dict):
        raise editorial.error("efficacy", "应为映射（指标.部分: {satisfied, allowed}）")  # type: ignore[union-attr]
    measures = {m.key: m for m in efficacy_measures(fw)}
    out: dict[str, dict[str, float]] = {}
    for key, bounds in raw.items():
        node = Node(editorial.file, editorial.at(f"efficacy.{key}"), bounds, ("satisfied", "allowed"))  # type: ignore[union-attr]
        measure = measures.get(str(key))
        if measure is None:
            raise node.error("", f"{fw.id} 没有这个功效系数测度（可用：{'、'.join(measures) or '无'}）")
        values = {"satisfied": node.number("satisfied", negative=True), "allowed": node.number("allowed", negative=True)}
        problem = bounds_problem(measure, values["satisfied"], values["allowed"])
        if problem is not None:
            raise node.error("", problem)
        out[str(key)] = values
    return out


# --- departments and glossary ------------------------------------------------------------------


def parse_departments(file: str, data: object) -> dict[str, Department]:
    """Validate departments.yaml: unique ids and names (an alias may name several departments)."""
    if not isinstance(data, list):
        raise KnowledgeError(file, "", "应为列表")
    out: dict[str, Department] = {}
    owner: dict[str, str] = {}
    for i, raw in enumerate(data):
        node = Node(file, f"[{i}]", raw, ("id", "name", "kind", "aliases", "english", "notes"))
        dept = Department(
            id=node.text("id"),
            name=node.text("name", "") or node.text("id"),
            kind=node.text("kind", "department"),
            aliases=node.texts("aliases"),
            english=node.texts("english"),
            notes=node.text("notes", ""),
        )
        if dept.kind not in ("department", "group", "province"):
            raise node.error("kind", "应为 department、group 或 province")
        if dept.id in out:
            raise node.error("id", f"重复的部门编号 {dept.id}")
        for key in {dept.id, dept.name}:
            if owner.setdefault(key, dept.id) != dept.id:
                raise node.error("name", f"“{key}”已是部门 {owner[key]} 的编号或名称")
        out[dept.id] = dept
    return out


def parse_glossary(file: str, data: object) -> tuple[Term, ...]:
    """Validate glossary.yaml."""
    if not isinstance(data, list):
        raise KnowledgeError(file, "", "应为列表")
    terms: list[Term] = []
    for i, raw in enumerate(data):
        node = Node(file, f"[{i}]", raw, ("term", "definition", "verbatim", "source", "aliases", "english"))
        source = node.get("source")
        terms.append(
            Term(
                term=node.text("term"),
                definition=node.text("definition"),
                verbatim=node.flag("verbatim"),
                source=None if source is None else str(source),
                aliases=node.texts("aliases"),
                english=node.texts("english"),
            )
        )
    return tuple(terms)


def _check_responsible(kb: KnowledgeBase) -> None:
    """Every responsible unit string in every plan resolves to a known department."""
    from knowledge.departments import DepartmentIndex

    index = DepartmentIndex(kb.departments)
    for plan in kb.plans.values():
        check_responsible(plan, index)


def check_responsible(plan: Plan, index: DepartmentIndex) -> None:
    """Every responsible unit string of one plan resolves to a known department."""
    for ind_id, units in plan.responsible.items():
        for unit in units:
            if not index.resolve(unit):
                raise KnowledgeError(f"{plan.id}.yaml", f"responsible.{ind_id}", f"无法识别的责任单位“{unit}”，请在 departments.yaml 中添加别名")

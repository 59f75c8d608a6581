"""Compose short Chinese answers from the knowledge base (a phone screen, not a page)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from knowledge.display import clip_line as _clip
from knowledge.forms import Form, FormItem
from knowledge.model import Framework, Indicator, KnowledgeBase, Plan, Term
from knowledge.query import Intent
from knowledge.responsibility import Responsibility
from knowledge.views import fmt
from knowledge.vocabulary import LevelRef

EMPTY = "请输入您的问题，例如：“计量怎么得分？”“我们财政局负责哪些指标？”"
UNREADABLE = "没看懂这条消息。请用文字提问，例如：“计量怎么得分？”"
ABOUT = (
    "我是质量强县助手，回答评价指标的分值、评分标准、责任单位、所需材料和时限，也能陪各部门自评。"
    "先发“/bind 部门名”（或“我是统计局的”）绑定部门，再发“自评”逐题作答；/help 看全部功能。"
    "可以这样问：“计量怎么得分？”“我们财政局负责哪些指标？”"
)
FAILED = "抱歉，这个问题没处理好，已记录。请换个说法再问一次。"
EXAMPLES = "可以这样问：“计量怎么得分？”“县委书记参会能得几分？”“我们财政局负责哪些指标？”"
MAX_LIST = 12
_POINTS_CLAUSE = re.compile(r"\d+(\.\d+)?\s*分|不得分|扣完为止")
_SENTENCE = re.compile(r"(?<=[；。;])|\n")
_SOURCE_NAMES = {"000": "平阴县方案", "001": "临淄区方案", "002": "民权县方案", "003": "湖南标准", "004": "济南市方案"}


def system_name(fw: Framework) -> str:
    """A short name of the system for headers (山东, 湖南 …)."""
    return fw.aliases[0] if fw.aliases else fw.name


def header(ind: Indicator, fw: Framework, plan: Plan | None) -> str:
    """【山东·第17项】强制检定与能源计量审查（3分）"""
    number = f"第{ind.id}项" if ind.id != "0" else {"veto": "一票否决项", "rejection": "不予受理"}.get(ind.kind, "第0项")
    row = next((r for r in plan.rows if r.indicator == ind.id), None) if plan else None
    where = f"，{plan.county}表第{row.row}行" if row and plan else ""
    points = f"（{fmt(ind.points)}分{where}）" if ind.points else (f"（{where.lstrip('，')}）" if where else "")
    name = ind.editorial.short or ind.name
    return f"【{system_name(fw)}·{number}】{name}{points}"


def indicators(
    kb: KnowledgeBase,
    plan: Plan,
    resp: Responsibility | None,
    intent: Intent,
    inds: Sequence[Indicator],
    tokens: set[str],
) -> str:
    """The answer for one or several indicators, shaped by what was asked."""
    fw = kb.frameworks[inds[0].framework]
    shown_plan = plan if plan.framework == fw.id else None
    if len(inds) > 1:
        return _several(fw, shown_plan, resp, intent, inds, tokens)
    ind = inds[0]
    lines = [header(ind, fw, shown_plan)]
    if ind.editorial.short and ind.editorial.short != ind.name:
        lines.append(ind.name)
    lines += _body(fw, shown_plan, resp, intent, ind, tokens)
    lines += notes(ind)
    return "\n".join(lines)


def _several(
    fw: Framework,
    plan: Plan | None,
    resp: Responsibility | None,
    intent: Intent,
    inds: Sequence[Indicator],
    tokens: set[str],
) -> str:
    total = sum(i.points for i in inds)
    head = f"共{len(inds)}项" + (f"，合计{fmt(total)}分" if total else "") + "："
    lines = [head]
    for ind in inds[:MAX_LIST]:
        lines.append(header(ind, fw, plan))
        lines += ["  " + line for line in _body(fw, plan, resp, intent, ind, tokens, brief=True)]
    for ind in inds:
        lines += notes(ind, limit=1)
    lines.append(f"发“第{inds[0].id}项”可看单项全文。")
    return "\n".join(lines)


def _body(
    fw: Framework,
    plan: Plan | None,
    resp: Responsibility | None,
    intent: Intent,
    ind: Indicator,
    tokens: set[str],
    brief: bool = False,
) -> list[str]:
    if intent == Intent.OWNER:
        return _owner(fw, plan, resp, ind)
    if intent == Intent.DATA_SOURCE:
        return _data_source(ind) + _owner(fw, plan, resp, ind)[:1]
    if intent == Intent.EVIDENCE:
        return _evidence(ind, brief)
    if intent == Intent.DEADLINE:
        return _deadline(plan, ind)
    if intent == Intent.POINTS:
        return _points(ind, tokens, brief)
    if intent == Intent.CRITERIA:
        return [f"评分标准：{_clip(ind.criteria, 90 if brief else 400)}"] if ind.criteria else _lines(ind, brief)
    return _lookup(fw, plan, resp, ind, brief)


def _points(ind: Indicator, tokens: set[str], brief: bool) -> list[str]:
    matched = [c for c in relevant_clauses(ind.criteria, tokens) if _POINTS_CLAUSE.search(c)]
    if matched and len(matched) < len(clauses(ind.criteria)):
        return [f"相关条款：{'；'.join(matched)}"]
    if not ind.points and ind.kind == "task":
        return ["本项为任务清单，文件未规定分值；按完成情况验收。"]
    if not ind.points:
        return [f"评分标准：{_clip(ind.criteria, 160)}"]
    return [f"评分标准：{_clip(ind.criteria, 120 if brief else 300)}"]


def _owner(fw: Framework, plan: Plan | None, resp: Responsibility | None, ind: Indicator) -> list[str]:
    if resp is None or plan is None:
        return [f"数据来源：{ind.data_source}"] if ind.data_source else ["本方案未涉及此项。"]
    units = resp.units(ind)
    if ind.lead:
        lines = [f"牵头单位：{ind.lead}"]
        if ind.support:
            lines.append(f"配合单位：{ind.support}")
        return lines
    if units:
        return [f"责任单位（{plan.county}）：{'、'.join(units)}"]
    if ind.county_supplied is False:
        return [f"{plan.county}任务表未列此项：由省直部门直接评分（数据来源：{ind.data_source}）。"]
    return [f"{plan.county}任务表未列此项的责任单位。"]


def _data_source(ind: Indicator) -> list[str]:
    if not ind.data_source:
        return []
    who = "县（市、区）提供数据" if ind.county_supplied else "省直部门直接评分"
    return [f"数据来源：{ind.data_source}（{who}）"]


def _evidence(ind: Indicator, brief: bool) -> list[str]:
    lines: list[str] = []
    evidence = list(ind.editorial.evidence)
    if evidence:
        lines.append("需准备材料：" + "；".join(evidence[: 3 if brief else 8]))
    if not brief:
        asked = [f.question for f in ind.facts if f.question_verbatim]
        if asked:
            lines.append("申请表填报：" + "；".join(asked[:4]))
    tasks = [t for ln in ind.lines for t in ln.tasks]
    if tasks and not evidence:
        lines.append("工作任务：" + "；".join(tasks[: 3 if brief else 8]))
    if ind.acceptance and not brief:
        lines.append(f"验收方式：{ind.acceptance}")
    return lines or [f"评分标准：{_clip(ind.criteria, 200)}"]


def _deadline(plan: Plan | None, ind: Indicator) -> list[str]:
    if ind.deadline:
        lead = f"（牵头：{ind.lead}）" if ind.lead else ""
        return [f"完成时限：{ind.deadline}{lead}"]
    if plan is None:
        return ["文件未规定此项的完成时间。"]
    lines = [f"{plan.county}：{d.date.isoformat()} 前 {_clip(d.text, 80)}" for d in plan.deadlines[:3]]
    if not lines and plan.phases:
        lines = [f"{p.name}：{p.period or '未定日期'}" for p in plan.phases]
    return lines or [f"{plan.county}方案未规定具体日期。"]


def _lookup(fw: Framework, plan: Plan | None, resp: Responsibility | None, ind: Indicator, brief: bool) -> list[str]:
    lines = []
    if ind.criteria:
        lines.append(f"评分标准：{_clip(ind.criteria, 100 if brief else 220)}")
    else:
        lines += _lines(ind, brief)
    if not brief:
        lines += _owner(fw, plan, resp, ind)
        if ind.deadline:
            lines.append(f"完成时限：{ind.deadline}")
    return lines


def _lines(ind: Indicator, brief: bool) -> list[str]:
    return [f"· {ln.content}" for ln in ind.lines[: 2 if brief else 6]]


def notes(ind: Indicator, limit: int = 2) -> list[str]:
    """Discrepancy notes in one line each."""
    found = [n for n in ind.editorial.notes if n.kind == "discrepancy"][:limit]
    return [f"⚠ 文件差异：{_clip(n.text, 120)}" for n in found]


def clauses(criteria: str) -> list[str]:
    """The criteria split into its sentences."""
    return [c.strip("；;。 ") for c in _SENTENCE.split(criteria) if c.strip("；;。 ")]


def relevant_clauses(criteria: str, tokens: Iterable[str]) -> list[str]:
    """The criteria sentences that share the most character pairs with the question's words."""
    pairs = {t.lstrip("~") for t in tokens if len(t.lstrip("~")) == 2}
    pairs |= {w[i : i + 2] for w in tokens if not w.startswith("~") for i in range(len(w) - 1)}
    if not pairs:
        return []
    scored = [(sum(p in c for p in pairs), c) for c in clauses(criteria)]
    best = max((s for s, _ in scored), default=0)
    return [c for s, c in scored if s == best and s >= 2]


def department(kb: KnowledgeBase, resp: Responsibility, dept_id: str, inds: Sequence[Indicator]) -> str:
    """What a department is responsible for in a plan."""
    plan = resp.plan
    name = kb.departments[dept_id].id
    if not inds:
        return f"{plan.county}方案中没有列{name}为责任单位的指标。" + _elsewhere(kb, resp, dept_id)
    total = sum(i.points for i in inds)
    head = f"{plan.county}方案中，{name}涉及{len(inds)}项" + (f"（共{fmt(total)}分）" if total else "") + "："
    fw = resp.framework
    lines = [head]
    for ind in inds[:MAX_LIST]:
        points = f"（{fmt(ind.points)}分）" if ind.points else ""
        deadline = f"，{ind.deadline}" if ind.deadline else ""
        lines.append(f"· 第{ind.id}项 {ind.editorial.short or _clip(ind.name, 24)}{points}{deadline}")
    if len(inds) > MAX_LIST:
        lines.append(f"……等共{len(inds)}项，发“/kb {fw.id}”查看全部。")
    return "\n".join(lines)


def _elsewhere(kb: KnowledgeBase, resp: Responsibility, dept_id: str) -> str:
    """Where another plan of the same system names the department (平阴 leaves 住建局's indicators to the province)."""
    for other in kb.plans.values():
        if other.id == resp.plan.id or other.framework != resp.plan.framework:
            continue
        inds = Responsibility(kb, other).indicators_of(dept_id)
        if inds:
            listed = "、".join(f"第{i.id}项{i.editorial.short or ''}" for i in inds[:6])
            provincial = all(i.county_supplied is False for i in inds)
            tail = "，这些由省直部门直接评分" if provincial else ""
            return f"\n参考：{other.county}方案中{kb.departments[dept_id].id}负责{listed}{tail}。"
    return ""


def definition(term: Term, kb: KnowledgeBase, where: str | None = None) -> str:
    """A glossary term with its source (`where` names the place in it, e.g. the 填报说明 item)."""
    source = f"（{where or _SOURCE_NAMES.get(term.source or '', '文件')}）" if term.verbatim else ""
    return f"【{term.term}】{term.definition}{source}"


def framework_facts(fw: Framework, plan: Plan, question: str) -> str:
    """Totals, pass line, number of indicators and the veto/rejection conditions of a system."""
    lines = [f"【{fw.name}】"]
    scored = [i for i in fw.indicators.values() if i.kind == "indicator"]
    if fw.scoring == "points":
        lv2 = sum(len(lv.children) for lv in fw.levels)
        levels = f"{len(fw.levels)}个一级指标" + (f"、{lv2}个二级指标" if lv2 else "")
        lines.append(f"{levels}、{len(scored)}项具体指标，满分{fmt(fw.total_points)}分。")
        lines.append("一级分值：" + "、".join(f"{lv.name}{fmt(lv.points)}分" for lv in fw.levels))
    else:
        bonus = [i for i in fw.indicators.values() if i.kind == "bonus"]
        lines.append(f"共{len(fw.indicators) - len(bonus)}项任务（清单式验收，文件未规定分值）" + (f"，另有加分项最高{fmt(sum(b.points for b in bonus))}分。" if bonus else "。"))
    lines.append(f"合格线：{fmt(fw.pass_line)}分。" if fw.pass_line else "文件未规定合格分数线。")
    veto = next((i for i in fw.indicators.values() if i.kind in ("veto", "rejection")), None)
    if veto is not None:
        label = "一票否决项" if veto.kind == "veto" else "不予受理情形"
        lines.append(f"{label}：{_clip(veto.title, 90)}")
        if re.search(r"一票否决|不予受理|哪些|情形", question):
            lines.append(_clip(veto.criteria, 240))
    return "\n".join(lines)


def level_total(fw: Framework, level: LevelRef, inds: Sequence[Indicator]) -> str:
    """Points of a heading and the indicators under it."""
    depth = "一级指标" if level.depth == 1 else "二级指标"
    total = sum(i.points for i in inds)
    lines = [f"【{system_name(fw)}】{level.name}（{depth}）共{fmt(level.points or total)}分，含{len(inds)}项："]
    lines += [f"· 第{i.id}项 {i.editorial.short or _clip(i.name, 24)}：{fmt(i.points)}分" for i in inds[:MAX_LIST]]
    if level.points is not None and abs(level.points - total) > 1e-9:
        lines.append(f"⚠ 文件标注{fmt(level.points)}分，各项合计{fmt(total)}分。")
    return "\n".join(lines)


def county_title(fw: Framework, plan: Plan) -> str:
    """Heading for the county-supplied list, in the plan's own reading where it has one."""
    if plan.rows and plan.framework == fw.id:
        return f"{plan.county}任务分解表列出县级提供数据评分的指标"
    return "由申报县（市、区）提供数据的指标"


def provincial_title(fw: Framework, plan: Plan) -> str:
    """Heading for the provincially scored list."""
    if plan.rows and plan.framework == fw.id:
        return f"按{plan.county}方案，由省直部门直接评分的指标"
    return "由省直部门直接评分的指标（数据来源为省直部门）"


def listing(fw: Framework, title: str, inds: Sequence[Indicator]) -> str:
    """A computed list of indicators with their points."""
    total = sum(i.points for i in inds)
    count = f"共{len(inds)}项" + (f"，合计{fmt(total)}分" if total else "")
    lines = [f"【{system_name(fw)}】{title}（{count}）："]
    for ind in inds[:MAX_LIST * 2]:
        points = f"（{fmt(ind.points)}分）" if ind.points else ""
        deadline = f"，{ind.deadline}" if ind.deadline and not ind.points else ""
        lines.append(f"· 第{ind.id}项 {ind.editorial.short or _clip(ind.name, 24)}{points}{deadline}")
    if len(inds) > MAX_LIST * 2:
        lines.append(f"……等共{len(inds)}项。")
    return "\n".join(lines)


def disambiguation(inds: Sequence[Indicator]) -> str:
    """Ask which of near-tied indicators was meant."""
    lines = ["您是想问："]
    for n, ind in enumerate(inds, 1):
        lines.append(f"{n}. 第{ind.id}项 {ind.editorial.short or _clip(ind.name, 24)}")
    lines.append("请回复编号，或说得更具体些。")
    return "\n".join(lines)


def not_found(suggestions: Sequence[Indicator]) -> str:
    """The honest 没找到, with up to three close suggestions."""
    if not suggestions:
        return "没找到相关指标。" + EXAMPLES
    lines = ["没找到相关指标。您是不是想问："]
    lines += [f"{n}. 第{i.id}项 {i.editorial.short or _clip(i.name, 24)}" for n, i in enumerate(suggestions, 1)]
    return "\n".join(lines)


def no_such_number(fw: Framework, plan: Plan, number: int, in_table: bool) -> str:
    """A reference to a number that does not exist."""
    if in_table and plan.rows:
        return f"{plan.county}任务表共{len(plan.rows)}行，没有第{number}行。"
    return f"{system_name(fw)}体系没有第{number}项（共{len(fw.indicators)}项）。"


# --- the 申请表 and the plans' own facts (knowledge/steps/form.py) ------------------------------

FORM_PLACE = "平阴县方案附件4 申请表填报说明第"
OUR_READING = "（这是我们的理解，文件没有写明）"
ESTIMATE = (
    "全县现在的估分：管理员发送 /progress，看各部门自评进度和按已答题目估算的得分。"
    "还没自评的部门，发送“自评”逐项作答后就能估分。"
)


def reported_row(row: FormItem, form: Form, yes_no: bool, provider: str | None) -> str:
    """A 基本情况 row: reported, not scored, and who usually provides it."""
    heading = form.headings.get(row.section, row.section)
    first = "否。" if yes_no else ""
    lines = [f"{first}“{row.name}”是申请表“{heading}”里填报的数据，不单独计分。"]
    if provider:
        lines.append(f"通常由{provider}提供{OUR_READING if 'provider' in row.editorial else ''}。")
    return "\n".join(lines)


def body_members(county: str, body: str, dept_name: str, people: Sequence[tuple[str, str]]) -> str:
    """The people of a department in the plan's 领导小组 or 专班."""
    if not people:
        return f"【{county}方案】{body}名单里没有{dept_name}的人员。"
    return f"【{county}方案】{body}中{dept_name}：" + "；".join(f"{person}（{role}）" for role, person in people)


def department_materials(
    county: str, dept_name: str, dated: Sequence[str], rows: Sequence[FormItem], count: int
) -> str:
    """What a department hands in and by when, from the plan, the 申请表 rows it usually fills, its indicators."""
    lines = [f"【{county}方案】{dept_name}要交的材料和时间：" if dated else f"【{county}方案】没有写{dept_name}单独报送材料的时间。"]
    lines += [f"· {_clip(text, 160)}" for text in dated]
    if rows:
        names = "、".join(r.name for r in rows)
        lines.append(f"申请表“基本情况”里通常由{dept_name}提供的数据{OUR_READING}：{names}。")
    if count:
        lines.append(f"{dept_name}负责{count}项指标，各项要准备的材料可发送“{dept_name}负责哪些指标”查看。")
    return "\n".join(lines)


def veto_check(yes: bool, label: str, missing: Sequence[str], partial: bool = False) -> str:
    """是/否 first for “…会不会一票否决”, before the clause (neither when only part of the question is in it)."""
    if yes:
        return f"是。这属于{label}的情形（以下面原文写的程度为准）。"
    if partial:
        return f"文件没有直接写“{'、'.join(missing)}”，是否属于{label}，以下面原文为准。"
    return f"否。文件列的{label}情形里没有“{'、'.join(missing)}”。"

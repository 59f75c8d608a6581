"""The office's commands: /progress, county-wide /gaps, /export (.xlsx), /chart (PNG).

Who may run them is the command table's `admin` flag, checked once by the dispatcher.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from handlers import results
from handlers.core import FileAttachment, Incoming, Reply
from handlers.county import (
    CountyView,
    bounds_line,
    county_view,
    departments_to_assess,
    evidence_headline,
    gap_lines,
    headline,
    progress_line,
    unit_ids,
)
from handlers.help import region_only
from handlers.reminders.messages import all_deadlines
from handlers.reports import ReportError
from handlers.reports.charts import Bar, bar_chart
from handlers.reports.workbook import Cell, Sheet, stacked, write_workbook
from handlers.services import SHANGHAI, Services, normalize
from knowledge.display import num, qty
from knowledge.model import Deadline
from knowledge.rules import Fact
from scoring.checklist import checklist_indicators
from scoring.engine import framework_facts
from scoring.questionnaire import Question
from scoring.report import unanswered_lines
from scoring.results import Assessment

MAX_GAPS = 10
SOURCES = {"plan": "方案", "phase": "方案阶段", "task": "任务完成时限", "office": "质量强县办"}
CHANNELS = {"console": "终端", "telegram": "Telegram", "wecom_bot": "企业微信", "wecom_app": "企业微信应用"}
EVERY_COUNTY = ("全部", "所有", "全市", "全省", "各县区", "all")


def is_admin(services: Services, message: Incoming) -> bool:
    """True for the office's admins (Config.admins)."""
    return services.is_admin(message.channel, message.user_id)


def every_county(args: str) -> bool:
    """True when the office command asks for every county (`/progress 全部`)."""
    return normalize(args).lower() in EVERY_COUNTY


def counties_of(services: Services) -> list[Services]:
    """Every county the deployment serves (this one alone when it serves one)."""
    return list(services.region.counties()) or [services]


async def on_progress(services: Services, message: Incoming, args: str) -> list[Reply]:
    """/progress: per department indicators, answered, completion, estimated points; 全部: every county."""
    if every_county(args):
        if not services.region.is_admin(message.channel, message.user_id):
            return region_only("/progress")
        return [Reply(await region_progress_text(services))]
    return [Reply(await progress_text(services))]


async def progress_text(services: Services) -> str:
    """The /progress reply."""
    view = await county_view(services)
    checklist = view.assessment.checklist is not None
    stamp = services.local_now().strftime("%Y-%m-%d %H:%M")
    lines = [f"【{services.plan.county}】各部门自评进度（{stamp}）", headline(view)]
    lines += [line for line in (bounds_line(view),) if line]
    lines.append(evidence_headline(view, len(services.framework.indicators)))
    lines += [progress_line(p, checklist, view.evidence_of(p.department)) for p in view.departments]
    bound = sum(1 for p in view.departments if p.liaisons)
    lines.append(f"共{len(view.departments)}个部门，{bound}个已绑定联络员。/export 导出明细，/chart 看图。")
    return "\n".join(lines)


async def on_gaps(services: Services, message: Incoming, args: str) -> list[Reply]:
    """/gaps: admins get the county's gaps (or a named department's); liaisons their department's."""
    if not is_admin(services, message):
        return await results.on_gaps(services, message)
    if args:
        found = services.departments.resolve(args)
        if len(found) != 1:
            return [Reply(f"没找到部门“{args[:20]}”。例：/gaps 统计局；只发 /gaps 看全县。")]
        return [Reply(await results.gaps_text(services, found[0]))]
    view = await county_view(services)
    lines = [f"【{services.plan.county}】全县失分项（按可补回分值排序，再列未完成任务）", headline(view)]
    lines += [line for line in (bounds_line(view),) if line]
    lines += gap_lines(view, MAX_GAPS) or ["暂无可补回的分。"]
    lines.append(evidence_headline(view, len(services.framework.indicators)) + "（/evidence 看明细）")
    if len(view.assessment.gaps) > MAX_GAPS:
        total = num(sum(g.points for g in view.assessment.gaps))
        lines.append(f"…共{len(view.assessment.gaps)}项、合计{total}分，/export 的“指标得分”表有全部。")
    lines += unanswered_lines(view.assessment, MAX_GAPS)
    lines += unanswered_line(view.assessment)
    lines.append("看某部门：/gaps 部门名称")
    return [Reply("\n".join(lines))]


def unanswered_line(result: Assessment) -> list[str]:
    """How many scored indicators still have unanswered questions, and their points still open."""
    open_ = [s for s in result.indicators if s.missing and s.kind == "indicator" and s.max]
    if not open_:
        return []
    points = num(sum(s.max - s.score for s in open_))
    return [f"另有{len(open_)}项指标还有未答的题（最多还差{points}分），/progress 看各部门进度。"]


async def on_export(services: Services, message: Incoming, args: str) -> list[Reply]:
    """/export: the workbook (answers, scores, progress, deadlines, unanswered questions); 全部: every county."""
    if every_county(args):
        if not services.region.is_admin(message.channel, message.user_id):
            return region_only("/export")
        return await region_export(services)
    view = await county_view(services)
    sheets = await workbook_sheets(services, view)
    path = export_path(services, "xlsx")
    await asyncio.to_thread(write_workbook, path, sheets)
    caption = f"{services.plan.county}质量强县自评导出（{len(sheets)}个工作表）"
    counts = "，".join(f"{s.title}{len(s.rows)}行" for s in sheets)
    return [Reply(
        f"已导出：{path.name}\n{counts}", files=(FileAttachment(path, "document", caption),),
        private=True,
    )]


async def on_chart(services: Services, message: Incoming, args: str) -> list[Reply]:
    """/chart: score against maximum per 一级指标, and completion per department."""
    view = await county_view(services)
    county = services.plan.county
    first, title, unit = level_bars(view.assessment, services)
    completion = [Bar(p.department, p.percent, 100.0) for p in view.departments]
    paths = (export_path(services, "png", "levels"), export_path(services, "png", "departments"))
    try:
        await asyncio.to_thread(bar_chart, paths[0], f"{county} {title}", first, unit)
        await asyncio.to_thread(bar_chart, paths[1], f"{county} 各部门自评完成率", completion, "", True)
    except ReportError as problem:
        return [Reply(f"图表没能生成：{problem}")]
    files = (
        FileAttachment(paths[0], "image", title),
        FileAttachment(paths[1], "image", "各部门自评完成率"),
    )
    return [Reply(f"{headline(view)}\n图1：{title}；图2：各部门自评完成率。", files=files)]


def export_path(services: Services, suffix: str, part: str = "", plan: str = "") -> Path:
    """<export_dir>/qcbot-<plan>[-part]-<local time>.<suffix>."""
    stamp = services.local_now().strftime("%Y%m%d-%H%M%S")
    name = "-".join(p for p in ("qcbot", plan or services.plan.id, part, stamp) if p)
    return services.export_dir / f"{name}.{suffix}"


# --- every county (city and province admins) ----------------------------------------------


@dataclass(frozen=True)
class CountySummary:
    """One county at a glance: its view, and how many of its questions (each fact once) are answered."""

    services: Services
    view: CountyView
    answered: int
    questions: int

    @property
    def completion(self) -> float:
        """Share of the county's questions answered, in %."""
        return 100.0 * self.answered / self.questions if self.questions else 0.0

    @property
    def score_rate(self) -> float:
        """Estimated score as a share of the maximum (tasks done for checklists), in %."""
        result = self.view.assessment
        if result.checklist is not None:
            return result.checklist.percent
        return 100.0 * result.total / result.max if result.max else 0.0


async def county_summary(services: Services) -> CountySummary:
    """Read and score one county for the cross-county views."""
    view = await county_view(services)
    facts = {q.fact.id for dept in departments_to_assess(services) for q in services.questions(dept)}
    return CountySummary(services, view, len(facts & view.answers.keys()), len(facts))


async def region_summaries(services: Services) -> list[CountySummary]:
    """Every county's summary, in the deployment's order."""
    return [await county_summary(county) for county in counties_of(services)]


def summary_line(summary: CountySummary) -> str:
    """· 平阴县：完成42%（120/285题）；估计全县得分…；失分项12项；联络员8人；材料3份."""
    view = summary.view
    bound = sum(p.liaisons for p in view.departments)
    files, _ = view.evidence_of()
    return (
        f"· {summary.services.plan.county}：完成{num(summary.completion, 1)}%"
        f"（{summary.answered}/{summary.questions}题）；{headline(view)}；"
        f"失分项{len(view.assessment.gaps)}项；联络员{bound}人；材料{files}份"
    )


async def region_progress_text(services: Services) -> str:
    """The /progress 全部 reply: each county's completion, estimated score and gaps, then a comparison."""
    summaries = await region_summaries(services)
    stamp = services.local_now().strftime("%Y-%m-%d %H:%M")
    lines = [f"【全部{len(summaries)}个县（区）】自评进度对比（{stamp}）"]
    lines += [summary_line(s) for s in summaries]
    if len(summaries) > 1:
        by_completion = sorted(summaries, key=lambda s: (-s.completion, s.services.plan.id))
        by_score = sorted(summaries, key=lambda s: (-s.score_rate, s.services.plan.id))
        lines.append("完成率排序：" + " > ".join(
            f"{s.services.plan.county}{num(s.completion, 1)}%" for s in by_completion))
        lines.append("得分率排序：" + " > ".join(
            f"{s.services.plan.county}{num(s.score_rate, 1)}%" for s in by_score))
    lines.append("/export 全部 导出各县（区）明细和对比表。")
    return "\n".join(lines)


async def region_export(services: Services) -> list[Reply]:
    """/export 全部: one workbook, a 对比 sheet then one sheet per county (its scores, progress, answers)."""
    summaries = await region_summaries(services)
    sheets = [comparison_sheet(summaries)]
    for summary in summaries:
        county = summary.services
        names = await liaison_names(county)
        parts = [
            Sheet("部门进度", PROGRESS_HEADER, tuple(progress_rows(summary.view))),
            Sheet("指标得分", SCORE_HEADER, tuple(score_rows(county, summary.view.assessment))),
            Sheet("申请表答案", ANSWER_HEADER, tuple(answer_rows(county, summary.view, names))),
        ]
        sheets.append(stacked(_sheet_title(county, sheets), parts))
    path = export_path(services, "xlsx", plan="all")
    await asyncio.to_thread(write_workbook, path, sheets)
    caption = f"{len(summaries)}个县（区）质量强县自评导出（对比表和各县区工作表）"
    return [Reply(
        f"已导出：{path.name}\n对比表{len(summaries)}行，另有{len(summaries)}个县（区）工作表",
        files=(FileAttachment(path, "document", caption),), private=True,
    )]


def comparison_sheet(summaries: list[CountySummary]) -> Sheet:
    """The 对比 sheet: one row per county."""
    header = ("县（区）", "方案", "评价体系", "完成率(%)", "已答题数", "题目数", "估分", "满分", "得分率(%)",
              "已完成任务", "任务数", "失分项", "可补回分", "部门数", "已绑定部门", "证实性材料", "覆盖指标")
    rows = []
    for s in summaries:
        result, view = s.view.assessment, s.view
        done = result.checklist
        files, covered = view.evidence_of()
        rows.append((
            s.services.plan.county, s.services.plan.id, s.services.framework.name, round(s.completion, 1),
            s.answered, s.questions, result.total, result.max, round(s.score_rate, 1),
            done.done if done else "", done.total if done else "", len(result.gaps),
            round(sum(g.points for g in result.gaps), 2), len(view.departments),
            sum(1 for p in view.departments if p.liaisons), files, covered,
        ))
    return Sheet("对比", header, tuple(rows))


def _sheet_title(county: Services, sheets: list[Sheet]) -> str:
    """The county's name as a sheet title, made unique (≤31 characters)."""
    title = county.plan.county[:31]
    taken = {s.title for s in sheets}
    return title if title not in taken else f"{title[:31 - len(county.plan.id) - 1]}-{county.plan.id}"


# --- chart data -------------------------------------------------------------------------------


def level_bars(result: Assessment, services: Services) -> tuple[list[Bar], str, str]:
    """Score vs maximum per 一级指标; for checklist systems, tasks done vs tasks per 一级."""
    if result.checklist is None:
        bars = [Bar(s.level1, s.score, s.max) for s in result.subtotals if s.level2 is None and s.max]
        return bars, "各一级指标得分与满分", "分"
    level = {ind.id: ind.level1 for ind in checklist_indicators(services.framework)}
    done: dict[str, list[int]] = {}
    for entry in result.checklist.entries:
        counts = done.setdefault(level.get(entry.indicator, ""), [0, 0])
        counts[0] += entry.done is True
        counts[1] += 1
    return [Bar(name, d, t) for name, (d, t) in done.items()], "各一级指标任务完成数", "项"


# --- workbook rows ----------------------------------------------------------------------------


ANSWER_HEADER = ("部门", "指标编号", "指标", "问题", "答案", "填报人", "填报时间", "渠道")
SCORE_HEADER = ("指标编号", "一级指标", "二级指标", "指标", "类型", "得分", "满分", "估算", "责任部门", "得分理由")
PROGRESS_HEADER = ("部门", "联络员人数", "指标数", "已答指标", "题目数", "已答题数", "完成率(%)", "估分", "满分",
                   "已完成任务", "任务数")


async def liaison_names(services: Services) -> dict[tuple[str, str], str]:
    """People's names by (channel, user id): as last seen, a liaison's bound name first."""
    names = {key: c.user_name for key, c in (await services.storage.contacts()).items() if c.user_name}
    for lia in await services.storage.liaisons(services.plan.id):
        names[(lia.channel, lia.user_id)] = lia.user_name or names.get((lia.channel, lia.user_id), "")
    return names


async def workbook_sheets(services: Services, view: CountyView) -> list[Sheet]:
    """The six sheets of /export."""
    names = await liaison_names(services)
    deadlines = await all_deadlines(services)
    asked = await services.storage.unanswered_questions()
    return [
        Sheet("申请表答案", ANSWER_HEADER, tuple(answer_rows(services, view, names))),
        Sheet("指标得分", SCORE_HEADER, tuple(score_rows(services, view.assessment))),
        Sheet("部门进度", PROGRESS_HEADER, tuple(progress_rows(view))),
        Sheet("时间节点", ("编号", "日期", "星期", "原定日期", "事项", "涉及部门", "来源", "状态"),
              tuple(deadline_rows(deadlines, services.local_now()))),
        Sheet("未答问题", ("提问时间", "渠道", "用户", "问题"),
              tuple((q["asked_at"], CHANNELS.get(q["channel"], q["channel"]), q["user_id"], q["question"])
                    for q in asked)),
        Sheet("证实性材料", ("编号", "指标编号", "指标", "部门", "文件名", "大小(KB)", "类型", "提交人",
                        "提交时间", "sha256"), tuple(await evidence_rows(services))),
    ]


async def evidence_rows(services: Services) -> list[tuple[Cell, ...]]:
    """One row per evidence file the departments sent (withdrawn ones left out), by indicator."""
    files = await services.storage.evidence(services.plan.id)
    indicators = services.framework.indicators
    out: list[tuple[Cell, ...]] = []
    for item in sorted(files, key=lambda f: (_indicator_key(f.indicator), f.id)):
        indicator = indicators.get(item.indicator)
        out.append((
            item.id, item.indicator or "未指定", indicator.label if indicator else "", item.department,
            item.name, round(item.size / 1024, 1), item.media_type, item.uploader,
            beijing_time(item.received_at), item.sha256,
        ))
    return out


def _indicator_key(indicator_id: str) -> tuple[int, str]:
    """Indicators in their numbering order ("2" before "10"), unassigned files last."""
    head = indicator_id.split(".")[0]
    return (int(head) if head.isdigit() else 10**6, indicator_id)


def answer_rows(
    services: Services, view: CountyView, names: dict[tuple[str, str], str]
) -> list[tuple[Cell, ...]]:
    """One row per stored answer: department, indicator, question, answer, who (name) and when."""
    facts = framework_facts(services.framework)
    out: list[tuple[Cell, ...]] = []
    for row in sorted(view.rows, key=lambda r: _question_order(services, r.department, r.fact_id)):
        asked = _questions(services, row.department)
        question = asked.get(row.fact_id)
        fact = question.fact if question is not None else facts.get(row.fact_id)
        indicator = question.indicator if question is not None else None
        text = fact.question if fact is not None else row.fact_id
        if question is not None and question.fact.id != row.fact_id:
            text = f"{question.fact.question}（完成日期）"
        who = names.get((row.channel, row.updated_by)) or row.updated_by
        out.append((
            row.department, indicator.id if indicator else "", indicator.label if indicator else "",
            text, show(fact, row.value), who, beijing_time(row.updated_at),
            CHANNELS.get(row.channel, row.channel),
        ))
    return out


def beijing_time(stamp: str) -> str:
    """A stored UTC ISO time as Beijing time, 2026-05-12 09:30 (the text unchanged if unreadable)."""
    try:
        when = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return stamp
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(SHANGHAI).strftime(
        "%Y-%m-%d %H:%M")


def _question_order(services: Services, department: str, fact_id: str) -> tuple[str, int, str]:
    """Sort key: department, then the question's number (answers of no question last)."""
    question = _questions(services, department).get(fact_id)
    return (department, question.number if question else 10**6, fact_id)


def _questions(services: Services, department: str) -> dict[str, Question]:
    found: dict[str, Question] = {}
    for q in services.questions(department) if department in services.kb.departments else ():
        found[q.fact.id] = q
        if q.done_date is not None:
            found[q.done_date.id] = q
    return found


def show(fact: Fact | None, value: Any) -> Cell:
    """An answer as people read it: 是/否, a number with its unit, the text."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float) and fact is not None:
        return qty(float(value), fact.shown_unit)
    return str(value)


def score_rows(services: Services, result: Assessment) -> list[tuple[Cell, ...]]:
    """One row per scored indicator, then the total (the numbers `qcbot score` prints)."""
    kinds = {"indicator": "指标", "bonus": "加分项", "veto": "否决项", "rejection": "不予受理", "task": "任务"}
    out: list[tuple[Cell, ...]] = [
        (s.indicator, s.level1, s.level2 or "", s.title, kinds.get(s.kind, s.kind), s.score, s.max,
         "是" if s.estimated else "", "、".join(unit_ids(services, s.indicator)), s.reason)
        for s in result.indicators
    ]
    out.append(("合计", "", "", result.status, "", result.total, result.max, "", "", ""))
    return out


def progress_rows(view: CountyView) -> list[tuple[Cell, ...]]:
    """One row per department."""
    return [
        (p.department, p.liaisons, p.indicators, p.answered_indicators, p.questions, p.answered,
         p.percent, p.score, p.max, p.tasks_done, p.tasks)
        for p in view.departments
    ]


def deadline_rows(deadlines: list[Deadline], now: datetime) -> list[tuple[Cell, ...]]:
    """One row per deadline (plan, phases, tasks, the office's), by date."""
    today = now.date()
    return [
        (d.id, d.date.isoformat(), "周" + "一二三四五六日"[d.date.weekday()],
         d.original.isoformat() if d.original else "", d.text,
         "、".join(d.departments) if d.departments else "全部部门", SOURCES.get(d.source, d.source),
         "已过" if d.date < today else "未到")
        for d in deadlines
    ]

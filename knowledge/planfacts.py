"""Facts about a county's plan itself: slogan, leading group, office, phases, deadlines, goals, targets."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from knowledge.display import clip, squash
from knowledge.model import Framework, Plan
from knowledge.text import Segmenter, normalize

# Words that show a question is about the plan rather than an indicator.
PLAN_CUES = re.compile(
    r"阶段|口号|质量精神|邮箱|发到哪|领导小组|组长|办公室|设在|专项经费|专项资金|财政.{0,6}(万|钱)|多少钱|"
    r"到20\d\d年|验收|截止|几号|目标|发文|文号|申报|线上|线下|盖章|创建成功|什么时候创建|(材料|申请表|总结).{0,6}(交|报|发)|"
    r"phase|deadline|e-?mail|slogan|office|target"
)
# 评上以后省里奖励多少: what the county gets once recognised (the plan's sentence on funds).
FUNDS = re.compile(
    r"(评上|认定|创建成功|通过|成功)(以后|之后|后|了).{0,8}(奖|钱|资金|支持|补|给)|(奖励|奖|补助|补贴|支持|给)(多少|几)(钱|万)?$|"
    r"(奖励|补助|补贴|奖补)(多少|几)|专项资金|资金支持|subsid|funding|reward"
)
_FUNDS_TEXT = re.compile(r"资金|万元|奖励|补助|奖补")
# Cues that only the plan can answer, whatever the indicators say.
OFFICE = re.compile(
    r"(质量强[县市区]办|领导小组办公室|创建办公室|创建办|专班|办公室).{0,4}"
    r"(设在|在哪|在那|是哪个单位|是哪个部门|在什么单位|归哪|哪个单位|哪个部门)"
)
PLAN_ONLY = re.compile(OFFICE.pattern + r"|阶段|口号|邮箱|发到哪|领导小组.{0,4}(组长|成员|设在)|组长是|办公室设在|设在哪|创建成功|多少钱|线上|线下|盖章|e-?mail|slogan|phases|" + FUNDS.pattern)
_LIST_PHASES = re.compile(r"(几个|哪些|哪几个|分几个|有几)阶段|阶段.{0,4}(安排|划分|有哪些)|phases")


@dataclass(frozen=True)
class Passage:
    """One fact of a plan, as it is shown and as it is matched."""

    kind: str  # slogan | group | phase | deadline | goal | target | document
    text: str
    match: str


def plan_passages(plan: Plan, fw: Framework) -> list[Passage]:
    """Everything a plan states about itself, one passage each."""
    out: list[Passage] = []
    if plan.slogan:
        out.append(Passage("slogan", f"{plan.county}的质量精神（口号）：{plan.slogan}", f"质量精神 口号 {plan.slogan}"))
    group = plan.leading_group
    if group is not None:
        lead = f"，组长：{' '.join(group.leader.split())}" if group.leader else ""
        office = f"。{group.office}" if group.office else ""
        out.append(Passage("group", f"{group.name}{lead}{office}", f"领导小组 组长 办公室 设在 {group.name} {group.office}"))
    for phase in plan.phases:
        period = f"（{phase.period}）" if phase.period else ""
        out.append(Passage("phase", f"{phase.name}{period}：{_clip(phase.text, 150)}", f"阶段 {phase.name} {phase.period} {phase.text}"))
    for deadline in plan.deadlines:
        out.append(Passage("deadline", f"{deadline.date.isoformat()}：{deadline.text}", f"截止 时间 {deadline.text}"))
    for goal in plan.goals:
        out.append(Passage("goal", goal, f"目标 {goal}"))
    for target in fw.targets if plan.framework == fw.id else ():
        out.append(Passage("target", f"{target.table}第{target.no}条：{target.text}", f"目标 指标 {target.table} {target.text}"))
    if plan.doc_no or plan.issuer:
        text = f"《{plan.name}》，{plan.issuer}{('，' + plan.doc_no) if plan.doc_no else ''}，{plan.date_text}"
        out.append(Passage("document", text, f"方案 文件 文号 发文 {plan.name} {plan.issuer} {plan.doc_no}"))
    return out


class PlanFacts:
    """A small ranked lookup over one plan's passages."""

    def __init__(self, plan: Plan, fw: Framework, segmenter: Segmenter) -> None:
        self.plan = plan
        self.passages = plan_passages(plan, fw)
        self.segmenter = segmenter
        self.tokens = [Counter(segmenter.tokens(normalize(p.match))) for p in self.passages]
        n = max(1, len(self.passages))
        df: Counter[str] = Counter(t for toks in self.tokens for t in toks)
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    def search(self, text: str, limit: int = 3) -> list[tuple[Passage, float]]:
        """Passages ranked by how many of the question's words they share (rarer words weigh more)."""
        query = [t for t in dict.fromkeys(self.segmenter.tokens(text)) if not t.startswith("~")]
        scored = []
        for passage, toks in zip(self.passages, self.tokens, strict=True):
            score = sum(self.idf.get(t, 0.0) for t in query if t in toks)
            if score > 0:
                scored.append((passage, score))
        scored.sort(key=lambda item: -item[1])
        return scored[:limit]

    def phases_text(self) -> str:
        """All phases with their periods, or a plain statement that the plan sets none."""
        if not self.plan.phases:
            return f"{self.plan.county}方案没有划分带日期的阶段。"
        lines = [f"{self.plan.county}方案分{len(self.plan.phases)}个阶段："]
        lines += [f"· {p.name}（{p.period or '未定日期'}）" for p in self.plan.phases]
        return "\n".join(lines)

    def deadlines_text(self) -> str:
        """The plan's dated obligations."""
        if not self.plan.deadlines:
            return self.phases_text()
        lines = [f"{self.plan.county}方案的时间节点："]
        lines += [f"· {d.date.isoformat()}：{_clip(d.text, 120)}" for d in self.plan.deadlines]
        return "\n".join(lines)

    def office(self) -> Passage | None:
        """The leading group and where its office sits."""
        return next((p for p in self.passages if p.kind == "group"), None)

    def funds(self) -> list[Passage]:
        """The plan's sentences about money the county receives (省级财政给予200万元专项资金支持)."""
        return [p for p in self.passages if p.kind in ("goal", "phase") and _FUNDS_TEXT.search(p.text)]

    def wants_phases(self, text: str) -> bool:
        return bool(_LIST_PHASES.search(text))


def _clip(text: str, limit: int) -> str:
    return clip(squash(text), limit)

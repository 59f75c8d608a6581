"""Place each task row on an indicator of the framework with the Q&A's own search and trust test.

A row's title is asked as a question would be (`Library.understand` → `Query.search`, the ranked and
coverage-reranked hits, and `steps.common.trusted`); the row's own 二级 heading and 分值, where the
table has them, then weigh the first hits. An explicit indicator number in the row wins over all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.library import Library
from knowledge.model import Framework, Indicator
from knowledge.plan_import.columns import TaskRow
from knowledge.retrieval import Hit
from knowledge.steps.common import trusted

CANDIDATES = 10  # first hits weighed by heading and points
HEADING_MATCH, HEADING_OTHER = 1.5, 0.8  # the row's 二级 heading names the hit's / another heading
POINTS_MATCH, POINTS_OTHER = 1.2, 0.85  # the row's 分值 equals the hit's points / differs
REVIEW = 0.6  # below this confidence a placed row is listed for checking (and marked in the file)
PLACE = 0.35  # below this (or when the search is not trusted) a row is not placed at all
_EXPLICIT = re.compile(r"(?:第|指标)\s*(\d{1,3})\s*项|[（(]\s*(?:指标|第)?\s*(\d{1,3})\s*项?\s*[）)]\s*$")
_HEADING_NOTE = re.compile(r"[（(][^）)]*[）)]|\d+(\.\d+)?分|[\s:：、.．]|^[一二三四五六七八九十\d]+")


@dataclass(frozen=True)
class Candidate:
    """An indicator a row may belong to, with its weighed score."""

    indicator: Indicator
    score: float


@dataclass(frozen=True)
class Placement:
    """Where a row goes: the indicator (None: not placed), the confidence 0–1, how, and the runners-up."""

    row: TaskRow
    indicator: Indicator | None
    confidence: float
    method: str  # 编号 (the row names it) | 检索 (the Q&A search) | 未定位
    candidates: tuple[Candidate, ...] = ()

    @property
    def needs_review(self) -> bool:
        """Placed, but with a confidence the office should check."""
        return self.indicator is not None and self.confidence < REVIEW


class Placer:
    """Places rows on one framework's indicators."""

    def __init__(self, library: Library, framework: Framework, plan: str) -> None:
        self.library = library
        self.framework = framework
        self.plan = plan
        # a heading without its numbering and points (一、质量文化特色鲜明 → 质量文化特色鲜明) → the framework's name
        self.headings = {_HEADING_NOTE.sub("", n): n for lv in framework.levels for n in (lv.name, *(c.name for c in lv.children))}
        self.headings.pop("", None)

    def place(self, row: TaskRow) -> Placement:
        """The indicator the row belongs to, or an unplaced row with the best guesses."""
        explicit = self._explicit(row)
        if explicit is not None:
            return Placement(row, explicit, 1.0, "编号")
        query = self.library.understand(row.title, self.plan, self.framework.id)
        hits = list(query.search[:CANDIDATES])
        if not hits and row.criteria:
            query = self.library.understand(row.criteria, self.plan, self.framework.id)
            hits = list(query.search[:CANDIDATES])
        if not hits:
            return Placement(row, None, 0.0, "未定位")
        weighed = sorted((Candidate(h.indicator, h.score * self._weight(row, h)) for h in hits), key=lambda c: -c.score)
        best = weighed[0]
        hit = next(h for h in hits if h.indicator.id == best.indicator.id)
        confidence = self._confidence(query, hit, weighed) if trusted(query, hit) else 0.0
        if confidence < PLACE:
            return Placement(row, None, confidence, "未定位", tuple(weighed[:3]))
        return Placement(row, best.indicator, confidence, "检索", tuple(weighed[:3]))

    def _explicit(self, row: TaskRow) -> Indicator | None:
        """The indicator a row names by number (an 指标序号 column, or 第17项 in the title)."""
        ref = row.indicator_ref
        if ref is None:
            match = _EXPLICIT.search(row.title)
            ref = next((g for g in match.groups() if g), None) if match else None
        return self.framework.indicators.get(ref) if ref is not None else None

    def _weight(self, row: TaskRow, hit: Hit) -> float:
        """How far the row's heading and points agree with the hit."""
        weight = 1.0
        heading = self._heading(row.level2) or self._heading(row.level1)
        if heading:
            weight *= HEADING_MATCH if heading in (hit.indicator.level2, hit.indicator.level1) else HEADING_OTHER
        if row.points is not None and hit.indicator.kind == "indicator":
            weight *= POINTS_MATCH if abs(row.points - hit.indicator.points) < 1e-9 else POINTS_OTHER
        return weight

    def _heading(self, text: str) -> str:
        """The framework heading a row's heading cell names (计量（7分） → 计量), else ""."""
        name = _HEADING_NOTE.sub("", text)
        if not name:
            return ""
        if name in self.headings:
            return self.headings[name]
        return next((h for key, h in self.headings.items() if key in name or (len(name) >= 2 and name in key)), "")

    def _confidence(self, query: object, hit: Hit, weighed: list[Candidate]) -> float:
        """Half how clearly the best beats the second, half how much of the row's words it covers."""
        margin = 1.0 - weighed[1].score / weighed[0].score if len(weighed) > 1 and weighed[0].score > 0 else 1.0
        coverage = self.library.index.coverage(list(query.words), hit)  # type: ignore[attr-defined]
        return round(min(1.0, 0.5 * margin + 0.5 * coverage), 2)

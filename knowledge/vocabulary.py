"""Names the bot recognises in a question: systems, plans, departments, glossary terms, headings."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge.departments import DepartmentIndex, clean
from knowledge.errors import KnowledgeError
from knowledge.model import KnowledgeBase, Level, Term
from knowledge.text import normalize

_LATIN_WORD = re.compile(r"[a-z0-9&]")
ENGLISH_FILE = Path(__file__).parent / "data" / "english.yaml"
SYNONYMS_FILE = Path(__file__).parent / "data" / "synonyms.yaml"


@dataclass(frozen=True)
class LevelRef:
    """A 一级/二级 heading (or Hunan 指标项) and the indicators under it."""

    framework: str
    name: str
    depth: int  # 1 or 2
    points: float | None
    members: tuple[str, ...]


class Matcher:
    """Longest-match lookup of known phrases in a normalised question."""

    def __init__(self, phrases: Iterable[tuple[str, object]], min_len: int = 2) -> None:
        self._table: dict[str, list[object]] = {}
        for phrase, value in phrases:
            key = normalize(phrase)
            if len(key) >= min_len and value not in self._table.get(key, []):
                self._table.setdefault(key, []).append(value)
        self._lengths: dict[str, list[int]] = {}  # first character → phrase lengths, longest first
        for key in self._table:
            self._lengths.setdefault(key[0], []).append(len(key))
        for sizes in self._lengths.values():
            sizes[:] = sorted(set(sizes), reverse=True)

    def find(self, text: str) -> list[tuple[str, object]]:
        """Non-overlapping matches, longest first, as (phrase, value)."""
        candidates: list[tuple[int, int]] = []
        for start, char in enumerate(text):
            for size in self._lengths.get(char, ()):
                piece = text[start : start + size]
                if len(piece) == size and piece in self._table and not _cuts_latin_word(text, start, size):
                    candidates.append((size, start))
        found: list[tuple[str, object]] = []
        taken = [False] * len(text)
        for size, start in sorted(candidates, key=lambda c: (-c[0], c[1])):
            if any(taken[start : start + size]):
                continue
            taken[start : start + size] = [True] * size
            piece = text[start : start + size]
            found.extend((piece, v) for v in self._table[piece])
        return found

    def phrases(self) -> list[str]:
        return list(self._table)


def _cuts_latin_word(text: str, start: int, size: int) -> bool:
    """True when an English phrase match would cut a longer English word (veto in vetoes is fine)."""
    piece = text[start : start + size]
    if not piece.isascii():
        return False
    before = text[start - 1] if start else " "
    return bool(_LATIN_WORD.match(before))


class Vocabulary:
    """Every name the question may contain, resolved to what it names."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.departments = DepartmentIndex(kb.departments)
        self.systems = Matcher(self._system_phrases())
        self.department_names = Matcher(self._department_phrases())
        self.terms = Matcher(self._term_phrases())
        self.levels = Matcher(self._level_phrases())
        self.english = Matcher(self._english_phrases(), min_len=2)
        self.indicator_names = self._indicator_names()
        self.indicator_titles = self._indicator_names(with_keywords=False)
        self.system_names = frozenset(self.systems.phrases())
        self.synonyms = Synonyms(synonym_table())

    def for_plans(self, kb: KnowledgeBase) -> Vocabulary:
        """This vocabulary for `kb`, which has more plans: only the system and plan names are rebuilt."""
        other = copy.copy(self)
        other.kb = kb
        other.systems = Matcher(other._system_phrases())
        other.system_names = frozenset(other.systems.phrases())
        return other

    def _system_phrases(self) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = []
        for fw in self.kb.frameworks.values():
            out += [(a, ("framework", fw.id)) for a in fw.aliases]
        for plan in self.kb.plans.values():
            out += [(a, ("plan", plan.id)) for a in (*plan.aliases, plan.county)]
        return out

    def _department_phrases(self) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = []
        for phrase, owners in self.departments.aliases().items():
            out += [(phrase, d) for d in owners if self.kb.departments[d].kind == "department"]
        for dept in self.kb.departments.values():
            out += [(e, dept.id) for e in dept.english]
        return out

    def _term_phrases(self) -> list[tuple[str, object]]:
        return [(name, term) for term in self.kb.glossary for name in (term.term, *term.aliases, *term.english)]

    def _english_phrases(self) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = [(e, t.term) for t in self.kb.glossary for e in t.english]
        out += [(e, d.id) for d in self.kb.departments.values() for e in d.english]
        out += [(e, zh) for zh, names in english_words().items() for e in names]
        return out

    def _level_phrases(self) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = []
        for fw in self.kb.frameworks.values():
            for level in fw.levels:
                out += [(n, ref) for ref in [_level_ref(fw.id, level, 1, self.kb)] for n in _level_names(level)]
                for child in level.children:
                    out += [(n, ref) for ref in [_level_ref(fw.id, child, 2, self.kb, level.name)] for n in _level_names(child)]
        return out

    def _indicator_names(self, with_keywords: bool = True) -> frozenset[str]:
        """What indicators are called: short names, aliases and headings (and their keywords)."""
        names: set[str] = set()
        for fw in self.kb.frameworks.values():
            for ind in fw.indicators.values():
                names.update((ind.editorial.short, *ind.editorial.aliases))
                names.update(ind.editorial.keywords if with_keywords else ())
            for level in fw.levels:
                names.update((level.name, *(c.name for c in level.children)))
        return frozenset(normalize(n) for n in names if n)

    def translate(self, text: str) -> str:
        """Append the Chinese for known English terms (metrology → 计量)."""
        found = [str(v) for _, v in self.english.find(text)]
        return f"{text} {' '.join(found)}" if found else text

    def correction_terms(self) -> set[str]:
        """What a misspelt word may be corrected to: domain terms and question words."""
        return self.domain_terms() | set(QUESTION_WORDS)

    def domain_terms(self) -> set[str]:
        """Terms jieba must keep whole and the typo corrector may restore."""
        terms: set[str] = set()
        for fw in self.kb.frameworks.values():
            for ind in fw.indicators.values():
                ed = ind.editorial
                terms.update((ed.short, *ed.aliases, *ed.keywords))
                for fact in ind.facts:
                    terms.update(o for o in fact.options if len(o) <= 8)
            for level in fw.levels:
                terms.update((level.name, *(c.name for c in level.children)))
        for matcher in (self.systems, self.department_names, self.terms):
            terms.update(p for p in matcher.phrases() if not p.isascii())
        terms.update(CAMPAIGN_WORDS)
        return {clean(normalize(t)) for t in terms if t}


# The campaign's own names: kept whole by the segmenter, so no typo repair ever cuts into them.
CAMPAIGN_WORDS = (
    "质量强县", "质量强市", "质量强区", "质量强省", "质量强国", "质量强县办", "质量强市办", "质量强区办",
    "质量强省办", "示范县", "示范城市", "质量强县示范县", "全国质量强市示范城市",
)
QUESTION_WORDS = (
    "负责", "牵头", "配合", "时限", "期限", "截止", "材料", "准备", "评分", "得分", "打分", "分值",
    "要求", "标准", "提供", "佐证", "证明", "指标", "任务", "完成", "数据来源", "责任单位", "责任部门",
    "满分", "合格线", "加分", "扣分", "怎么", "哪些", "多少", "活动", "热线", "投诉",
)


_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]+、|\d+(?:\.\d+)*\s*[.、]?\s*)")


def _level_names(level: Level) -> list[str]:
    """A heading as printed, its repaired display, and both without their numbering (五、 / 2.7)."""
    names = [n for n in (level.name, level.display) if n]
    return names + [stripped for n in names if (stripped := _NUMBERING.sub("", n)) != n and len(stripped) >= 2]


def _level_ref(fw_id: str, level: Level, depth: int, kb: KnowledgeBase, parent: str = "") -> LevelRef:
    fw = kb.frameworks[fw_id]
    if depth == 1:
        members = tuple(i.id for i in fw.indicators.values() if i.level1 == level.name and i.kind != "veto")
    else:
        members = tuple(i.id for i in fw.indicators.values() if i.level1 == parent and i.level2 == level.name)
    return LevelRef(fw_id, level.name, depth, level.points, members)


def english_words(path: Path = ENGLISH_FILE) -> dict[str, tuple[str, ...]]:
    """The English words of knowledge/data/english.yaml by the Chinese they stand for; {} when absent."""
    if not path.is_file():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(raw, list) or not all(isinstance(e, dict) and e.get("zh") and isinstance(e.get("en"), list) for e in raw):
        raise KnowledgeError(path.name, "", "expected a list of {zh: 中文, en: [english …]}")
    return {str(e["zh"]): tuple(str(w).lower() for w in e["en"]) for e in raw}


def term_of(value: object) -> Term:
    """Narrow a matcher value to a glossary Term."""
    if not isinstance(value, Term):
        raise TypeError(value)
    return value


class Synonyms:
    """Replace liaisons' words by the documents' (造假 → 不实), longest first, in one pass."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        ordered = sorted(table, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def apply(self, text: str) -> str:
        """The text with every variant replaced by its canonical word."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self.table[m.group(0)], text)


def synonym_table(path: Path = SYNONYMS_FILE) -> dict[str, str]:
    """Variant → canonical word from knowledge/data/synonyms.yaml; {} when absent; KnowledgeError naming the entry."""
    if not path.is_file():
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as exc:
        raise KnowledgeError(path.name, "", f"not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(raw, list):
        raise KnowledgeError(path.name, "", "expected a list of {canonical: 词, variants: [说法 …]}")
    table: dict[str, str] = {}
    for n, entry in enumerate(raw):
        where = f"[{n}]"
        if not isinstance(entry, dict) or set(entry) != {"canonical", "variants"}:
            raise KnowledgeError(path.name, where, "expected exactly the keys canonical and variants")
        canonical, variants = entry["canonical"], entry["variants"]
        if not isinstance(canonical, str) or not canonical.strip():
            raise KnowledgeError(path.name, f"{where}.canonical", "expected a non-empty word")
        if not isinstance(variants, list) or not variants:
            raise KnowledgeError(path.name, f"{where}.variants", "expected a non-empty list of words")
        canonical = normalize(canonical)
        for k, variant in enumerate(variants):
            spot = f"{where}.variants[{k}]"
            if not isinstance(variant, str) or not normalize(variant):
                raise KnowledgeError(path.name, spot, "expected a non-empty word")
            variant = normalize(variant)
            if variant in canonical:
                raise KnowledgeError(path.name, spot, f"{variant!r} is part of its canonical word {canonical!r}")
            if variant in table:
                raise KnowledgeError(path.name, spot, f"{variant!r} is already a variant of {table[variant]!r}")
            table[variant] = canonical
    return table

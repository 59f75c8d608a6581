"""Lexical ranking of indicators: field-weighted BM25 over jieba tokens, fused with fuzzy alias match."""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from knowledge.model import Indicator, KnowledgeBase
from knowledge.text import Segmenter, bigrams, normalize

# Field weights: what people call an indicator outweighs its criteria, which outweigh headings.
FIELD_WEIGHTS = {"name": 3.0, "keywords": 2.2, "body": 1.0, "context": 0.5}
BIGRAM_WEIGHT = 0.35
K1, B = 1.2, 0.6
MIN_IDF = 0.15  # tokens rarer than this are skipped (质量 is in almost every indicator)
MAX_RANKED = 40  # hits materialised per system and search; nothing reads further down


@dataclass(frozen=True)
class Hit:
    """One ranked indicator with its score and the query words it matched in names."""

    indicator: Indicator
    score: float
    name_words: frozenset[str] = frozenset()
    matched_words: frozenset[str] = frozenset()

    @property
    def key(self) -> tuple[str, str]:
        return (self.indicator.framework, self.indicator.id)


@dataclass
class _Field:
    postings: dict[str, dict[int, int]] = field(default_factory=dict)
    lengths: list[int] = field(default_factory=list)
    avg: float = 1.0


def indicator_fields(ind: Indicator, kb: KnowledgeBase) -> dict[str, list[str]]:
    """The texts of an indicator, grouped by field."""
    fw = kb.frameworks[ind.framework]
    clause = fw.clauses.get(ind.clause) if ind.clause else None
    ed = ind.editorial
    name = [ind.title, ed.display, ed.short, *ed.aliases]
    if ind.level2:
        name.append(ind.level2)
    body = [ind.criteria, *(ln.content for ln in ind.lines), *(t for ln in ind.lines for t in ln.tasks)]
    body += [f.question for f in ind.facts]
    options = [o for f in ind.facts for o in f.options if o not in ("是", "否", "无", "有")]
    context = [ind.level1, *ed.evidence]
    if clause is not None:
        context += [clause.title, clause.text]
    return {"name": name, "keywords": [*ed.keywords, *options], "body": body, "context": context}


_RUNS = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9.]+")


def coverage_units(word: str) -> list[str]:
    """What must be found of a word: its Latin/number runs whole, its Chinese runs by pairs."""
    units: list[str] = []
    for run in _RUNS.findall(word):
        if run.isascii():
            units += [run.strip(".")] if len(run.strip(".")) >= 2 else []
        elif len(run) == 2:
            units.append(run)
        else:
            units += bigrams(run)
    return units


class Index:
    """An inverted index over every indicator of every framework."""

    def __init__(self, kb: KnowledgeBase, segmenter: Segmenter) -> None:
        self.segmenter = segmenter
        self.docs: list[Indicator] = [ind for fw in kb.frameworks.values() for ind in fw.indicators.values()]
        self.position = {(d.framework, d.id): i for i, d in enumerate(self.docs)}
        self.doc_framework: list[str] = [d.framework for d in self.docs]
        self.names: list[list[str]] = []
        self.texts: list[str] = []
        self.words: set[str] = set()
        self.fields = {name: _Field() for name in FIELD_WEIGHTS}
        for doc_id, ind in enumerate(self.docs):
            texts = indicator_fields(ind, kb)
            self.names.append([normalize(t) for t in (*texts["name"], *texts["keywords"]) if t])
            joined = {fname: normalize(" ".join(p for p in parts if p)) for fname, parts in texts.items()}
            self.texts.append(" ".join(joined.values()))
            for fname, text in joined.items():
                tokens = segmenter.tokens(text)
                self.words.update(t for t in tokens if not t.startswith("~"))
                self._add(fname, doc_id, tokens)
        n = len(self.docs)
        for fld in self.fields.values():
            fld.avg = sum(fld.lengths) / max(1, n) or 1.0
        df: Counter[str] = Counter()
        for fld in self.fields.values():
            for token, posting in fld.postings.items():
                df[token] = max(df[token], len(posting))
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self.max_idf = math.log(1 + (n - 0.5) / 1.5)
        self._unit_cache: dict[tuple[str, ...], list[tuple[str, float]]] = {}
        self._compile()

    def _add(self, fname: str, doc_id: int, tokens: list[str]) -> None:
        fld = self.fields[fname]
        fld.lengths.append(len(tokens))
        for token, count in Counter(tokens).items():
            fld.postings.setdefault(token, {})[doc_id] = count

    def _compile(self) -> None:
        """Precompute, per token, each document's field-weighted BM25 term weight (idf applied later)."""
        self.contrib: dict[str, list[tuple[int, float, bool]]] = {}
        merged: dict[str, dict[int, list[float | bool]]] = {}
        for fname, fld in self.fields.items():
            named = fname in ("name", "keywords")
            for token, posting in fld.postings.items():
                docs = merged.setdefault(token, {})
                for doc_id, tf in posting.items():
                    norm = tf * (K1 + 1) / (tf + K1 * (1 - B + B * fld.lengths[doc_id] / fld.avg))
                    entry = docs.setdefault(doc_id, [0.0, False])
                    entry[0] = float(entry[0]) + FIELD_WEIGHTS[fname] * norm
                    entry[1] = bool(entry[1]) or named
        for token, docs in merged.items():
            self.contrib[token] = [(d, float(w), bool(n)) for d, (w, n) in docs.items()]

    def search(self, tokens: Iterable[str], frameworks: Iterable[str] | None = None) -> list[Hit]:
        """Indicators ranked by field-weighted BM25 over the query tokens."""
        allowed = set(frameworks) if frameworks is not None else None
        fw_of = self.doc_framework
        idfs = self.idf
        scores: dict[int, float] = {}
        name_words: dict[int, set[str]] = {}
        matched: dict[int, set[str]] = {}
        for token in dict.fromkeys(tokens):
            idf = idfs.get(token)
            if idf is None or idf < MIN_IDF:  # in nearly every indicator: cannot change the ranking
                continue
            bigram = token.startswith("~")
            weight = idf * (BIGRAM_WEIGHT if bigram else 1.0)
            for doc_id, contribution, named in self.contrib[token]:
                if allowed is not None and fw_of[doc_id] not in allowed:
                    continue
                scores[doc_id] = scores.get(doc_id, 0.0) + weight * contribution
                if bigram:
                    continue
                seen = matched.get(doc_id)
                if seen is None:
                    matched[doc_id] = seen = set()
                seen.add(token)
                if named:
                    name_words.setdefault(doc_id, set()).add(token)
        by_framework: dict[str, list[tuple[int, float]]] = {}
        for doc_id, score in scores.items():
            by_framework.setdefault(fw_of[doc_id], []).append((doc_id, score))
        ranked = sorted(
            (kv for group in by_framework.values() for kv in heapq.nlargest(MAX_RANKED, group, key=lambda kv: kv[1])),
            key=lambda kv: -kv[1],
        )
        return [
            Hit(self.docs[d], s, frozenset(name_words.get(d, ())), frozenset(matched.get(d, ())))
            for d, s in ranked
        ]

    def coverage(self, words: list[str], hit: Hit) -> float:
        """Rarity-weighted share of the words' character pairs found in the hit's text (0–1)."""
        units = self._units(tuple(words))
        if not units:
            return 0.0
        text = self.texts[self.position[hit.key]]
        found = sum(weight for unit, weight in units if unit in text)
        return found / sum(weight for _, weight in units)

    def _units(self, words: tuple[str, ...]) -> list[tuple[str, float]]:
        """The coverage units of the words with their weights (memoised: reranking asks often)."""
        cached = self._unit_cache.get(words)
        if cached is None:
            units = [u for w in words for u in coverage_units(w)]
            cached = [(u, self.idf.get(u, self.idf.get(f"~{u}", self.max_idf))) for u in units]
            if len(self._unit_cache) > 2048:
                self._unit_cache.clear()
            self._unit_cache[words] = cached
        return cached

    def fuzzy(self, text: str, hits: list[Hit], limit: int = 12) -> dict[tuple[str, str], float]:
        """Best partial-ratio similarity (0–1) of the question to each candidate's names."""
        out: dict[tuple[str, str], float] = {}
        for hit in hits[:limit]:
            names = self.names[self.position[hit.key]]
            best = max((fuzz.partial_ratio(text, name) for name in names if len(name) >= 2), default=0.0)
            out[hit.key] = best / 100
        return out

"""Repair pinyin-input typos (记量 → 计量, 标准话 → 标准化) against the domain vocabulary."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from functools import lru_cache

from knowledge.text import cjk_runs

MAX_TERM = 8
MIN_PINYIN = 6  # a pinyin spelling shorter than this is too likely an English word or an abbreviation
_LATIN_WORD = re.compile(r"[a-z]+")
MAX_READINGS = 16  # combinations of polyphonic readings tried per window
LONG_RUN = 20  # in longer runs of Chinese (rambling questions) only domain terms are repaired by sound
# Characters that are seldom part of a mistyped term: a window holding one is left alone,
# except when it sounds exactly like a long domain term (装配是建筑 → 装配式建筑).
FUNCTION_CHARS = frozenset("的是了吗呢啥么什在有和与或及也都就还要能会得这那我你他谁哪几多")
# Characters a shape repair never replaces: swapping them changes the meaning, not the spelling.
MEANINGFUL_CHARS = frozenset("县市区省国镇乡一二三四五六七八九十百千万亿上下前后内外")


CJK_RANGE = range(0x4E00, 0x9FA6)  # the common CJK block: readings are tabled once at build time


def syllables(text: str) -> tuple[str, ...]:
    """Toneless pinyin of a Chinese string, with the common fuzzy pairs merged (zh/z, ing/in …)."""
    from pypinyin import (  # imported lazily: it is slow, and only the build needs it
        Style,
        lazy_pinyin,
    )

    return tuple(_fuzzy(s) for s in lazy_pinyin(text, style=Style.NORMAL, errors="ignore"))


@lru_cache(maxsize=8192)
def readings(char: str) -> tuple[str, ...]:
    """Every toneless reading of one character (还 → hai, huan), fuzzy-merged."""
    from pypinyin import Style, pinyin

    found = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
    return tuple(dict.fromkeys(_fuzzy(s) for s in found[0])) if found else ()


def lazy_letters(text: str) -> list[str]:
    """Plain pinyin letters of a term, as typed on a keyboard without tones (计量 → ji, liang)."""
    from pypinyin import Style, lazy_pinyin

    return [s.replace("ü", "v") for s in lazy_pinyin(text, style=Style.NORMAL, errors="ignore")]


def reading_table() -> dict[str, tuple[str, ...]]:
    """Readings of every character in the common CJK block."""
    return {chr(code): readings(chr(code)) for code in CJK_RANGE}


def _fuzzy(syllable: str) -> str:
    for long, short in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if syllable.startswith(long):
            syllable = short + syllable[len(long) :]
    for long, short in (("ing", "in"), ("eng", "en"), ("ang", "an")):
        if syllable.endswith(long):
            syllable = syllable[: -len(long)] + short
    return syllable


class Corrector:
    """Finds misspelt domain terms in a question by sound (and by one wrong character)."""

    def __init__(
        self,
        terms: Iterable[str],
        is_word: Callable[[str], bool],
        extra: Iterable[str] = (),
        segment: Callable[[str], list[str]] | None = None,
    ) -> None:
        """terms: the domain vocabulary; extra: other words of the documents (corrected more cautiously);
        segment: splits a run into dictionary words, so a window never cuts a real word in two."""
        self._segment = segment
        self._readings = reading_table()
        self._by_sound: dict[tuple[str, ...], str] = {}
        self._by_shape: dict[str, str] = {}
        self._shape_sizes: dict[str, set[int]] = {}
        self._is_word = is_word
        self._domain = {t for t in terms if 2 <= len(t) <= MAX_TERM and cjk_runs(t) == [t]}
        self._known = self._domain | {t for t in extra if 2 <= len(t) <= MAX_TERM and cjk_runs(t) == [t]}
        self._known_sizes: dict[str, frozenset[int]] = {}  # first character → lengths of known words
        for word in self._known:
            self._known_sizes[word[0]] = self._known_sizes.get(word[0], frozenset()) | {len(word)}
        self._sizes: dict[tuple[str, str], list[int]] = {}  # first two syllables → term lengths
        self._domain_sizes: dict[tuple[str, str], list[int]] = {}  # the same, domain terms only
        self._by_pinyin: dict[str, str] = {}  # "jiliang" → 计量: terms typed in pinyin letters
        for term in sorted(self._domain) + sorted(self._known - self._domain):
            sound = syllables(term)
            self._by_sound.setdefault(sound, term)
            if term in self._domain and len(term) >= 2:
                spelled = "".join(lazy_letters(term))
                if len(spelled) >= MIN_PINYIN:
                    self._by_pinyin.setdefault(spelled, term)
            if len(sound) == len(term) and term in self._domain:
                sizes = self._domain_sizes.setdefault((sound[0], sound[1]), [])
                if len(term) not in sizes:
                    sizes.append(len(term))
            if len(sound) == len(term):
                sizes = self._sizes.setdefault((sound[0], sound[1]), [])
                if len(term) not in sizes:
                    sizes.append(len(term))
            if len(term) >= 5:
                self._shape_sizes.setdefault(term[0], set()).add(len(term))
                self._shape_sizes.setdefault("?" + term[1], set()).add(len(term))
                for key in _shape_keys(term):
                    self._by_shape.setdefault(key, term)

    def correct(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """The text with misspelt terms replaced, and the (wrong, right) pairs."""
        text, fixes = self._spelled_out(text)
        for run in cjk_runs(text):
            for wrong, right in self._fix_run(run):
                text = text.replace(wrong, right, 1)
                fixes.append((wrong, right))
        return text, fixes

    def _spelled_out(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """Terms typed as pinyin letters (zhiliang fazhan moshi → 质量发展模式), longest span first."""
        words = _LATIN_WORD.findall(text)
        fixes: list[tuple[str, str]] = []
        i = 0
        while i < len(words):
            for j in range(min(len(words), i + 6), i, -1):
                term = self._by_pinyin.get("".join(words[i:j]))
                if term is not None:
                    span = re.search(r"\s*".join(map(re.escape, words[i:j])), text)
                    if span is not None:
                        fixes.append((span.group(0), term))
                        text = text[: span.start()] + term + text[span.end() :]
                    i = j - 1
                    break
            i += 1
        return text, fixes

    def _fix_run(self, run: str) -> list[tuple[str, str]]:
        fixes: list[tuple[str, str]] = []
        covered = [False] * len(run)
        interiors: tuple[set[int], list[bool]] | None = None  # segmented only once a repair is proposed
        sounds = [self._readings.get(c) or readings(c) for c in run]
        by_sound = self._sizes if len(run) <= LONG_RUN else self._domain_sizes
        windows = sorted(
            {
                (size, start)
                for start in range(len(run) - 1)
                for size in self._window_sizes(by_sound, sounds[start], sounds[start + 1], run[start:])
            },
            key=lambda w: (-w[0], w[1]),
        )
        for size, start in windows:
            if start + size > len(run) or any(covered[start : start + size]):
                continue
            piece = run[start : start + size]
            right = self._match(piece, sounds[start : start + size])
            if right is None:
                continue
            if right != piece:
                interiors = interiors or self._word_interiors(run)
                inside, single = interiors
                if start in inside or start + size in inside:  # the window would cut a word in two
                    continue
                if len(right) == len(piece) and self._match(piece, sounds[start : start + size], single[start : start + size]) is None:
                    continue  # only a shape repair matched, and it would replace part of a real word
            covered[start : start + size] = [True] * size
            if right != piece:
                fixes.append((piece, right))
        return fixes

    def _window_sizes(
        self, by_sound: dict[tuple[str, str], list[int]], first: tuple[str, ...], second: tuple[str, ...], rest: str
    ) -> set[int]:
        """Window lengths worth trying at a position: terms that start there by sound, and shape matches."""
        sizes = {n for a in first for b in second for n in by_sound.get((a, b), ())}
        sizes.update(self._shape_sizes.get(rest[:1], ()))  # 形近字: one wrong character, first kept
        sizes.update(self._shape_sizes.get("?" + rest[1:2], ()))  # … or the first one wrong
        sizes.update(n for n in self._known_sizes.get(rest[:1], ()) if rest[:n] in self._known)
        return {n for n in sizes if 2 <= n <= len(rest)}

    def _word_interiors(self, run: str) -> tuple[set[int], list[bool]]:
        """Offsets strictly inside a multi-character dictionary word, and which characters stand alone."""
        inside: set[int] = set()
        single = [True] * len(run)
        if self._segment is None:
            return inside, single
        offset = 0
        for word in self._segment(run):
            if len(word) >= 2 and self._is_word(word):
                inside.update(range(offset + 1, offset + len(word)))
                single[offset : offset + len(word)] = [False] * len(word)
            offset += len(word)
        return inside, single

    def _match(self, piece: str, sounds: list[tuple[str, ...]], single: list[bool] | None = None) -> str | None:
        if piece in self._known:
            return piece
        if self._is_word(piece):
            return None
        right = self._by_sound_any(sounds)
        if right is not None and FUNCTION_CHARS.intersection(piece):
            return right if right in self._domain and len(right) >= 3 else None
        if right is None and len(piece) >= 5:
            alone = single or [True] * len(piece)
            right = next(
                (
                    self._by_shape[k]
                    for k in _shape_keys(piece)
                    if k in self._by_shape
                    and piece[k.index("?")] not in FUNCTION_CHARS | MEANINGFUL_CHARS
                    and alone[k.index("?")]
                ),
                None,
            )
        return right


    def _by_sound_any(self, sounds: list[tuple[str, ...]]) -> str | None:
        """A term that sounds like the window under any combination of its characters' readings."""
        if not sounds or any(not r for r in sounds):
            return None
        for combo in itertools.islice(itertools.product(*sounds), MAX_READINGS):
            term = self._by_sound.get(combo)
            if term is not None:
                return term
        return None


def _shape_keys(term: str) -> list[str]:
    """The term with each character in turn replaced by a wildcard (one wrong character)."""
    return [term[:i] + "?" + term[i + 1 :] for i in range(len(term))]

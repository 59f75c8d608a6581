"""Repair pinyin-input typos (记量 → 计量, 标准话 → 标准化) against the domain vocabulary."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pypinyin import Style, lazy_pinyin

from knowledge.text import cjk_runs

MAX_TERM = 8


def syllables(text: str) -> tuple[str, ...]:
    """Toneless pinyin of a Chinese string, with the common fuzzy pairs merged (zh/z, ing/in …)."""
    return tuple(_fuzzy(s) for s in lazy_pinyin(text, style=Style.NORMAL, errors="ignore"))


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

    def __init__(self, terms: Iterable[str], is_word: Callable[[str], bool]) -> None:
        self._by_sound: dict[tuple[str, ...], str] = {}
        self._by_shape: dict[str, str] = {}
        self._is_word = is_word
        self._known = {t for t in terms if 2 <= len(t) <= MAX_TERM and cjk_runs(t) == [t]}
        for term in sorted(self._known):
            self._by_sound.setdefault(syllables(term), term)
            if len(term) >= 4:
                for key in _shape_keys(term):
                    self._by_shape.setdefault(key, term)

    def correct(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """The text with misspelt terms replaced, and the (wrong, right) pairs."""
        fixes: list[tuple[str, str]] = []
        for run in cjk_runs(text):
            for wrong, right in self._fix_run(run):
                text = text.replace(wrong, right, 1)
                fixes.append((wrong, right))
        return text, fixes

    def _fix_run(self, run: str) -> list[tuple[str, str]]:
        fixes: list[tuple[str, str]] = []
        covered = [False] * len(run)
        sounds = syllables(run)
        if len(sounds) != len(run):  # a character without pinyin: compare by shape only
            sounds = ()
        for size in range(min(MAX_TERM, len(run)), 1, -1):
            for start in range(len(run) - size + 1):
                if any(covered[start : start + size]):
                    continue
                piece = run[start : start + size]
                right = self._match(piece, sounds[start : start + size] if sounds else ())
                if right is None:
                    continue
                covered[start : start + size] = [True] * size
                if right != piece:
                    fixes.append((piece, right))
        return fixes

    def _match(self, piece: str, sound: tuple[str, ...]) -> str | None:
        if piece in self._known:
            return piece
        if self._is_word(piece):
            return None
        right = self._by_sound.get(sound) if sound else None
        if right is None and len(piece) >= 4:
            right = next((self._by_shape[k] for k in _shape_keys(piece) if k in self._by_shape), None)
        return right


def _shape_keys(term: str) -> list[str]:
    """The term with each character in turn replaced by a wildcard (one wrong character)."""
    return [term[:i] + "?" + term[i + 1 :] for i in range(len(term))]

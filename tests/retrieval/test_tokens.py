"""The lexical index's tokens are kept beside the index: a restart tokenises nothing, a revision
only its new texts (jieba takes minutes over 10,000 articles)."""

from pathlib import Path

import pytest

from knowledge import parse_rulebook
from retrieval import lexical
from retrieval.corpus import Corpus
from retrieval.lexical import LexicalIndex, Tokens
from tests.knowledge.revisions import RULEBOOK, revised, write_text


def test_a_restart_tokenises_nothing_and_a_revision_only_its_new_texts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokenised: list[str] = []
    words = lexical.words
    monkeypatch.setattr(lexical, "words", lambda text: tokenised.append(text) or words(text))
    old = Corpus([parse_rulebook(RULEBOOK)])
    first = LexicalIndex(old, Tokens(tmp_path))
    assert len(tokenised) > len(old.sentence_passages)

    tokenised.clear()
    again = LexicalIndex(old, Tokens(tmp_path))
    assert tokenised == []
    question = "副区长离包外出要向谁请示"
    assert all((a == b).all() for a, b in zip(first.search(question), again.search(question), strict=True))

    new = Corpus([parse_rulebook(write_text(tmp_path / "2024.txt", revised()), key=RULEBOOK.stem)])
    LexicalIndex(new, Tokens(tmp_path))
    known = {p.indexed_text for p in old.sentence_passages + old.article_passages}
    known |= {s for sentences in old.sentences for s in sentences}
    assert tokenised and not set(tokenised) & known, "only the revised articles' texts"


def test_a_restart_loads_the_kept_lexical_index_and_a_damaged_one_is_built_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = Corpus([parse_rulebook(RULEBOOK)])
    built = LexicalIndex(corpus, Tokens(tmp_path))
    indexed: list[int] = []
    bm25 = lexical._bm25
    monkeypatch.setattr(lexical, "_bm25", lambda tokenised: indexed.append(len(tokenised)) or bm25(tokenised))

    loaded = LexicalIndex(corpus, Tokens(tmp_path))
    assert indexed == [], "BM25 is not built again"
    question = "副区长离包外出要向谁请示"
    assert all((a == b).all() for a, b in zip(built.search(question), loaded.search(question), strict=True))
    for index in range(len(corpus.articles)):
        assert loaded.article_terms[index] == built.article_terms[index]
        assert loaded.sentence_terms[index] == built.sentence_terms[index]
        assert len(loaded.sentence_terms[index]) == len(corpus.sentences[index])
    assert loaded.idf("区长") == built.idf("区长")

    (kept,) = tmp_path.glob("lexical-*.pickle")
    kept.write_bytes(b"not a pickle")
    LexicalIndex(corpus, Tokens(tmp_path))
    assert len(indexed) == 2, "words and bigrams indexed again"

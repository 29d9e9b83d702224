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

"""`zhengwu bench retrieval --articles N` measures an office's rules folder as it will be: about a
hundred books with their own titles, earlier versions kept beside some, and a new version of one
book published through the shelf as an admin does."""

from pathlib import Path

from knowledge import load_library
from knowledge.diff import ChangeKind, diff_rulebooks
from knowledge.library import load_catalogue
from retrieval.benchmark import publish_revision, write_synthetic_library
from retrieval.corpus import Corpus


def test_the_synthetic_library_has_many_books_versions_and_a_revision_of_three_articles(tmp_path: Path) -> None:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    assert write_synthetic_library(folder, 2000) == 100
    books = load_library(folder)
    assert len(books) == 100 and sum(len(b.articles) for b in books) == 2000
    assert len({b.title for b in books}) == 100
    catalogue = load_catalogue(folder)
    assert len(catalogue.in_force) == 100 and len(catalogue.earlier("book010")) == 1
    before = next(b for b in books if b.key == "book000")

    publish_revision(folder, tmp_path / "staging", "book000")
    after = next(b for b in load_library(folder) if b.key == "book000")
    assert after.doc_number == "昆政办发〔2025〕1号" and len(load_catalogue(folder).earlier("book000")) == 2
    assert [change.kind for change in diff_rulebooks(before, after)] == [ChangeKind.CHANGED] * 3
    old, new = Corpus([before]), Corpus([after])
    changed = {p.indexed_text for p in new.article_passages + new.sentence_passages} - {
        p.indexed_text for p in old.article_passages + old.sentence_passages
    }
    assert 3 <= len(changed) < 20, "a re-index embeds only the three changed articles' passages"

"""The rulebooks as the bot addresses them: stable database ids for callback data."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import RulebookRecord
from bot.errors import NotFound
from knowledge import Article, Chapter, Rulebook
from knowledge.numerals import article_label
from retrieval.reference import referenced_articles


@dataclass(frozen=True)
class ArticleView:
    """An article with what is needed to show and cite it."""

    rulebook_id: int
    book: Rulebook
    article: Article

    @property
    def chapter(self) -> Chapter:
        return self.book.chapter_of(self.article)

    @property
    def citation(self) -> str:
        return self.book.cite(self.article)


class RulebookLibrary:
    """The loaded rulebooks, each under the id of its row in the rulebooks table."""

    def __init__(self, session: Session, books: list[Rulebook]) -> None:
        rows = {r.key: r for r in session.scalars(select(RulebookRecord))}
        for book in books:
            row = rows.get(book.key) or RulebookRecord(key=book.key)
            row.title, row.source_sha256 = book.title, book.source_sha256
            session.add(row)
            rows[book.key] = row
        session.flush()
        self.by_id: dict[int, Rulebook] = {rows[b.key].id: b for b in books}
        self.id_of: dict[str, int] = {b.key: rows[b.key].id for b in books}

    def book(self, rulebook_id: int) -> Rulebook:
        try:
            return self.by_id[rulebook_id]
        except KeyError:
            raise NotFound("这份规则已不在知识库中。") from None

    def article(self, rulebook_id: int, number: int) -> ArticleView:
        book = self.book(rulebook_id)
        article = book.article(number)
        if article is None:
            raise NotFound(f"《{book.title}》没有{article_label(number)}（共 {len(book.articles)} 条）。")
        return ArticleView(rulebook_id, book, article)

    def find(self, text: str) -> list[ArticleView]:
        """Articles named in text such as '50', '第五十条'; one per rulebook that has it."""
        raw = text.strip()
        numbers = referenced_articles(raw if "条" in raw else f"第{raw}条")
        if not numbers:
            raise NotFound(f"没有看懂要查哪一条：{raw!r}。请写成 /article 50 或 /article 第五十条。")
        views = [
            ArticleView(rid, book, article)
            for rid, book in self.by_id.items()
            if (article := book.article(numbers[0])) is not None
        ]
        if not views:
            raise NotFound(f"规则中没有{article_label(numbers[0])}。")
        return views

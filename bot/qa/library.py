"""The rulebooks as the bot addresses them: stable database ids for callback data."""

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import RulebookRecord
from bot.errors import InvalidInput, NotFound
from knowledge import Article, Chapter, Rulebook
from knowledge.numerals import article_label, chinese_to_int

# An article number as staff type it: digits or a Chinese numeral (also what /unanswered replies use).
ARTICLE_NUMBER = r"[0-9]{1,4}|[〇零一二两三四五六七八九十百]{1,6}"
_ONE_ARTICLE = re.compile(rf"(?:第\s*)?({ARTICLE_NUMBER})\s*条?")


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
        if number < 1:
            raise NotFound(f"《{book.title}》没有这一条（条号从 1 开始）。")
        article = book.article(number)
        if article is None:
            raise NotFound(f"《{book.title}》没有{article_label(number)}（共 {len(book.articles)} 条）。")
        return ArticleView(rulebook_id, book, article)

    def find(self, text: str) -> list[ArticleView]:
        """The article named by exactly one number such as '50', '第50条', '第五十条', '五十'; one
        view per rulebook that has it. Anything else ('-1', '1e5', '50 51') is refused, not guessed."""
        raw = text.strip()
        match = _ONE_ARTICLE.fullmatch(raw)
        if match is None:
            raise InvalidInput(
                f"没有看懂要查哪一条：{raw[:20]!r}。请只写一个条号，如 /article 50 或 /article 第五十条。"
            )
        number = chinese_to_int(match[1])
        if number < 1:
            raise NotFound("规则中没有这一条（条号从 1 开始）。")
        views = [
            ArticleView(rid, book, article)
            for rid, book in self.by_id.items()
            if (article := book.article(number)) is not None
        ]
        if not views:
            raise NotFound(f"规则中没有{article_label(number)}。")
        return views

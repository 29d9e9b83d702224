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
# "/article 79 旧版": the article as the superseded version of its book had it.
EARLIER_WORDS = ("旧版", "原版", "旧", "修订前")
_EARLIER = re.compile(rf"^(.*?)\s*(?:{'|'.join(EARLIER_WORDS)})\s*$")


@dataclass(frozen=True)
class ArticleView:
    """An article with what is needed to show and cite it."""

    rulebook_id: int
    book: Rulebook
    article: Article
    # This is the article in a superseded version of the book (/article 79 旧版), not in force.
    superseded: bool = False
    # The superseded version of the book has this article with another text: /article N 旧版 shows it.
    changed_since: Rulebook | None = None

    @property
    def chapter(self) -> Chapter:
        return self.book.chapter_of(self.article)

    @property
    def citation(self) -> str:
        return self.book.cite(self.article)


class RulebookLibrary:
    """The loaded rulebooks, each under the id of its row in the rulebooks table."""

    def __init__(
        self, session: Session, books: list[Rulebook], earlier: dict[str, list[Rulebook]] | None = None
    ) -> None:
        """`earlier`: by book key, the superseded versions kept (knowledge.editions), the newest first."""
        rows = {r.key: r for r in session.scalars(select(RulebookRecord))}
        for book in books:
            row = rows.get(book.key) or RulebookRecord(key=book.key)
            row.title, row.source_sha256 = book.title, book.source_sha256
            session.add(row)
            rows[book.key] = row
        session.flush()
        self.by_id: dict[int, Rulebook] = {rows[b.key].id: b for b in books}
        self.id_of: dict[str, int] = {b.key: rows[b.key].id for b in books}
        self.earlier: dict[int, Rulebook] = {
            self.id_of[key]: versions[0] for key, versions in (earlier or {}).items() if versions and key in self.id_of
        }

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
        return self._view(rulebook_id, book, article)

    def _view(self, rulebook_id: int, book: Rulebook, article: Article) -> ArticleView:
        before = self.earlier.get(rulebook_id)
        old = before.article(article.number) if before else None
        return ArticleView(
            rulebook_id, book, article, changed_since=before if old and old.text != article.text else None
        )

    def find(self, text: str) -> list[ArticleView]:
        """The article named by exactly one number such as '50', '第50条', '第五十条', '五十'; one
        view per rulebook that has it. Anything else ('-1', '1e5', '50 51') is refused, not guessed.
        With 旧版 after the number, the article in the superseded version of each book that has one."""
        raw = text.strip()
        earlier = _EARLIER.fullmatch(raw)
        if earlier is not None:
            return self._find_earlier(earlier[1])
        number = self._number(raw)
        views = [
            self._view(rid, book, article)
            for rid, book in self.by_id.items()
            if (article := book.article(number)) is not None
        ]
        if not views:
            raise NotFound(f"规则中没有{article_label(number)}。")
        return views

    def _find_earlier(self, raw: str) -> list[ArticleView]:
        number = self._number(raw.strip())
        if not self.earlier:
            raise NotFound("规则没有修订过，没有旧版可查。")
        views = [
            ArticleView(rid, book, article, superseded=True)
            for rid, book in self.earlier.items()
            if (article := book.article(number)) is not None
        ]
        if not views:
            raise NotFound(f"旧版规则中没有{article_label(number)}（可能是修订时新增的条文）。")
        return views

    def _number(self, raw: str) -> int:
        match = _ONE_ARTICLE.fullmatch(raw)
        if match is None:
            raise InvalidInput(
                f"没有看懂要查哪一条：{raw[:20]!r}。请只写一个条号，如 /article 50 或 /article 第五十条。"
            )
        number = chinese_to_int(match[1])
        if number < 1:
            raise NotFound("规则中没有这一条（条号从 1 开始）。")
        return number

"""The parsed shape of a rulebook: document, chapters, articles, paragraphs (款) and items (项)."""

from dataclasses import dataclass, field
from datetime import date

from knowledge.numerals import article_label, chapter_label


@dataclass(frozen=True)
class Item:
    """An enumerated item such as （一） inside a paragraph."""

    number: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    """One paragraph (款) of an article, with the items that enumerate under it."""

    text: str
    items: tuple[Item, ...] = ()

    @property
    def full_text(self) -> str:
        return "\n".join([self.text, *(item.text for item in self.items)])


@dataclass(frozen=True)
class Article:
    """One article (条); `chapter_number` ties it to its chapter."""

    number: int
    chapter_number: int
    paragraphs: tuple[Paragraph, ...]

    @property
    def label(self) -> str:
        return article_label(self.number)

    @property
    def text(self) -> str:
        return "\n".join(p.full_text for p in self.paragraphs)


@dataclass(frozen=True)
class Chapter:
    """One chapter (章) and its articles in order."""

    number: int
    title: str
    articles: tuple[Article, ...]

    @property
    def label(self) -> str:
        return chapter_label(self.number)

    @property
    def heading(self) -> str:
        return f"{self.label} {self.title}"


@dataclass(frozen=True)
class Rulebook:
    """A whole rulebook as issued: metadata plus chapters."""

    key: str
    title: str
    doc_number: str | None
    issued_on: date | None
    repeals: str | None
    chapters: tuple[Chapter, ...]
    source_sha256: str
    _by_number: dict[int, Article] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for chapter in self.chapters:
            for article in chapter.articles:
                self._by_number[article.number] = article

    @property
    def articles(self) -> list[Article]:
        return [a for c in self.chapters for a in c.articles]

    def article(self, number: int) -> Article | None:
        return self._by_number.get(number)

    def chapter_of(self, article: Article) -> Chapter:
        return self.chapters[article.chapter_number - 1]

    def cite(self, article: Article) -> str:
        """Return the citation staff read: 《…》第七十九条（第十二章 工作纪律）."""
        return f"《{self.title}》{article.label}（{self.chapter_of(article).heading}）"

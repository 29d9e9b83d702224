"""The parsed shape of a rulebook: document, chapters, articles, paragraphs (款) and items (项)."""

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

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

    # Read for every passage and answer of 10,000 articles: joined once (the instance is frozen).
    @cached_property
    def label(self) -> str:
        return article_label(self.number)

    @cached_property
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
    # From when the book is in force: its 施行 date, or the issuing date when it takes effect on
    # issue; None when neither is known (in force since it was published).
    effective_on: date | None = None
    # Which version this is, as a citation names it (2019年，昆政发〔2019〕5号), when the office
    # keeps more than one version of the title (knowledge.editions); None otherwise.
    edition: str | None = None
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

    @property
    def cited_title(self) -> str:
        """《…》, with the version when there are several: 《…》（2019年，昆政发〔2019〕5号）."""
        return f"《{self.title}》（{self.edition}）" if self.edition else f"《{self.title}》"

    def made_under(self, other: "Rulebook") -> bool:
        """Whether this book names the other as its basis (根据《…》，结合…实际，制定本细则): an office's
        own book made under a general one, whose rules it makes more specific."""
        named = f"《{other.title}》"
        return other.title != self.title and any(named in article.text for article in self.articles)

    def cite(self, article: Article) -> str:
        """Return the citation staff read: 《…》第七十九条（第十二章 工作纪律）."""
        return f"{self.cited_title}{article.label}（{self.chapter_of(article).heading}）"

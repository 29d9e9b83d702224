"""The rulebooks as data: the shipped texts and the parser that turns them into articles."""

from knowledge.errors import RulebookError, ShelfError, UnreadableDocument
from knowledge.library import load_library
from knowledge.model import Article, Chapter, Item, Paragraph, Rulebook
from knowledge.numerals import article_label, chinese_to_int, int_to_chinese
from knowledge.parser import RulebookFormatError, parse_rulebook

__all__ = [
    "Article",
    "Chapter",
    "Item",
    "Paragraph",
    "Rulebook",
    "RulebookError",
    "RulebookFormatError",
    "ShelfError",
    "UnreadableDocument",
    "article_label",
    "chinese_to_int",
    "int_to_chinese",
    "load_library",
    "parse_rulebook",
]

"""The rulebooks as data: the shipped texts and the parser that turns them into articles."""

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
    "RulebookFormatError",
    "article_label",
    "chinese_to_int",
    "int_to_chinese",
    "load_library",
    "parse_rulebook",
]

"""Parse a rulebook text file (notice, title, 第X章 chapters, 第X条 articles, （一） items).

The parser is strict on purpose: a file whose numbering skips, repeats or has text outside an
article is rejected with the file, the line and what was expected, so garbage is never indexed.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from knowledge.model import Article, Chapter, Item, Paragraph, Rulebook
from knowledge.numerals import CHINESE_NUMERAL_CHARS, article_label, chapter_label, chinese_to_int

_NUMERAL = rf"[{CHINESE_NUMERAL_CHARS}0-9０-９]+"
CHAPTER_RE = re.compile(rf"^第({_NUMERAL})章\s*(.+)$")
ARTICLE_RE = re.compile(rf"^第({_NUMERAL})条[\s\u3000]*(.*)$")
ITEM_RE = re.compile(rf"^[（(]({_NUMERAL})[）)]\s*(.+)$")
DOC_NUMBER_RE = re.compile(r"\S+〔\d{4}〕\d+号")
DATE_RE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
REPEALS_RE = re.compile(r"《([^》]+)》（([^）]+号)）[^。]*废止")
# Distribution notes (抄送) and the printing line close an issued document; they are not rules.
FOOTER_RE = re.compile(r"^(抄送|抄报|主送)[:：]")


class RulebookFormatError(ValueError):
    """A rulebook file does not have the expected structure; says where and what was expected."""

    def __init__(self, path: Path, line_number: int, expected: str, found: str) -> None:
        self.path = path
        self.line_number = line_number
        self.expected = expected
        self.found = found
        super().__init__(f"{path}:{line_number}: expected {expected}, found {found!r}")


@dataclass
class _Draft:
    """Mutable state while reading lines; frozen into model objects at the end."""

    chapters: list[tuple[int, str, list[Article]]] = field(default_factory=list)
    article_number: int = 0
    paragraphs: list[tuple[str, list[Item]]] = field(default_factory=list)

    def close_article(self) -> None:
        if self.article_number and self.paragraphs:
            paragraphs = tuple(Paragraph(text, tuple(items)) for text, items in self.paragraphs)
            chapter_number = self.chapters[-1][0]
            self.chapters[-1][2].append(Article(self.article_number, chapter_number, paragraphs))
        self.paragraphs = []


def _normalise(line: str) -> str:
    return line.replace("\u3000", " ").strip()


def _metadata(preamble: list[str], body_text: str) -> tuple[str | None, date | None, str | None]:
    joined = "\n".join(preamble)
    doc_number = DOC_NUMBER_RE.search(joined)
    issued = DATE_RE.search(joined)
    repeals = REPEALS_RE.search(body_text)
    return (
        doc_number.group(0) if doc_number else None,
        date(*map(int, issued.groups())) if issued else None,
        f"《{repeals.group(1)}》（{repeals.group(2)}）" if repeals else None,
    )


def parse_rulebook(path: Path, key: str | None = None) -> Rulebook:
    """Read and validate one rulebook file."""
    raw = path.read_bytes()
    try:
        lines = raw.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise RulebookFormatError(path, 1, "UTF-8 text", repr(exc.object[exc.start : exc.end])) from exc
    draft = _Draft()
    preamble: list[str] = []
    footer = False
    for line_number, raw_line in enumerate(lines, start=1):
        line = _normalise(raw_line)
        if not line or footer:
            continue
        if draft.article_number and FOOTER_RE.match(line):
            footer = True
            continue
        _read_line(path, line_number, line, draft, preamble)
    draft.close_article()
    if not draft.chapters:
        raise RulebookFormatError(path, len(lines), "a chapter heading such as 第一章 总则", "end of file")
    if not draft.chapters[-1][2]:
        raise RulebookFormatError(path, len(lines), f"{article_label(draft.article_number + 1)}", "end of file")
    chapters = tuple(Chapter(n, title, tuple(arts)) for n, title, arts in draft.chapters)
    body_text = "\n".join(a.text for c in chapters for a in c.articles)
    doc_number, issued_on, repeals = _metadata(preamble, body_text)
    return Rulebook(
        key=key or path.stem,
        title=_title(path, preamble),
        doc_number=doc_number,
        issued_on=issued_on,
        repeals=repeals,
        chapters=chapters,
        source_sha256=hashlib.sha256(raw).hexdigest(),
    )


def _title(path: Path, preamble: list[str]) -> str:
    """The title is the last preamble line: it heads the rules right above 第一章."""
    for line in reversed(preamble):
        if not DATE_RE.search(line) and not line.endswith(("：", ":")):
            return line.strip("《》")
    raise RulebookFormatError(path, 1, "a title line before 第一章", "nothing")


def _read_line(path: Path, line_number: int, line: str, draft: _Draft, preamble: list[str]) -> None:
    if chapter := CHAPTER_RE.match(line):
        _start_chapter(path, line_number, line, chapter, draft)
    elif article := ARTICLE_RE.match(line):
        _start_article(path, line_number, line, article, draft)
    elif not draft.chapters:
        preamble.append(line)
    elif not draft.paragraphs:
        expected = article_label(draft.article_number + 1)
        raise RulebookFormatError(path, line_number, f"{expected} after the chapter heading", line)
    elif item := ITEM_RE.match(line):
        items = draft.paragraphs[-1][1]
        number = chinese_to_int(item.group(1))
        if number != len(items) + 1:
            raise RulebookFormatError(path, line_number, f"item （{len(items) + 1}）", line)
        items.append(Item(number, line))
    else:
        draft.paragraphs.append((line, []))


def _start_chapter(path: Path, line_number: int, line: str, match: re.Match[str], draft: _Draft) -> None:
    number = chinese_to_int(match.group(1))
    expected = len(draft.chapters) + 1
    if number != expected:
        raise RulebookFormatError(path, line_number, chapter_label(expected), line)
    if draft.chapters and not draft.chapters[-1][2] and not draft.paragraphs:
        raise RulebookFormatError(path, line_number, article_label(draft.article_number + 1), line)
    draft.close_article()
    draft.chapters.append((number, re.sub(r"\s+", "", match.group(2)), []))


def _start_article(path: Path, line_number: int, line: str, match: re.Match[str], draft: _Draft) -> None:
    if not draft.chapters:
        raise RulebookFormatError(path, line_number, "a chapter heading before the first article", line)
    number = chinese_to_int(match.group(1))
    if number != draft.article_number + 1:
        raise RulebookFormatError(path, line_number, article_label(draft.article_number + 1), line)
    body = match.group(2).strip()
    if not body:
        raise RulebookFormatError(path, line_number, f"the text of {article_label(number)}", line)
    draft.close_article()
    draft.article_number = number
    draft.paragraphs = [(body, [])]

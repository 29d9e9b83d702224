"""Parse a rulebook text file (notice, title, 第X章 chapters, 第X条 articles, （一） items).

The parser is strict on purpose: a file whose numbering skips, repeats or has text outside an
article is rejected with the file, every line that breaks the structure and what was expected
there (in Chinese: an office's staff read it in the import preview), so garbage is never indexed.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from knowledge.errors import RulebookError
from knowledge.model import Article, Chapter, Item, Paragraph, Rulebook
from knowledge.numerals import CHINESE_NUMERAL_CHARS, article_label, chapter_label, chinese_to_int, int_to_chinese

_NUMERAL = rf"[{CHINESE_NUMERAL_CHARS}0-9０-９]+"
CHAPTER_RE = re.compile(rf"^第({_NUMERAL})章\s*(.+)$")
ARTICLE_RE = re.compile(rf"^第({_NUMERAL})条[\s\u3000]*(.*)$")
ITEM_RE = re.compile(rf"^[（(]({_NUMERAL})[）)]\s*(.+)$")
DOC_NUMBER_RE = re.compile(r"\S+〔\d{4}〕\d+号")
DATE_RE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
REPEALS_RE = re.compile(r"《([^》]+)》（([^）]+号)）[^。]*废止")
# 本规则自2024年6月1日起施行 / 自印发之日起施行 (then the issuing date is the effective date).
EFFECTIVE_ON_RE = re.compile(r"自(\d{4})年(\d{1,2})月(\d{1,2})日起(?:施行|执行|实施|生效)")
EFFECTIVE_ON_ISSUE_RE = re.compile(r"自(?:印发|发布|公布|下发)之日起(?:施行|执行|实施|生效)")
# How much of an offending line a problem shows.
_SHOWN_CHARS = 40
# Distribution notes (抄送) and the printing line close an issued document; they are not rules.
FOOTER_RE = re.compile(r"^(抄送|抄报|主送)[:：]")


@dataclass(frozen=True)
class FormatProblem:
    """One place where the text breaks the rulebook's structure: line, what was expected, the line."""

    line_number: int
    expected: str
    found: str

    def describe(self, where: str | None = None) -> str:
        """第12行：应为第二条；该行为：第三条 …, a long line cut to its beginning (enough to find it)."""
        found = self.found if len(self.found) <= _SHOWN_CHARS else self.found[:_SHOWN_CHARS] + "……"
        return f"{where or f'第{self.line_number}行'}：应为{self.expected}；该行为：{found}"


class RulebookFormatError(RulebookError):
    """A rulebook does not have the expected structure. `problems` lists every one found, in order;
    line_number, expected and found are the first one's."""

    def __init__(self, path: Path, problems: list[FormatProblem]) -> None:
        self.path = path
        self.problems = tuple(problems)
        first = problems[0]
        self.line_number, self.expected, self.found = first.line_number, first.expected, first.found
        more = f"（另有{len(problems) - 1}处问题）" if len(problems) > 1 else ""
        super().__init__(f"{path}：{first.describe()}{more}")


@dataclass
class _Draft:
    """Mutable state while reading lines; frozen into model objects at the end."""

    chapters: list[tuple[int, str, list[Article]]] = field(default_factory=list)
    article_number: int = 0
    paragraphs: list[tuple[str, list[Item]]] = field(default_factory=list)
    problems: list[FormatProblem] = field(default_factory=list)

    def problem(self, line_number: int, expected: str, found: str) -> None:
        self.problems.append(FormatProblem(line_number, expected, found))

    def close_article(self) -> None:
        if self.article_number and self.paragraphs and self.chapters:
            paragraphs = tuple(Paragraph(text, tuple(items)) for text, items in self.paragraphs)
            chapter_number = self.chapters[-1][0]
            self.chapters[-1][2].append(Article(self.article_number, chapter_number, paragraphs))
        self.paragraphs = []


@dataclass(frozen=True)
class ParseOutcome:
    """What reading a text found: the book (None when not even a title and a chapter were found)
    and every problem. Only a book without problems may be used; the rest serves a preview."""

    book: Rulebook | None
    problems: tuple[FormatProblem, ...]


def _normalise(line: str) -> str:
    return line.replace("\u3000", " ").strip()


@dataclass(frozen=True)
class _Metadata:
    doc_number: str | None
    issued_on: date | None
    repeals: str | None
    effective_on: date | None


def _metadata(preamble: list[str], body_text: str) -> _Metadata:
    joined = "\n".join(preamble)
    doc_number = DOC_NUMBER_RE.search(joined)
    issued = DATE_RE.search(joined)
    issued_on = _date(issued)
    repeals = REPEALS_RE.search(body_text)
    effective = EFFECTIVE_ON_RE.search(body_text)
    effective_on = _date(effective) or (issued_on if EFFECTIVE_ON_ISSUE_RE.search(body_text) else None)
    return _Metadata(
        doc_number.group(0) if doc_number else None,
        issued_on,
        f"《{repeals.group(1)}》（{repeals.group(2)}）" if repeals else None,
        effective_on,
    )


def _date(match: re.Match[str] | None) -> date | None:
    """A matched 年月日, or None when there is no match or it names no real day (2月30日)."""
    if match is None:
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None


def parse_rulebook(path: Path, key: str | None = None) -> Rulebook:
    """Read and validate one rulebook file; RulebookFormatError lists every problem found."""
    raw = path.read_bytes()
    try:
        lines = raw.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        found = repr(exc.object[exc.start : exc.end])
        raise RulebookFormatError(path, [FormatProblem(1, "UTF-8 编码的文本", found)]) from exc
    outcome = read_rulebook(lines, key or path.stem, hashlib.sha256(raw).hexdigest())
    if outcome.problems or outcome.book is None:
        raise RulebookFormatError(path, list(outcome.problems))
    return outcome.book


def read_rulebook(lines: list[str], key: str, source_sha256: str) -> ParseOutcome:
    """Read a rulebook's lines, going on after a problem so that one reading finds them all: a
    skipped number is reported once, and the count goes on from the number found."""
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
        _read_line(line_number, line, draft, preamble)
    draft.close_article()
    end = max(len(lines), 1)
    if not draft.chapters:
        draft.problem(end, "“第一章 总则”这样的章标题", "文件结束")
    elif not draft.chapters[-1][2]:
        draft.problem(end, article_label(draft.article_number + 1), "文件结束")
    title = _title(preamble)
    if title is None:
        draft.problem(1, "第一章之前的标题行", "（没有）")
    if title is None or not draft.chapters:
        return ParseOutcome(None, tuple(draft.problems))
    chapters = tuple(Chapter(n, title, tuple(arts)) for n, title, arts in draft.chapters)
    body_text = "\n".join(a.text for c in chapters for a in c.articles)
    found = _metadata(preamble, body_text)
    book = Rulebook(
        key=key,
        title=title,
        doc_number=found.doc_number,
        issued_on=found.issued_on,
        repeals=found.repeals,
        chapters=chapters,
        source_sha256=source_sha256,
        effective_on=found.effective_on,
    )
    return ParseOutcome(book, tuple(draft.problems))


def _title(preamble: list[str]) -> str | None:
    """The title is the last preamble line: it heads the rules right above 第一章."""
    for line in reversed(preamble):
        if not DATE_RE.search(line) and not line.endswith(("：", ":")):
            return line.strip("《》")
    return None


def _read_line(line_number: int, line: str, draft: _Draft, preamble: list[str]) -> None:
    if chapter := CHAPTER_RE.match(line):
        _start_chapter(line_number, line, chapter, draft)
    elif article := ARTICLE_RE.match(line):
        _start_article(line_number, line, article, draft)
    elif not draft.chapters:
        preamble.append(line)
    elif not draft.paragraphs:
        draft.problem(line_number, f"章标题之后的{article_label(draft.article_number + 1)}", line)
    elif item := ITEM_RE.match(line):
        items = draft.paragraphs[-1][1]
        number = chinese_to_int(item.group(1))
        expected = items[-1].number + 1 if items else 1
        if number != expected:
            draft.problem(line_number, f"（{int_to_chinese(expected)}）项", line)
        items.append(Item(number, line))
    else:
        draft.paragraphs.append((line, []))


def _start_chapter(line_number: int, line: str, match: re.Match[str], draft: _Draft) -> None:
    number = chinese_to_int(match.group(1))
    expected = draft.chapters[-1][0] + 1 if draft.chapters else 1
    if number != expected:
        draft.problem(line_number, chapter_label(expected), line)
    if draft.chapters and not draft.chapters[-1][2] and not draft.paragraphs:
        draft.problem(line_number, article_label(draft.article_number + 1), line)
    draft.close_article()
    draft.chapters.append((number, re.sub(r"\s+", "", match.group(2)), []))


def _start_article(line_number: int, line: str, match: re.Match[str], draft: _Draft) -> None:
    if not draft.chapters:
        draft.problem(line_number, "第一条之前的章标题", line)
        return
    number = chinese_to_int(match.group(1))
    if number != draft.article_number + 1:
        draft.problem(line_number, article_label(draft.article_number + 1), line)
    body = match.group(2).strip()
    if not body:
        draft.problem(line_number, f"{article_label(number)}的条文", line)
    draft.close_article()
    draft.article_number = number
    draft.paragraphs = [(body, [])]

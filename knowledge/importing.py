"""Import a rulebook from the file an office has: Word (.docx), PDF with a text layer, or text.

One path for every kind: extract the lines (with their page, and for a PDF where each line sits)
→ normalise (full-width digits, letters and spaces made half-width; running page headers and
footers and page numbers removed; lines a PDF wrapped, or a page break cut, joined again) → the
strict parser (knowledge.parser) → a Preview: what was found, and every problem with where it is
in the file and the line's text. Nothing here writes anywhere; knowledge.shelf stages and publishes.
"""

import hashlib
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from knowledge.errors import UnreadableDocument
from knowledge.model import Rulebook
from knowledge.numerals import article_label, int_to_chinese
from knowledge.parser import ARTICLE_RE, CHAPTER_RE, FOOTER_RE, ITEM_RE, FormatProblem, read_rulebook

SUPPORTED_SUFFIXES = (".docx", ".pdf", ".txt")
# Full-width digits, letters and the ideographic space are how Word often types them; the parser,
# the citations and the search read the half-width forms.
_HALF_WIDTH = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
        **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)},
        "\u3000": " ",
        "\xa0": " ",
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\ufeff": None,
    }
)
# A line that is nothing but a page number: "3", "- 3 -", "— 3 —", "第3页", "第3页 共10页", "3/10".
PAGE_NUMBER_RE = re.compile(
    r"^(?:[-—–－ ]*\d+[-—–－ ]*|第\s*\d+\s*页(?:\s*[，,/]?\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+|共\s*\d+\s*页\s*第\s*\d+\s*页)$"
)
# Running headers and footers are looked for among the first and last lines of each page.
_PAGE_EDGE_LINES = 2
# A line on at least this share of the pages (and on two at least) at the same edge is a running header or footer.
_RUNNING_SHARE = 0.6
_SENTENCE_END = ("。", "；", "：", "！", "？", "”", "）", ";", ":", "!", "?")
_UNMAPPED_GLYPH_RE = re.compile(r"\(cid:\d+\)")
# The share of a PDF's text that may be undecodable glyphs before the file is refused.
_UNMAPPED_SHARE = 0.2
# The problems a preview lists before saying how many more there are.
PREVIEW_PROBLEMS = 30


@dataclass(frozen=True)
class SourceLine:
    """A line of the document as read. x0/x1 are a PDF line's left and right edge (None elsewhere);
    `top` its height on the page; `origin` is its place in the file for people: 第3页第12行, 第12段, 第12行."""

    text: str
    origin: str
    x0: float | None = None
    x1: float | None = None
    char_width: float | None = None
    top: float | None = None


@dataclass(frozen=True)
class Problem:
    """A structural problem at a place in the imported file."""

    origin: str
    expected: str
    line: str

    def describe(self) -> str:
        return FormatProblem(0, self.expected, self.line).describe(self.origin)


@dataclass(frozen=True)
class Preview:
    """What an import found. `text` is the normalised text the parser read: what is staged and,
    once an admin publishes it, what the bot answers from."""

    source: Path
    kind: str
    pages: int
    text: str
    book: Rulebook | None
    problems: tuple[Problem, ...]
    textless_pages: tuple[int, ...] = ()  # PDF pages without a text layer among pages with one

    @property
    def accepted(self) -> bool:
        return self.book is not None and not self.problems

    def to_text(self) -> str:
        """The preview an admin reads before publishing, in Chinese."""
        pages = f"，{self.pages}页" if self.kind == "PDF" else ""
        lines = [f"文件：{self.source.name}（{self.kind}{pages}）"]
        book = self.book
        if book is not None:
            lines.append(f"标题：《{book.title}》")
            facts = [f"文号：{book.doc_number}" if book.doc_number else "文号：未找到"]
            if book.issued_on:
                facts.append(f"印发日期：{book.issued_on.year}年{book.issued_on.month}月{book.issued_on.day}日")
            lines.append("；".join(facts))
            if book.repeals:
                lines.append(f"同时废止：{book.repeals}")
            lines.append(f"共{len(book.chapters)}章、{len(book.articles)}条：")
            for chapter in book.chapters:
                span = _article_span(chapter.articles)
                lines.append(f"  {chapter.heading}（{span}）")
        if self.textless_pages:
            numbers = "、".join(str(n) for n in self.textless_pages)
            lines.append(f"注意：第{numbers}页没有文字（扫描页或空白页），其中的内容未能读取。")
        if not self.problems:
            lines.append("未发现问题。")
            return "\n".join(lines)
        lines.append(f"发现{len(self.problems)}处问题，不能导入：")
        lines += [f"  {p.describe()}" for p in self.problems[:PREVIEW_PROBLEMS]]
        if len(self.problems) > PREVIEW_PROBLEMS:
            lines.append(f"  ……另有{len(self.problems) - PREVIEW_PROBLEMS}处问题")
        return "\n".join(lines)


def _article_span(articles: tuple) -> str:
    if not articles:
        return "没有条文"
    first, last = articles[0], articles[-1]
    if first is last:
        return f"{first.label}，1条"
    return f"{first.label}至{article_label(last.number)}，{len(articles)}条"


def preview_file(path: Path, key: str | None = None) -> Preview:
    """Read any supported file through extraction, normalisation and the strict parser."""
    suffix = path.suffix.lower()
    readers: dict[str, tuple[str, Callable[[Path], list[list[SourceLine]]]]] = {
        ".docx": ("Word", _docx_pages),
        ".pdf": ("PDF", _pdf_pages),
        ".txt": ("文本", _text_pages),
    }
    if suffix not in readers:
        hint = "请在 Word 中另存为 .docx 后再导入" if suffix in {".doc", ".wps", ".rtf"} else "支持 .docx、.pdf、.txt"
        raise UnreadableDocument(f"{path.name}：不支持这种文件（{suffix or '无扩展名'}），{hint}")
    if not path.is_file():
        raise UnreadableDocument(f"找不到文件：{path}")
    kind, read_pages = readers[suffix]
    pages = read_pages(path)
    lines = normalise(pages)
    text = "\n".join(line.text for line in lines) + "\n"
    outcome = read_rulebook([line.text for line in lines], key or path.stem, hashlib.sha256(text.encode()).hexdigest())
    problems = tuple(
        Problem(lines[p.line_number - 1].origin if p.line_number <= len(lines) else "文件末尾", p.expected, p.found)
        for p in outcome.problems
    )
    textless = tuple(number for number, page in enumerate(pages, start=1) if not page) if suffix == ".pdf" else ()
    return Preview(path, kind, len(pages), text, outcome.book, problems, textless)


# Extraction: each reader returns the document's pages, each a list of lines in reading order.


def _text_pages(path: Path) -> list[list[SourceLine]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Windows Notepad in a Chinese office saves GBK ("ANSI"); GB18030 is its superset.
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise UnreadableDocument(f"{path.name}：不是 UTF-8 或 GBK 编码的文本，请以 UTF-8 另存后再导入") from None
    # A form feed is a page break (how pdftotext and some exports mark pages).
    pages: list[list[SourceLine]] = [[]]
    # Not str.splitlines(): it would break lines at the form feed too, and lose the page break.
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        for part_index, part in enumerate(line.split("\f")):
            if part_index:
                pages.append([])
            pages[-1].append(SourceLine(part, f"第{number}行"))
    return pages


def _docx_pages(path: Path) -> list[list[SourceLine]]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, OSError) as exc:
        raise UnreadableDocument(
            f"{path.name}：无法作为 Word 文件打开（{type(exc).__name__}），文件可能已损坏"
        ) from None
    numbering = _WordNumbering(document)
    lines = []
    for number, paragraph in enumerate(_docx_paragraphs(document), start=1):
        text = numbering.label(paragraph) + paragraph.text
        # A manual line break inside a paragraph starts a line of its own, as in the text file.
        lines += [SourceLine(part, f"第{number}段") for part in text.split("\n")]
    return [lines]


def _docx_paragraphs(document: Any) -> Iterator[Any]:
    """The body's paragraphs in order, those in tables too: the 红头 of an issued document (发文机关,
    文号) is often laid out in a table. A merged cell is read once."""
    for block in document.iter_inner_content():
        if not hasattr(block, "rows"):
            yield block
            continue
        seen = set()
        for row in block.rows:
            for cell in row.cells:
                if id(cell._tc) not in seen:
                    seen.add(id(cell._tc))
                    yield from cell.paragraphs


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_CHINESE_FORMATS = {"chineseCounting", "chineseCountingThousand", "taiwaneseCounting", "japaneseCounting"}


@dataclass(frozen=True)
class _Level:
    number_format: str
    text: str  # "第%1条": %1 … %9 stand for the counters of levels 1 … 9
    start: int
    restart_after: int | None  # restarts when a level above this one (0-based) moves on; None: never
    suffix: str


class _WordNumbering:
    """Word's automatic numbering, which python-docx leaves out of a paragraph's text: a drafting
    office that lets Word number 第一条, 第二条 … has no such text in its paragraphs. Rendered as Word
    shows it, counting per list, restarting a level as its w:lvlRestart says."""

    def __init__(self, document: Any) -> None:
        self.levels: dict[tuple[str, int], _Level] = {}
        self.counters: dict[str, list[int | None]] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError):
            return
        abstract: dict[str, dict[int, _Level]] = {}
        for definition in root.iter(f"{_W}abstractNum"):
            levels = abstract.setdefault(definition.get(f"{_W}abstractNumId"), {})
            for level in definition.iter(f"{_W}lvl"):
                index = int(level.get(f"{_W}ilvl", "0"))
                restart = _value(level, "lvlRestart")
                levels[index] = _Level(
                    _value(level, "numFmt") or "decimal",
                    _value(level, "lvlText") or "",
                    int(_value(level, "start") or 1),
                    index - 1 if restart is None else (None if restart == "0" else int(restart) - 1),
                    _value(level, "suff") or "tab",
                )
        for instance in root.iter(f"{_W}num"):
            for index, level in abstract.get(_value(instance, "abstractNumId") or "", {}).items():
                self.levels[(instance.get(f"{_W}numId"), index)] = level

    def label(self, paragraph: Any) -> str:
        """What Word shows before the paragraph's text ("第一条 "), counting it; "" when unnumbered."""
        properties = paragraph._p.pPr
        numbered = properties.numPr if properties is not None else None
        if numbered is None and paragraph.style is not None and paragraph.style.element.pPr is not None:
            numbered = paragraph.style.element.pPr.numPr
        if numbered is None or numbered.numId is None:
            return ""
        list_id = str(numbered.numId.val)
        index = numbered.ilvl.val if numbered.ilvl is not None else 0
        level = self.levels.get((list_id, index))
        if level is None:
            return ""
        counters = self.counters.setdefault(list_id, [None] * 9)
        current = counters[index]
        counters[index] = level.start if current is None else current + 1
        for deeper in range(index + 1, 9):
            deeper_level = self.levels.get((list_id, deeper))
            if deeper_level and deeper_level.restart_after is not None and index <= deeper_level.restart_after:
                counters[deeper] = None
        if level.number_format in {"bullet", "none"}:
            return ""

        def counter(match: re.Match[str]) -> str:
            shown = int(match.group(1)) - 1
            shown_level = self.levels.get((list_id, shown))
            value = counters[shown] or (shown_level.start if shown_level else 1)
            return _formatted(value, shown_level.number_format if shown_level else "decimal")

        label = re.sub(r"%([1-9])", counter, level.text)
        return label + ("" if level.suffix == "nothing" else " ")


def _value(element: Any, child: str) -> str | None:
    found = element.find(f"{_W}{child}")
    return None if found is None else found.get(f"{_W}val")


def _formatted(value: int, number_format: str) -> str:
    if number_format in _CHINESE_FORMATS:
        return int_to_chinese(value)
    if number_format == "upperLetter":
        return chr(ord("A") + value - 1)
    if number_format == "lowerLetter":
        return chr(ord("a") + value - 1)
    return str(value)


def _pdf_pages(path: Path) -> list[list[SourceLine]]:
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfplumber.utils.exceptions import PdfminerException

    pages: list[list[SourceLine]] = []
    try:
        with pdfplumber.open(path) as pdf:
            for page_number, page in enumerate(pdf.pages, start=1):
                lines = []
                for line_number, line in enumerate(page.extract_text_lines(strip=True), start=1):
                    widths = [char["width"] for char in line["chars"] if char["text"].strip()]
                    width = statistics.median(widths) if widths else None
                    origin = f"第{page_number}页第{line_number}行"
                    lines.append(SourceLine(line["text"], origin, line["x0"], line["x1"], width, line["top"]))
                pages.append(lines)
    except (PdfminerException, PDFSyntaxError) as exc:
        raise UnreadableDocument(f"{path.name}：无法作为 PDF 打开（{exc}），文件可能已损坏或加密") from None
    if not any(line.text.strip() for page in pages for line in page):
        raise UnreadableDocument(
            f"{path.name}：这份 PDF 没有文字层（扫描件或图片），无法读取条文；本系统不做文字识别，"
            "请提供 Word 文件或由 Word 导出的 PDF"
        )
    text = "".join(line.text for page in pages for line in page)
    # A font without a map to Unicode comes out as "(cid:1234)" per character: text that cannot be read.
    if sum(len(glyph) for glyph in _UNMAPPED_GLYPH_RE.findall(text)) > len(text) * _UNMAPPED_SHARE:
        raise UnreadableDocument(
            f"{path.name}：这份 PDF 的文字无法解码（字体没有字符编码表），请提供 Word 文件或由 Word 重新导出的 PDF"
        )
    return pages


# Normalisation.


def normalise(pages: list[list[SourceLine]]) -> list[SourceLine]:
    """The document's lines as the parser reads them: half-width, without page furniture, whole paragraphs."""
    pages = [[_half_width(line) for line in page] for page in pages]
    pages = _without_page_furniture(pages)
    return _joined(pages)


def _half_width(line: SourceLine) -> SourceLine:
    return replace(line, text=line.text.translate(_HALF_WIDTH).strip())


Key = tuple[str, int | None]


def _furniture_key(line: SourceLine) -> Key:
    """Running headers differ only in their page number: compare them with digits and spaces
    masked, and in a PDF at the same height, so that a title on the first page is not taken for
    the running header of the same words above the later ones."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line.text)), None if line.top is None else round(line.top)


def _without_page_furniture(pages: list[list[SourceLine]]) -> list[list[SourceLine]]:
    """Drop lone page numbers and lines that repeat at the top or bottom of most pages."""
    pages = [[line for line in page if line.text] for page in pages]
    tops: Counter[Key] = Counter()
    bottoms: Counter[Key] = Counter()
    for page in pages:
        tops.update({_furniture_key(line) for line in page[:_PAGE_EDGE_LINES]})
        bottoms.update({_furniture_key(line) for line in page[-_PAGE_EDGE_LINES:]})
    needed = max(2, math.ceil(_RUNNING_SHARE * len(pages)))
    running_top = {key for key, count in tops.items() if count >= needed}
    running_bottom = {key for key, count in bottoms.items() if count >= needed}
    trimmed = []
    for number, page in enumerate(pages):
        # Without a PDF's geometry nothing tells the first page's title from a running header of the same words.
        text_only_first_page = number == 0 and all(line.top is None for line in page)
        running = (set(), set()) if text_only_first_page else (running_top, running_bottom)
        trimmed.append(_trim_page(page, *running))
    return trimmed


def _trim_page(page: list[SourceLine], running_top: set[Key], running_bottom: set[Key]) -> list[SourceLine]:
    removed: set[Key] = set()

    def furniture(line: SourceLine, running: set[Key]) -> bool:
        if PAGE_NUMBER_RE.match(line.text):
            return True
        key = _furniture_key(line)
        # Once per page: the running header may also be the document's own first line (its 文号).
        if key in running and key not in removed:
            removed.add(key)
            return True
        return False

    start, end = 0, len(page)
    while start < min(_PAGE_EDGE_LINES, end) and furniture(page[start], running_top):
        start += 1
    while end > max(start, len(page) - _PAGE_EDGE_LINES) and furniture(page[end - 1], running_bottom):
        end -= 1
    return page[start:end]


def _starts_element(text: str) -> bool:
    return bool(CHAPTER_RE.match(text) or ARTICLE_RE.match(text) or ITEM_RE.match(text) or FOOTER_RE.match(text))


def _joined(pages: list[list[SourceLine]]) -> list[SourceLine]:
    """Whole paragraphs: a PDF line continues the one before unless it is indented, the line before
    ended short of the right margin, or it starts a chapter, article or item after a line that
    ended a sentence; the first line of a page of text continues the last of the page before
    unless that ended a sentence or this one starts a chapter, article or item."""
    joined: list[SourceLine] = []
    document_margins = _margins([line for page in pages for line in page])
    for page in pages:
        # Pages may be laid out differently (odd and even pages of a bound document); a page of a
        # few lines says little about its margins.
        margins = _margins(page) or document_margins
        for index, line in enumerate(page):
            previous = joined[-1] if joined else None
            if previous is not None and _continues(previous, line, margins, first_on_page=index == 0):
                glue = " " if previous.text[-1:].isascii() and line.text[:1].isascii() else ""
                text = previous.text + glue + line.text
                joined[-1] = replace(previous, text=text, x1=line.x1, char_width=line.char_width)
            else:
                joined.append(line)
    return joined


def _margins(page: list[SourceLine]) -> tuple[float, float] | None:
    """The left and right edges of the page's body text (None without a PDF's geometry, or too few
    lines). Left: where lines start at least twice (a lone line further left is no margin). Right:
    the median end of the lines that nearly reach the longest, so that a line whose punctuation or
    Latin letters run past the margin does not move it."""
    placed = [(line.x0, line.x1, line.char_width) for line in page if line.x0 is not None]
    edges = [(x0, x1, width) for x0, x1, width in placed if x1 is not None and width]
    if len(edges) < 3:
        return None
    starts = Counter(round(x0) for x0, _, _ in edges)
    left = min((x for x, count in starts.items() if count >= 2), default=None)
    width = statistics.median(width for _, _, width in edges)
    longest = max(x1 for _, x1, _ in edges)
    right = statistics.median(x1 for _, x1, _ in edges if x1 >= longest - 3 * width)
    return (left, right) if left is not None else None


def _continues(
    previous: SourceLine, line: SourceLine, margins: tuple[float, float] | None, first_on_page: bool
) -> bool:
    if not previous.text:
        return False
    width = line.char_width or previous.char_width
    if line.x0 is not None and previous.x1 is not None and width:
        if margins is None:
            return False
        left, right = margins
        indented = line.x0 > left + 0.8 * width
        ended_short = previous.x1 < right - 1.5 * width
        if indented or ended_short:
            return False
        # A wrap may put a reference ("依照本规则" | "第十条规定") at the start of a line; a real
        # chapter, article or item starts after a line that ended a sentence or a heading.
        return not (_starts_element(line.text) and previous.text.endswith(_SENTENCE_END))
    # Text without geometry (Word paragraphs, text files) is whole except where a page break cut it.
    return first_on_page and not _starts_element(line.text) and not previous.text.endswith(_SENTENCE_END)

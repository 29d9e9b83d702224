"""The 规则库 page (admins): every book and version, an upload's preview with every problem at its
line, the diff against the book in force, publishing and retiring (knowledge.shelf does the work).

The knowledge package's refusals (RulebookError, in Chinese) become InvalidInput here, so the
console shows them as its 400 page; nothing an upload contains reaches the rules folder before an
admin presses 发布.
"""

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO

from bot.errors import InvalidInput
from knowledge.diff import ArticleChange, ChangeKind, character_diff, diff_rulebooks
from knowledge.editions import Particulars
from knowledge.errors import RulebookError
from knowledge.importing import SUPPORTED_SUFFIXES, Preview, preview_file
from knowledge.model import Rulebook
from knowledge.shelf import Shelf, ShelfEntry

# An office's rulebook is a few hundred kilobytes; a scanned-and-OCRed PDF a few megabytes.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# [-deleted-] and {+added+} in knowledge.diff.character_diff's text.
_MARKED = re.compile(r"\[-(.*?)-\]|\{\+(.*?)\+\}", re.S)


@dataclass(frozen=True)
class DiffLine:
    """One changed article as the page shows it: the heading and the text in marked pieces."""

    heading: str
    kind: str
    pieces: tuple[tuple[str, str], ...]  # ("same" | "deleted" | "added", text)


@dataclass(frozen=True)
class StagedView:
    """A staged book, what it would replace and how it differs."""

    name: str
    book: Rulebook
    replaces: Rulebook | None
    changes: tuple[DiffLine, ...]


@contextmanager
def translated() -> Iterator[None]:
    """The knowledge package's refusals as the console's 400 page."""
    try:
        yield
    except RulebookError as exc:
        raise InvalidInput(str(exc)) from None


def entries(shelf: Shelf, today: date) -> list[ShelfEntry]:
    with translated():
        return shelf.entries(today)


def preview_upload(
    shelf: Shelf, filename: str, content: IO[bytes], particulars: Particulars, today: date
) -> tuple[Preview, str | None]:
    """Read an uploaded file through the import; stage it when it has no problem. The preview,
    and the name it is staged under (None when refused)."""
    name = Path(filename.replace("\\", "/")).name
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise InvalidInput(
            f"不支持这种文件：{name[:60]}。请上传 .docx、.pdf 或 .txt 文件（旧格式的文档请先另存为 .docx）。"
        )
    with tempfile.TemporaryDirectory(prefix="zhengwu-upload-") as folder, translated():
        path = Path(folder) / name
        with path.open("wb") as out:
            while chunk := content.read(1 << 16):
                out.write(chunk)
        preview = preview_file(path)
        if not preview.accepted:
            return preview, None
        return preview, shelf.stage(preview, particulars=particulars, today=today).name


def staged(shelf: Shelf, name: str, today: date) -> StagedView:
    with translated():
        if name not in shelf.staged_names():
            raise InvalidInput(f"没有待发布的规则“{name}”（可能已发布或已被新的上传替换）。")
        book = shelf.resolve(name, staged_first=True)
        replaces = next((b for b in shelf.in_force_books(today) if b.key == name), None)
    changes = diff_rulebooks(replaces, book) if replaces is not None else []
    return StagedView(name, book, replaces, tuple(_diff_line(change) for change in changes))


def _diff_line(change: ArticleChange) -> DiffLine:
    if change.kind == ChangeKind.CHANGED and change.old is not None and change.new is not None:
        return DiffLine(change.heading(), change.kind.value, _pieces(character_diff(change.old.text, change.new.text)))
    article = change.new or change.old
    assert article is not None
    kind = "deleted" if change.kind == ChangeKind.REMOVED else "added" if change.kind == ChangeKind.ADDED else "same"
    return DiffLine(change.heading(), change.kind.value, ((kind, article.text),))


def _pieces(marked: str) -> tuple[tuple[str, str], ...]:
    pieces: list[tuple[str, str]] = []
    position = 0
    for match in _MARKED.finditer(marked):
        if match.start() > position:
            pieces.append(("same", marked[position : match.start()]))
        pieces.append(("deleted", match[1]) if match[1] is not None else ("added", match[2]))
        position = match.end()
    if position < len(marked):
        pieces.append(("same", marked[position:]))
    return tuple(pieces)


def publish(shelf: Shelf, name: str) -> None:
    with translated():
        shelf.publish(name)


def retire(shelf: Shelf, name: str) -> None:
    with translated():
        shelf.retire(name)


def particulars(form: dict) -> Particulars:
    """The optional fields of the upload form: 施行日期, 文号 (empty: what the file says)."""
    effective = str(form.get("effective", "")).strip()
    doc_number = str(form.get("doc_number", "")).strip()
    try:
        day = date.fromisoformat(effective) if effective else None
    except ValueError:
        raise InvalidInput(f"施行日期看不懂：{effective[:20]!r}，请写成 2024-06-01 这样。") from None
    return Particulars(doc_number=doc_number or None, effective_on=day)

"""Where an office's rulebooks wait and where they are in force.

An import (knowledge.importing) that the parser accepts is staged: its normalised text is kept in
the staging folder, and nothing reads it there. Publishing moves it into the rules folder, which
the bot reads at start (knowledge.library): a book of the same name becomes its new version (the
old one is kept under versions/, knowledge.editions, and stays in force until the new one's
effective date), and the bot re-embeds what changed when it next starts. Retiring moves a book
to retired/, where nothing reads it. There is no other way into the rules folder, so nothing an
admin has not published reaches the index.
"""

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from knowledge.editions import RETIRED_DIR, VERSIONS_DIR, Particulars, State, history_files, read_book, read_meta
from knowledge.errors import ShelfError
from knowledge.importing import SUPPORTED_SUFFIXES, Preview, preview_file
from knowledge.library import SHIPPED_DIR, library_files, load_catalogue
from knowledge.model import Rulebook

STAGED = "待发布"

# A name is a file name in the rules folder: letters (Chinese too), digits and a few marks, no path.
_NAME_RE = re.compile(r"[\w（）()〔〕\[\]-][\w.（）()〔〕\[\]-]{0,99}")


@dataclass(frozen=True)
class ShelfEntry:
    """One book as `zhengwu rules list` shows it."""

    name: str
    state: str  # 现行, 待生效, 已被替代, 已废止 (knowledge.editions.State) or 待发布 (staged)
    title: str
    articles: int
    file: Path
    source: str | None = None  # the file it was imported from, for a staged book
    shipped: bool = False  # the book that comes with the software, not one an admin published
    book: Rulebook | None = None
    superseded_by: str | None = None

    @property
    def edition(self) -> str | None:
        return self.book.edition if self.book else None

    @property
    def effective_on(self) -> date | None:
        return self.book.effective_on if self.book else None


@dataclass(frozen=True)
class Staged:
    name: str
    book: Rulebook
    replaces: Rulebook | None  # the book in force under that name, which publishing replaces


class Shelf:
    """The rules folder and the staging folder. `folder` and `published` are knowledge.library's:
    an office's own folder, or (folder None) the shipped books with those published beside them."""

    def __init__(self, folder: Path | None, published: Path | None, staging: Path) -> None:
        rules_dir = folder or published
        if rules_dir is None:
            raise ShelfError("没有可发布规则的文件夹：请设置 [retrieval] knowledge_dir")
        self.folder, self.published, self.staging, self.rules_dir = folder, published, staging, rules_dir

    def in_force(self) -> dict[str, Path]:
        """The files the bot reads at start, by name."""
        return library_files(self.folder, self.published)

    def in_force_books(self, today: date | None = None) -> list[Rulebook]:
        """The version of each book in force on `today`."""
        return load_catalogue(self.folder, self.published, today).in_force

    def staged_names(self) -> list[str]:
        return sorted(path.stem for path in self.staging.glob("*.txt")) if self.staging.is_dir() else []

    def stage(
        self,
        preview: Preview,
        name: str | None = None,
        particulars: Particulars | None = None,
        today: date | None = None,
    ) -> Staged:
        """Keep an accepted import until an admin publishes it, with the particulars set over what
        the parser found. Without a name it takes the name of the book in force with the same
        title (a new version replaces the old), else the file's."""
        if not preview.accepted or preview.book is None:
            raise ShelfError(f"{preview.source.name} 有{len(preview.problems)}处问题，未导入")
        particulars = particulars or Particulars()
        title = particulars.title or preview.book.title
        in_force = {book.key: book for book in self.in_force_books(today)}
        same_title = next((key for key, book in in_force.items() if book.title == title), None)
        name = _checked_name(name if name is not None else same_title or _name_from(preview.source.stem))
        self.staging.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.staging / f"{name}.txt", preview.text)
        meta = {
            "source": preview.source.name,
            "kind": preview.kind,
            "imported_at": datetime.now(UTC).isoformat(),
            "particulars": particulars.to_json(),
        }
        _write_atomically(self.staging / f"{name}.json", json.dumps(meta, ensure_ascii=False))
        return Staged(name, read_book(self.staging / f"{name}.txt", key=name), in_force.get(name))

    def publish(self, name: str) -> Path:
        """Put a staged book in force under its name; refused if another book in force has its title."""
        staged = self.staging / f"{_checked_name(name)}.txt"
        if not staged.is_file():
            waiting = "、".join(self.staged_names()) or "没有"
            raise ShelfError(f"没有待发布的规则“{name}”（待发布：{waiting}）")
        book = read_book(staged, key=name)
        for key, path in self.in_force().items():
            if key != name and read_book(path).title == book.title:
                raise ShelfError(
                    f"规则库中已有《{book.title}》（名称 {key}）；如为它的新版本，请以同一名称导入：--name {key}"
                )
        self.rules_dir.mkdir(parents=True, exist_ok=True)
        current = self.in_force().get(name) or self._retired(name)
        if current is not None:
            self._keep_version(name, current)
        target = self.rules_dir / f"{name}.txt"
        particulars = read_meta(staged).get("particulars", {})
        meta = {"published_at": datetime.now(UTC).isoformat(), "particulars": particulars}
        _write_atomically(target.with_suffix(".json"), json.dumps(meta, ensure_ascii=False))
        _write_atomically(target, staged.read_text(encoding="utf-8"))
        staged.unlink()
        staged.with_suffix(".json").unlink(missing_ok=True)
        for retired in (self._retired(name), self.rules_dir / RETIRED_DIR / f"{name}.json"):
            if retired is not None:
                retired.unlink(missing_ok=True)
        return target

    def _retired(self, name: str) -> Path | None:
        path = self.rules_dir / RETIRED_DIR / f"{name}.txt"
        return path if path.is_file() else None

    def _keep_version(self, name: str, current: Path) -> None:
        """The version a publication replaces goes to versions/<name>/<n>.txt (with its particulars):
        it stays in force until the new one's effective date, and /article can show it after."""
        folder = self.rules_dir / VERSIONS_DIR / name
        folder.mkdir(parents=True, exist_ok=True)
        kept = history_files(self.rules_dir, name)
        target = folder / f"{int(kept[-1].stem) + 1 if kept else 1}.txt"
        if current.with_suffix(".json").is_file():
            _write_atomically(target.with_suffix(".json"), current.with_suffix(".json").read_text(encoding="utf-8"))
        _write_atomically(target, current.read_text(encoding="utf-8"))

    def retire(self, name: str) -> Path:
        """Take a book out of force: it moves to retired/ (kept, not indexed) with its versions kept."""
        current = self.in_force().get(_checked_name(name))
        if current is None:
            raise ShelfError(f"没有名为“{name}”的现行规则（现行：{'、'.join(self.in_force()) or '没有'}）")
        retired_dir = self.rules_dir / RETIRED_DIR
        retired_dir.mkdir(parents=True, exist_ok=True)
        target = retired_dir / f"{name}.txt"
        meta = read_meta(current) | {"retired_at": datetime.now(UTC).isoformat()}
        _write_atomically(target.with_suffix(".json"), json.dumps(meta, ensure_ascii=False))
        _write_atomically(target, current.read_text(encoding="utf-8"))
        if current.parent == self.rules_dir:
            current.unlink()
            current.with_suffix(".json").unlink(missing_ok=True)
        return target

    def entries(self, today: date | None = None) -> list[ShelfEntry]:
        """Every version of every book (in force, pending, superseded, retired) and the staged ones."""
        entries = [
            ShelfEntry(
                version.book.key,
                version.state.value,
                version.book.title,
                len(version.book.articles),
                version.path,
                shipped=version.path.parent == SHIPPED_DIR,
                book=version.book,
                superseded_by=version.superseded_by,
            )
            for version in load_catalogue(self.folder, self.published, today).versions
        ]
        order = list(State)
        entries.sort(key=lambda e: (e.name, order.index(State(e.state)), -(e.effective_on or date.min).toordinal()))
        for name in self.staged_names():
            path = self.staging / f"{name}.txt"
            book = read_book(path, key=name)
            source = self._meta(name).get("source")
            entries.append(ShelfEntry(name, STAGED, book.title, len(book.articles), path, source, book=book))
        return entries

    def resolve(self, reference: str, staged_first: bool = False) -> Rulebook:
        """A book by file path (read through the import) or by name: the one in force, or the
        staged one (first, when `staged_first`: what a diff's new side usually means)."""
        path = Path(reference)
        if path.suffix.lower() in SUPPORTED_SUFFIXES and path.is_file():
            preview = preview_file(path)
            if preview.book is None or not preview.accepted:
                raise ShelfError(f"{path.name} 不能读作规则：\n{preview.to_text()}")
            return preview.book
        in_force = self.in_force().get(reference)
        if in_force is not None and not staged_first:
            # The version in force today, not merely the newest published under the name.
            current = next((book for book in self.in_force_books() if book.key == reference), None)
            if current is not None:
                return current
        staged = self.staging / f"{reference}.txt"
        candidates = [staged if staged.is_file() else None, in_force]
        if not staged_first:
            candidates.reverse()
        found = next((candidate for candidate in candidates if candidate is not None), None)
        if found is None:
            names = "、".join([*self.in_force(), *self.staged_names()])
            raise ShelfError(f"没有名为“{reference}”的规则，也没有这个文件（现有：{names}）")
        return read_book(found, key=reference)

    def _meta(self, name: str) -> dict[str, str]:
        try:
            return json.loads((self.staging / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}


def _name_from(stem: str) -> str:
    """A file's name made a usable name: marks a name may not hold become _."""
    return re.sub(r"[^\w.（）()〔〕\[\]-]", "_", stem).lstrip(".")[:100] or "rulebook"


def _checked_name(name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise ShelfError(f"规则名称“{name}”不可用：只能用文字、数字和 - _ . （）〔〕，不超过100个字符，不以 . 开头")
    return name


def _write_atomically(path: Path, text: str) -> None:
    """A reader (a bot starting meanwhile) sees the old file or the new one, never half of it."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)

"""Versions of a rulebook and which one is in force on a given day.

A rules folder holds, by name (the file stem):
- `<name>.txt`, the newest version published under that name, and beside it `<name>.json`, the
  particulars an admin set on import over what the parser found (title, 文号, dates);
- `versions/<name>/<n>.txt` (and .json), the earlier versions, kept when a new one was published;
- `retired/<name>.txt` (and .json), a book an admin retired: kept, never in force, not indexed.

On a given day the version of a name in force is the latest whose effective date has come; the
later ones wait (pending), the earlier ones are superseded. A book in force that says it repeals
another (《…》（…号）同时废止) supersedes that one, under whatever name, from its own effective date.
When the office keeps more than one version of a title, each cites with its version (`edition`).
"""

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any

from knowledge.model import Rulebook
from knowledge.parser import parse_rulebook

VERSIONS_DIR = "versions"
RETIRED_DIR = "retired"


@dataclass(frozen=True)
class Particulars:
    """What an admin sets on import over what the parser found in the file (None: keep it)."""

    title: str | None = None
    doc_number: str | None = None
    issued_on: date | None = None
    effective_on: date | None = None

    def given(self) -> dict[str, str | date]:
        """The particulars set, by field name."""
        fields = {
            "title": self.title,
            "doc_number": self.doc_number,
            "issued_on": self.issued_on,
            "effective_on": self.effective_on,
        }
        return {name: value for name, value in fields.items() if value is not None}

    def apply(self, book: Rulebook) -> Rulebook:
        changes: dict[str, Any] = self.given()  # replace() takes each field by name
        takes_effect_on_issue = book.effective_on is not None and book.effective_on == book.issued_on
        if self.issued_on is not None and self.effective_on is None and takes_effect_on_issue:
            changes["effective_on"] = self.issued_on  # "自印发之日起施行" follows a corrected issuing date
        return replace(book, **changes) if changes else book

    def to_json(self) -> dict[str, str]:
        return {name: value.isoformat() if isinstance(value, date) else value for name, value in self.given().items()}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> "Particulars":
        def day(name: str) -> date | None:
            return date.fromisoformat(data[name]) if data.get(name) else None

        return cls(data.get("title"), data.get("doc_number"), day("issued_on"), day("effective_on"))


def read_meta(text_path: Path) -> dict:
    """The .json beside a rulebook text ({} when there is none or it cannot be read)."""
    try:
        return json.loads(text_path.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def read_book(path: Path, key: str | None = None) -> Rulebook:
    """A rulebook file with the particulars its .json sets."""
    book = parse_rulebook(path, key=key)
    return Particulars.from_json(read_meta(path).get("particulars", {})).apply(book)


class State(Enum):
    IN_FORCE = "现行"
    PENDING = "待生效"
    SUPERSEDED = "已被替代"
    RETIRED = "已废止"


@dataclass(frozen=True)
class Version:
    """One version of a book on the shelf and its state on the catalogue's day."""

    book: Rulebook
    path: Path
    state: State
    superseded_by: str | None = None  # the citation title of the book that replaced it


@dataclass
class Catalogue:
    """Every version of every book in a rules folder (and the shipped ones), on one day."""

    today: date
    versions: list[Version] = field(default_factory=list)

    def of_state(self, state: State) -> list[Rulebook]:
        return [v.book for v in self.versions if v.state == state]

    @property
    def in_force(self) -> list[Rulebook]:
        return sorted(self.of_state(State.IN_FORCE), key=lambda book: book.key)

    def earlier(self, key: str) -> list[Rulebook]:
        """The superseded versions under a name, the newest first."""
        found = [v.book for v in self.versions if v.book.key == key and v.state == State.SUPERSEDED]
        return sorted(found, key=_effective, reverse=True)


def _effective(book: Rulebook) -> date:
    return book.effective_on or date.min


def history_files(rules_dir: Path, name: str) -> list[Path]:
    """The kept earlier versions of a name, oldest published first."""
    folder = rules_dir / VERSIONS_DIR / name
    return sorted(folder.glob("*.txt"), key=lambda path: int(path.stem)) if folder.is_dir() else []


def catalogue(files: dict[str, Path], rules_dir: Path | None, today: date) -> Catalogue:
    """Which version of each book is in force on `today`; `files` are the current files by name
    (knowledge.library.library_files), `rules_dir` where versions and retired books are kept."""
    shelved: dict[str, list[tuple[Rulebook, Path]]] = {}
    for name, path in files.items():
        kept = history_files(rules_dir, name) if rules_dir is not None else []
        shelved[name] = [(read_book(file, key=name), file) for file in [*kept, path]]
    retired_dir = rules_dir / RETIRED_DIR if rules_dir is not None else None
    retired = sorted(retired_dir.glob("*.txt")) if retired_dir is not None and retired_dir.is_dir() else []
    retired_books = [(read_book(file, key=file.stem), file) for file in retired]
    titles = Counter(
        book.title for book, _ in [*retired_books, *(pair for pairs in shelved.values() for pair in pairs)]
    )
    every = _distinct(_with_editions([*retired_books, *(pair for pairs in shelved.values() for pair in pairs)], titles))
    named = {file: book for book, file in every}
    shelved = {name: [(named[file], file) for _, file in pairs] for name, pairs in shelved.items()}
    retired_books = [(named[file], file) for _, file in retired_books]
    result = Catalogue(today)
    for candidates in shelved.values():
        # Ordered by effective date; of two with the same date, the later published is the newer.
        ordered = sorted(enumerate(candidates), key=lambda pair: (_effective(pair[1][0]), pair[0]))
        due = [index for index, (book, _) in ordered if _effective(book) <= today]
        current = candidates[due[-1]][0] if due else None
        for _, (book, file) in ordered:
            if book is current:
                result.versions.append(Version(book, file, State.IN_FORCE))
            elif current is not None and _effective(book) <= _effective(current):
                result.versions.append(Version(book, file, State.SUPERSEDED, current.cited_title))
            else:
                result.versions.append(Version(book, file, State.PENDING))
    result.versions += [Version(book, file, State.RETIRED) for book, file in retired_books]
    _apply_repeals(result)
    return result


def _apply_repeals(result: Catalogue) -> None:
    """A book in force that repeals a title (《X》（…号）同时废止) supersedes the book of that title
    in force under another name, if that one took effect before it."""
    repealers = [v.book for v in result.versions if v.state == State.IN_FORCE and v.book.repeals]
    for index, version in enumerate(result.versions):
        if version.state != State.IN_FORCE:
            continue
        book = version.book
        repealer = next(
            (
                r
                for r in repealers
                if r.key != book.key
                and r.repeals is not None
                and r.repeals.startswith(f"《{book.title}》")
                and _effective(book) <= _effective(r)
            ),
            None,
        )
        if repealer is not None:
            result.versions[index] = replace(version, state=State.SUPERSEDED, superseded_by=repealer.cited_title)


def _with_editions(shelved: list[tuple[Rulebook, Path]], titles: Counter[str]) -> list[tuple[Rulebook, Path]]:
    """Each version of a title the office keeps more than one of cites with its version."""
    return [
        (replace(book, edition=edition_of(book)) if titles[book.title] > 1 else book, file) for book, file in shelved
    ]


def _distinct(shelved: list[tuple[Rulebook, Path]]) -> list[tuple[Rulebook, Path]]:
    """Two versions that would cite alike (a revision issued under the same 文号 in the same year)
    are told apart by their effective dates."""
    labels = Counter((book.title, book.edition) for book, _ in shelved if book.edition)
    return [
        (replace(book, edition=f"{book.edition}，{_day(book.effective_on)}起施行"), file)
        if book.edition and book.effective_on and labels[(book.title, book.edition)] > 1
        else (book, file)
        for book, file in shelved
    ]


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def edition_of(book: Rulebook) -> str | None:
    """2019年，昆政发〔2019〕5号 — the year it was issued (or took effect) and its 文号."""
    day = book.issued_on or book.effective_on
    label = "，".join(part for part in (f"{day.year}年" if day else None, book.doc_number) if part)
    return label or None

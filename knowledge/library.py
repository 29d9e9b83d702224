"""All rulebooks of one office: every *.txt file in a knowledge folder, or the shipped ones with
those an admin published (`zhengwu rules publish`, knowledge.shelf) added or replacing them."""

from datetime import date
from pathlib import Path

from knowledge.editions import RETIRED_DIR, Catalogue, catalogue
from knowledge.errors import RulebookError
from knowledge.model import Rulebook

SHIPPED_DIR = Path(__file__).parent / "data"


def library_files(folder: Path | None = None, published: Path | None = None) -> dict[str, Path]:
    """The rulebook files in force by name (file stem), sorted: every *.txt in `folder` (the
    shipped ones when None), then every *.txt in `published`, which replaces one of the same name."""
    files = {path.stem: path for path in sorted((folder or SHIPPED_DIR).glob("*.txt"))}
    if published is not None and published != folder:
        # A shipped book an admin retired stays out (one published again under its name is back).
        retired = {path.stem for path in (published / RETIRED_DIR).glob("*.txt")}
        files = {name: path for name, path in files.items() if name not in retired}
        files |= {path.stem: path for path in sorted(published.glob("*.txt"))}
    return dict(sorted(files.items()))


def load_catalogue(folder: Path | None = None, published: Path | None = None, today: date | None = None) -> Catalogue:
    """Every version of every book and which is in force on `today` (knowledge.editions)."""
    return catalogue(library_files(folder, published), folder or published, today or date.today())


def load_library(
    folder: Path | None = None, published: Path | None = None, today: date | None = None
) -> list[Rulebook]:
    """Parse every rulebook in force on `today` (the version in force of each book), sorted by name."""
    return books_in_force(load_catalogue(folder, published, today), folder)


def books_in_force(found: Catalogue, folder: Path | None = None) -> list[Rulebook]:
    """A catalogue's books in force, refused when there are none or two share a title."""
    books = found.in_force
    if not books:
        raise RulebookError(f"规则库文件夹 {str(folder)!r} 中没有现行的规则文本（*.txt）")
    check_titles(books)
    return books


def check_titles(books: list[Rulebook]) -> None:
    """Two books of one title would make every citation of that title ambiguous."""
    seen: dict[str, str] = {}
    for book in books:
        if book.title in seen:
            raise RulebookError(f"规则库中有两本同名规则《{book.title}》：{seen[book.title]} 与 {book.key}")
        seen[book.title] = book.key

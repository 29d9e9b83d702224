"""All rulebooks of one office: every *.txt file in a knowledge folder, or the shipped ones with
those an admin published (`zhengwu rules publish`, knowledge.shelf) added or replacing them."""

from pathlib import Path

from knowledge.errors import RulebookError
from knowledge.model import Rulebook
from knowledge.parser import parse_rulebook

SHIPPED_DIR = Path(__file__).parent / "data"


def library_files(folder: Path | None = None, published: Path | None = None) -> dict[str, Path]:
    """The rulebook files in force by name (file stem), sorted: every *.txt in `folder` (the
    shipped ones when None), then every *.txt in `published`, which replaces one of the same name."""
    files = {path.stem: path for path in sorted((folder or SHIPPED_DIR).glob("*.txt"))}
    if published is not None and published != folder:
        files |= {path.stem: path for path in sorted(published.glob("*.txt"))}
    return dict(sorted(files.items()))


def load_library(folder: Path | None = None, published: Path | None = None) -> list[Rulebook]:
    """Parse every rulebook in force (library_files), sorted by name."""
    files = library_files(folder, published)
    if not files:
        raise RulebookError(f"规则库文件夹 {str(folder)!r} 中没有规则文本（*.txt）")
    books = [parse_rulebook(path) for path in files.values()]
    check_titles(books)
    return books


def check_titles(books: list[Rulebook]) -> None:
    """Two books of one title would make every citation of that title ambiguous."""
    seen: dict[str, str] = {}
    for book in books:
        if book.title in seen:
            raise RulebookError(f"规则库中有两本同名规则《{book.title}》：{seen[book.title]} 与 {book.key}")
        seen[book.title] = book.key

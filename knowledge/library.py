"""All rulebooks of one office: every *.txt file in a knowledge folder."""

from pathlib import Path

from knowledge.model import Rulebook
from knowledge.parser import parse_rulebook

SHIPPED_DIR = Path(__file__).parent / "data"


def load_library(folder: Path | None = None) -> list[Rulebook]:
    """Parse every rulebook in `folder` (the shipped one by default), sorted by file name."""
    folder = folder or SHIPPED_DIR
    paths = sorted(folder.glob("*.txt"))
    if not paths:
        raise FileNotFoundError(f"no rulebook (*.txt) in knowledge folder {str(folder)!r}")
    books = [parse_rulebook(path) for path in paths]
    titles = [book.title for book in books]
    duplicates = {t for t in titles if titles.count(t) > 1}
    if duplicates:
        raise ValueError(f"two rulebooks in {str(folder)!r} share the title {sorted(duplicates)[0]!r}")
    return books

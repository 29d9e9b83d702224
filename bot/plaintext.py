"""What people type, made safe to store and to work on.

Telegram delivers text as sent: NUL and other control characters, zero-width and direction marks
(U+200B, U+202E …) and 20,000-character pastes arrive as they are. Everything a person types goes
through `clean` before a form, a prompt or the rules engine sees it; a field left empty by cleaning
is refused like an empty one.
"""

import unicodedata

# The Bot API's own limit for one message; longer text is cut before any work is done on it.
MAX_MESSAGE_CHARS = 4096
_KEPT_CONTROLS = {"\n", "\t"}


def clean(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """NFC text without control, format (zero-width, direction) or private-use characters, with
    spaces trimmed, cut to `limit` characters."""
    text = unicodedata.normalize("NFC", text[: limit * 2])
    kept = "".join(c for c in text if c in _KEPT_CONTROLS or unicodedata.category(c)[0] != "C")
    return kept.strip()[:limit]


def has_words(text: str) -> bool:
    """Does the text say anything (a letter, a digit, a CJK character), or is it only marks and emoji?"""
    return any(unicodedata.category(c)[0] in "LN" for c in text)


def clauses(sentences: list[str] | tuple[str, ...]) -> str:
    """Sentences joined as clauses of one: "甲。" and "乙。" become "甲；乙。" (never "。；")."""
    parts = [s.strip().rstrip("。；;") for s in sentences if s.strip()]
    return "；".join(parts) + "。" if parts else ""

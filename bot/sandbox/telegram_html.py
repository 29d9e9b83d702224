"""Telegram's HTML parse mode, checked as strictly as Telegram does.

A message the bot sends with parse_mode=HTML must use only Telegram's tags, close every tag it
opens, and escape every <, > and & that is not markup. The checker also yields the plain text (for
the 4096-character limit) and a sanitised copy the chat page can show.
"""

import html
from dataclasses import dataclass
from html.parser import HTMLParser

ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-spoiler",
    "span",
    "tg-emoji",
}
ALLOWED_ENTITIES = {"lt", "gt", "amp", "quot"}


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; the message mimics Telegram's."""


@dataclass(frozen=True)
class ParsedHTML:
    plain: str
    safe_html: str


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.plain: list[str] = []
        self.safe: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise EntityParseError(f'can\'t parse entities: Unsupported start tag "{tag}"')
        self.stack.append(tag)
        href = dict(attrs).get("href") if tag == "a" else None
        self.safe.append(f'<a href="{html.escape(href)}" target="_blank">' if href else f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise EntityParseError(f'can\'t parse entities: Unmatched end tag "{tag}"')
        self.stack.pop()
        self.safe.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        for char in "<>&":
            if char in data:
                raise EntityParseError(f"can't parse entities: unescaped {char!r} in text")
        self.plain.append(data)
        self.safe.append(html.escape(data, quote=False))

    def handle_entityref(self, name: str) -> None:
        if name not in ALLOWED_ENTITIES:
            raise EntityParseError(f'can\'t parse entities: unsupported HTML entity "&{name};"')
        self.plain.append(html.unescape(f"&{name};"))
        self.safe.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        char = html.unescape(f"&#{name};")
        self.plain.append(char)
        self.safe.append(html.escape(char, quote=False))


def parse_telegram_html(text: str) -> ParsedHTML:
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.rawdata:
        raise EntityParseError("can't parse entities: unfinished tag or entity at the end")
    if checker.stack:
        raise EntityParseError(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{checker.stack[-1]}\""
        )
    return ParsedHTML("".join(checker.plain), "".join(checker.safe))


def utf16_length(text: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2

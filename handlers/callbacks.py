"""Typed callback data: one frozen dataclass per kind of button packs itself into the Bot API's
64 bytes and parses itself back, so data built in one place cannot be misread in another.

    DecisionButton(request_id=7, version=3, action="ok").pack() == "ld:7:3:ok"   # handlers.leave

Fields are ints (non-negative) or short tokens without ":". Parsing anything else — forged,
truncated, from an older release — raises MalformedCallback, which handlers turn into a reply.
"""

import dataclasses
import re
from typing import Any, ClassVar, Self, get_type_hints

MAX_BYTES = 64
_TOKEN = re.compile(r"[\w.\-]{1,32}")


class MalformedCallback(ValueError):
    """Callback data that no button of this bot could have carried."""


@dataclasses.dataclass(frozen=True)
class CallbackData:
    prefix: ClassVar[str]

    def __init_subclass__(cls, prefix: str = "", **kwargs: Any) -> None:
        # Only names the kind: features list their buttons, and the application's assembly
        # (handlers.features.assemble) refuses a prefix used twice.
        super().__init_subclass__(**kwargs)
        if prefix:
            cls.prefix = prefix

    def pack(self) -> str:
        values = [str(getattr(self, f.name)) for f in dataclasses.fields(self)]
        for value in values:
            if ":" in value or not value:
                raise ValueError(f"{type(self).__name__}: field value {value!r} cannot go into callback data")
        data = ":".join([self.prefix, *values])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data {data!r} is longer than {MAX_BYTES} bytes")
        return data

    @classmethod
    def parse(cls, data: str) -> Self:
        prefix, *values = data.split(":")
        fields = dataclasses.fields(cls)
        if prefix != cls.prefix or len(values) != len(fields):
            raise MalformedCallback(data)
        hints = get_type_hints(cls)
        parsed: dict[str, Any] = {}
        for field, value in zip(fields, values, strict=True):
            if hints[field.name] is int:
                if not value.isascii() or not value.isdigit() or len(value) > 12:
                    raise MalformedCallback(data)
                parsed[field.name] = int(value)
            elif _TOKEN.fullmatch(value):
                parsed[field.name] = value
            else:
                raise MalformedCallback(data)
        return cls(**parsed)

    @classmethod
    def matches(cls, data: object) -> bool:
        """For CallbackQueryHandler(pattern=...): the data is of this kind (it may still be malformed)."""
        return isinstance(data, str) and data.split(":", 1)[0] == cls.prefix


# ----- buttons of rules answers and browsing (drawn by handlers.render) -----------------------------


@dataclasses.dataclass(frozen=True)
class _InBook(CallbackData):
    """Something numbered in a rulebook (an article, a chapter)."""

    rulebook_id: int
    number: int


@dataclasses.dataclass(frozen=True)
class ArticleButton(_InBook, prefix="art"):
    """📄: one article's full text."""


@dataclasses.dataclass(frozen=True)
class ChapterButton(_InBook, prefix="ch"):
    """A chapter's list of articles."""


@dataclasses.dataclass(frozen=True)
class ChapterTextButton(_InBook, prefix="chtext"):
    """A whole chapter's text."""


@dataclasses.dataclass(frozen=True)
class BookButton(CallbackData, prefix="book"):
    """A rulebook's table of contents."""

    rulebook_id: int


@dataclasses.dataclass(frozen=True)
class RelatedButton(CallbackData, prefix="rel"):
    """🔗: the further articles retrieval ranked for a logged question."""

    log_id: int


@dataclasses.dataclass(frozen=True)
class ActionButton(CallbackData, prefix="act"):
    """📝 / 📋 / ⏰ under an answer: open the workflow its article leads to (bot.qa.actions.Action),
    filled from the logged question."""

    log_id: int
    action: str


@dataclasses.dataclass(frozen=True)
class FeedbackButton(CallbackData, prefix="fb"):
    """👍 ("1") or 👎 ("-1") on a logged answer."""

    log_id: int
    value: str


@dataclasses.dataclass(frozen=True)
class FeedbackReasonButton(CallbackData, prefix="fbr"):
    """Why 👎: a key of bot.qa.service.FEEDBACK_REASONS."""

    log_id: int
    reason: str

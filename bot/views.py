"""Channel-neutral views of what the bot sends from the outbox: a card or a notice is a title,
lines (some of them labelled fields), and rows of buttons whose actions are typed data (the
features' callback data: `pack()` gives what the button carries). Each channel renders a View its
own way: Telegram as HTML with an inline keyboard (handlers.render), WeCom as a template card or a
text (bot.wecom.render). Nothing here knows a messenger.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from bot.db import PendingInput, Person
from bot.services import Services
from bot.workflow.inputs import FormHooks
from bot.workflow.transitions import Versioned


class Action(Protocol):
    """What a button does, as typed data; `pack()` is the short string a press brings back."""

    def pack(self) -> str: ...


@dataclass(frozen=True)
class Strong:
    """Emphasised text (bold in Telegram)."""

    text: str


Span = str | Strong


@dataclass(frozen=True)
class Line:
    """One line of a view; with a `label` it is a field ("申请人：王建国"), shown as a key and a value
    where the channel has them."""

    spans: tuple[Span, ...]
    label: str = ""

    @property
    def value(self) -> str:
        return "".join(s.text if isinstance(s, Strong) else s for s in self.spans)

    @property
    def plain(self) -> str:
        return f"{self.label}：{self.value}" if self.label else self.value


def line(*spans: Span) -> Line:
    return Line(tuple(s for s in spans if s))


def field(label: str, *spans: Span) -> Line:
    return Line(tuple(s for s in spans if s), label)


@dataclass(frozen=True)
class Button:
    label: str
    action: Action


@dataclass(frozen=True)
class View:
    """A card or a notice. `lines[0]` is its title; `version` is the item version a card shows
    (its buttons act on that version only)."""

    lines: tuple[Line, ...]
    buttons: tuple[tuple[Button, ...], ...] = ()
    version: int | None = None

    @property
    def title(self) -> str:
        return self.lines[0].plain if self.lines else ""

    @property
    def body(self) -> tuple[Line, ...]:
        return self.lines[1:]

    @property
    def plain(self) -> str:
        return "\n".join(item.plain for item in self.lines)


def view(lines: Iterable[Line | str], buttons: Iterable[Iterable[Button]] = (), version: int | None = None) -> View:
    """A View from lines (a str is a plain line) and rows of buttons (empty rows are left out)."""
    rows = tuple(row for row in (tuple(r) for r in buttons) if row)
    return View(tuple(line(x) if isinstance(x, str) else x for x in lines), rows, version)


def notice(text: str, buttons: Iterable[Iterable[Button]] = ()) -> View:
    """A notice: plain text (its first line reads as its title), perhaps with buttons."""
    return view([text], buttons)


@dataclass(frozen=True)
class OpenForm:
    """What an action leads to when it (re)opens a form, e.g. 修改后重新提交: the person's form of the
    workflow `prefix` ("leave"), record `record_id`, shown at its current step by the channel."""

    prefix: str
    record_id: int


# What pressing a button or answering a prompt leads to: what the person is told, or a form to show.
Outcome = str | OpenForm


@dataclass(frozen=True)
class CardAction:
    """What pressing one kind of button does, whatever the channel: `parse` reads the packed data
    (refusing forged or outdated data), `run` is the unit of work for the roster person who pressed
    it and returns what they are told (or the form it opens). Telegram's button handlers and WeCom's
    template card events both run it."""

    parse: Callable[[str], Any]
    run: Callable[[Session, Services, Person, Any], Outcome]


# A typed answer to a prompt a feature asked (a refusal's reason, a 销假 report), whatever the channel:
# what the person is told, or None when the answer moves a form on (its next screen is the channel's).
TextReply = Callable[[Session, Services, Person, PendingInput, str], str | None]


@dataclass(frozen=True)
class FormFlow:
    """A feature's form (/leave, /topic), whatever the channel. A step is a View: its title, what it
    asks, and for a chosen (not typed) step one button per choice whose action is typed data that
    `press` takes. `press` is the unit of work of a form button for its filler: what they are told
    when the form ends (submitted, cancelled), None when it moves on to its next step. `screen` draws
    the step the form is at now. `commands`: what a person types to start or resume it."""

    commands: frozenset[str]
    open: Callable[[Session, Person], int]
    screen: Callable[[Session, Services, int], View]
    press: Callable[[Session, Services, Person, Any], str | None]
    hooks: FormHooks


@dataclass(frozen=True)
class Workflows:
    """What a channel other than Telegram needs of the features to run their workflows: card actions
    by button prefix, prompt replies and forms by purpose prefix, workflow models by subject (whose
    versions a prompt is checked against). Assembled from the features
    (handlers.features.Wiring.workflows)."""

    actions: Mapping[str, CardAction]
    replies: Mapping[str, TextReply]
    models: Mapping[str, type[Versioned]]
    forms: Mapping[str, FormFlow]

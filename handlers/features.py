"""What a feature contributes to the bot, declared in one object per feature, and the application's
tables assembled from them.

Each feature module (handlers.leave, handlers.topics, …) exports a `FEATURE`; bot.app lists the
features and calls `assemble`, which builds the lookup tables the input router, /cancel, the
delivery loop and the kernel's version checks are handed. Nothing registers itself by being
imported: the import graph shows where work goes, and an assembled application can be inspected.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from telegram.ext import BaseHandler

from bot.delivery import CardRenderer, NoticeRenderer, Renderers
from bot.views import CardAction, FormFlow, TextReply, Workflows
from bot.workflow.transitions import Versioned
from handlers.callbacks import CallbackData
from handlers.inputs import TextRoute, TypedInputs

T = TypeVar("T")


@dataclass(frozen=True)
class Feature:
    """One feature's contributions. The tables are keyed by subject or purpose prefix ("leave");
    `notices` by notice template; `handlers` builds its PTB handlers (in precedence order)."""

    name: str
    handlers: Callable[[], list[BaseHandler]]
    # The workflow models whose versions prompts and cards are checked against.
    models: Mapping[str, type[Versioned]] = field(default_factory=dict)
    # Its forms, channel-free: what each step shows and what its buttons do (/cancel abandons them).
    forms: Mapping[str, FormFlow] = field(default_factory=dict)
    # Who takes a private text that answers one of the feature's prompts.
    text_routes: Mapping[str, TextRoute] = field(default_factory=dict)
    cards: Mapping[str, CardRenderer] = field(default_factory=dict)
    notices: Mapping[str, NoticeRenderer] = field(default_factory=dict)
    # The kinds of button the feature draws (their prefixes must be unique across features).
    buttons: tuple[type[CallbackData], ...] = ()
    # What its card buttons do, channel-free (WeCom's template card events run them).
    actions: Mapping[type[CallbackData], CardAction] = field(default_factory=dict)
    # Typed answers to its prompts, channel-free, by purpose prefix.
    replies: Mapping[str, TextReply] = field(default_factory=dict)


@dataclass(frozen=True)
class Wiring:
    """The application's tables, built once at assembly from its features."""

    features: tuple[Feature, ...]
    models: Mapping[str, type[Versioned]]
    forms: Mapping[str, FormFlow]
    text_routes: Mapping[str, TextRoute]
    cards: Mapping[str, CardRenderer]
    notices: Mapping[str, NoticeRenderer]
    buttons: Mapping[str, type[CallbackData]]
    # By button prefix, and by prompt purpose prefix.
    actions: Mapping[str, CardAction]
    replies: Mapping[str, TextReply]

    @property
    def renderers(self) -> Renderers:
        return Renderers(self.cards, self.notices, self.models)

    @property
    def workflows(self) -> Workflows:
        return Workflows(self.actions, self.replies, self.models, self.forms)

    @property
    def inputs(self) -> TypedInputs:
        return TypedInputs(self.text_routes, {key: form.hooks for key, form in self.forms.items()}, self.models)


def _merged(features: Iterable[Feature], part: Callable[[Feature], Mapping[str, T]], what: str) -> dict[str, T]:
    """One table from every feature's `part`; a key two features claim is a wiring mistake."""
    table: dict[str, T] = {}
    owner: dict[str, str] = {}
    for feature in features:
        for key, value in part(feature).items():
            if key in table:
                raise ValueError(f'{what} "{key}" is contributed by both {owner[key]} and {feature.name}')
            table[key], owner[key] = value, feature.name
    return table


def assemble(features: Iterable[Feature]) -> Wiring:
    """The tables of an application made of `features` (in handler precedence order)."""
    listed = tuple(features)
    return Wiring(
        features=listed,
        models=_merged(listed, lambda f: f.models, "workflow model"),
        forms=_merged(listed, lambda f: f.forms, "form"),
        text_routes=_merged(listed, lambda f: f.text_routes, "text route"),
        cards=_merged(listed, lambda f: f.cards, "card renderer"),
        notices=_merged(listed, lambda f: f.notices, "notice renderer"),
        buttons=_merged(listed, lambda f: {kind.prefix: kind for kind in f.buttons}, "callback prefix"),
        actions=_merged(listed, lambda f: {kind.prefix: action for kind, action in f.actions.items()}, "card action"),
        replies=_merged(listed, lambda f: f.replies, "text reply"),
    )

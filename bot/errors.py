"""The bot's exception tree. Handlers turn DomainError into a Chinese reply; the rest is a bug.

ZhengwuError
├── ConfigError            a bad config.toml value or environment override (fails at start)
├── RosterError            the roster file is malformed
└── DomainError            a user's request cannot be carried out; `message` is shown to them
    ├── NotRegistered      the Telegram account is not bound to anyone on the roster
    ├── PermissionDenied   the person may not do this
    ├── NotFound           the referenced record does not exist
    ├── InvalidInput       a value the user typed cannot be used
    └── AlreadyHandled     the item moved on before this request (a second press, a stale card)
"""


class ZhengwuError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(ZhengwuError):
    """A configuration value is missing or malformed; the message names the key."""


class RosterError(ZhengwuError):
    """The roster file cannot be used; the message names the file and entry."""


class DomainError(ZhengwuError):
    """A request that cannot be carried out; str(error) is the Chinese message for the user."""


class NotRegistered(DomainError):
    """The account is not bound to a person on the roster."""


class PermissionDenied(DomainError):
    """The person is not allowed to do this."""


class NotFound(DomainError):
    """The record a button or command refers to does not exist."""


class InvalidInput(DomainError):
    """The user typed something that cannot be used."""


class AlreadyHandled(DomainError):
    """The item is no longer in the state the request was made for; the message names its state now."""

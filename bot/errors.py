"""The bot's exception tree. Handlers turn DomainError into a Chinese reply; the rest is a bug.

ZhengwuError
├── ConfigError            a bad config.toml value or environment override (fails at start)
├── RosterError            the roster file is malformed
├── WeComError             the WeCom channel: a callback refused or the platform's API failing
│   ├── WeComApiFailed     the platform's API could not be reached or answered nonsense
│   │   └── WeComApiError  the API answered a nonzero errcode; the message gives its meaning
│   └── CallbackRejected   a callback that is not provably fresh and from the platform; answer 4xx
│       ├── MalformedCallback   the body or a query value has not the documented shape
│       ├── BadSignature        msg_signature does not match token, timestamp, nonce and ciphertext
│       ├── StaleTimestamp      signed long ago (a replay) or far in the future
│       ├── BadCiphertext       the ciphertext does not decrypt to the documented layout
│       └── WrongReceiveId      decrypted fine but addressed to another corporation
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


class WeComError(ZhengwuError):
    """Something on the WeCom channel failed; the message names the value, never a secret."""


class WeComApiFailed(WeComError):
    """A WeCom API call failed: no connection, an HTTP error, or a body that is not JSON.
    `maybe_delivered`: the request left and no answer came (the platform may have acted on it)."""

    def __init__(self, message: str, maybe_delivered: bool = False) -> None:
        super().__init__(message)
        self.maybe_delivered = maybe_delivered


class WeComApiError(WeComApiFailed):
    """The API answered with a nonzero errcode; `errcode` and `errmsg` are the platform's."""

    def __init__(self, path: str, errcode: int, errmsg: str, meaning: str) -> None:
        super().__init__(f"{path}: errcode {errcode} ({meaning}): {errmsg!r}")
        self.errcode = errcode
        self.errmsg = errmsg


class CallbackRejected(WeComError):
    """A callback request that must not be acted on: it is not provably fresh and from the platform."""


class MalformedCallback(CallbackRejected):
    """The request lacks a documented part (no <Encrypt>, a timestamp that is not a number)."""


class BadSignature(CallbackRejected):
    """msg_signature is not the SHA1 of the sorted token, timestamp, nonce and ciphertext."""


class StaleTimestamp(CallbackRejected):
    """The signed timestamp is outside the accepted window: a replay or a wrong clock."""


class BadCiphertext(CallbackRejected):
    """The ciphertext is not base64, not whole AES blocks, badly padded, or its length field is wrong."""


class WrongReceiveId(CallbackRejected):
    """The message decrypted but names another corporation (or application) as its receiver."""


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

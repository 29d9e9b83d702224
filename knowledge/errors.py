"""The knowledge package's exception tree. It may not import bot.errors (the layer contracts in
pyproject.toml), so it has its own root; the CLI and the bot turn these into Chinese messages.

RulebookError (ValueError)
├── RulebookFormatError   the text is not a well-formed rulebook: every problem with its line
├── UnreadableDocument    a file the import cannot read: an unknown kind, damaged, a scan without text
└── ShelfError            staging or publishing refused: an unknown name, a title another book has
"""


class RulebookError(ValueError):
    """Base of every error the knowledge package raises on purpose; str() is a Chinese message."""


class UnreadableDocument(RulebookError):
    """The file cannot be turned into text: its kind is not supported, it is damaged, or it has no text layer."""


class ShelfError(RulebookError):
    """A staging or publishing request that cannot be carried out."""

"""How a long build (the first start's index, the examples it learns from) says how far it is.

The caller passes a callback and decides what to show (the bot prints it and puts it on its chat
page); the rules engine only counts.
"""

from collections.abc import Callable

# progress(stage, done, total): `done` of the stage's `total` items are finished.
Progress = Callable[[str, int, int], None]
# The stages of a first start, in order: embedding the rulebooks' passages, then the example
# questions the engine learns from.
PASSAGES, EXAMPLES = "passages", "examples"


def silent(stage: str, done: int, total: int) -> None:
    """Nobody is watching."""

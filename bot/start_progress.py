"""What the first start says while the rules engine is built: how far it is and how long it will
take, in the terminal and (without a token) on the sandbox chat page.

The engine only counts (retrieval.progress); the words and the estimate are made here. Later
starts load the stored index and say nothing.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from retrieval.progress import EXAMPLES, PASSAGES

STAGE_LABEL = {PASSAGES: "正在建立规则索引", EXAMPLES: "正在学习示例问题"}
# The terminal gets a line at most this often (and at each stage's end); the page reads every count.
PRINT_EVERY_S = 5.0


@dataclass(frozen=True)
class Preparing:
    """One report: the stage's words with its count and estimate, and the count itself."""

    text: str
    done: int
    total: int


def duration(seconds: float) -> str:
    """A rough remaining time in Chinese: "约40秒", "约3分钟"."""
    if seconds < 60:
        return f"约{max(5, round(seconds / 5) * 5)}秒"
    return f"约{round(seconds / 60)}分钟"


def terminal(line: str) -> None:
    print(line, flush=True)


class StartProgress:
    """A retrieval.progress callback: each count becomes a Preparing report for `show` (the page),
    and a line with the estimate for `print_line` (the terminal), every PRINT_EVERY_S at most."""

    def __init__(
        self,
        show: Callable[[Preparing], None] = lambda report: None,
        print_line: Callable[[str], None] = terminal,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._print_line, self._show, self._clock = print_line, show, clock
        self._stage: str | None = None
        self._stage_started = self._last_print = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self._clock()
        if stage != self._stage:
            self._stage, self._stage_started, self._last_print = stage, now, float("-inf")
        text = f"{STAGE_LABEL.get(stage, '正在准备')}（{done}/{total}）"
        elapsed = now - self._stage_started
        if 0 < done < total and elapsed > 0:
            text += f"，预计还需{duration(elapsed / done * (total - done))}"
        self._show(Preparing(text, done, total))
        if done == total or now - self._last_print >= PRINT_EVERY_S:
            self._last_print = now
            self._print_line(text + ("" if done < total else f"，用时{round(elapsed)}秒"))

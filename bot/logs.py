"""Logging for the `zhengwu` command: one line per record, secrets never written.

Log records carry ids and kinds, not what people wrote (handlers.common.describe). Secrets (the
bot token, the LLM key) can still reach a record through a library's message or a traceback, e.g.
PTB's "The token `…` was rejected by the server."; the formatter masks them in the final text.
"""

import logging
from collections.abc import Iterable

QUIET_LIBRARIES = ("httpx", "jieba", "chromadb", "bm25s", "apscheduler", "alembic")


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self._secrets = list(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every non-empty secret in it replaced by <secret>."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<secret>")
    return text


def configure(secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)

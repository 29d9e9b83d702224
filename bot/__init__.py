"""zhengwu-bot: the application, its configuration, storage and the domain services."""

import os

# Opt into PTB's timedelta durations (RetryAfter.retry_after) now, as its next major version will.
os.environ.setdefault("PTB_TIMEDELTA", "1")

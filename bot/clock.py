"""The current time, in one replaceable place so tests can move it."""

from datetime import date, datetime
from zoneinfo import ZoneInfo


class Clock:
    """Local time in the office's time zone; `set` freezes it (tests, `zhengwu deliver --at`)."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        return self._frozen or datetime.now(self.zone)

    def today(self) -> date:
        return self.now().date()

    def set(self, moment: datetime) -> None:
        self._frozen = moment if moment.tzinfo else moment.replace(tzinfo=self.zone)

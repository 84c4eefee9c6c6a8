"""Calendar months in UTC, the unit of partitions and reports."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, value: str) -> Month:
        """Parse `YYYY-MM`; raise ValueError naming the value otherwise."""
        match = _MONTH.match(value)
        if match is None or not 1 <= int(match[2]) <= 12:
            raise ValueError(f"invalid month {value!r}: use YYYY-MM, for example 2025-03")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def containing(cls, moment: datetime) -> Month:
        utc = moment.astimezone(UTC)
        return cls(utc.year, utc.month)

    @property
    def start(self) -> datetime:
        """First instant of the month, UTC."""
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """First instant of the next month, UTC (exclusive bound)."""
        return self.next().start

    def next(self) -> Month:
        if self.month == 12:
            return Month(self.year + 1, 1)
        return Month(self.year, self.month + 1)

    def previous(self) -> Month:
        if self.month == 1:
            return Month(self.year - 1, 12)
        return Month(self.year, self.month - 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

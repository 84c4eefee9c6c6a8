"""Injectable clocks: every piece of code that reads the time calls one of these."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import structlog

log = structlog.get_logger()


class Clock(Protocol):
    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that moves only when `advance` or `set` is called, for tests and the demo."""

    def __init__(self, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError(f"FrozenClock needs a timezone-aware start time, got {start!r}")
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError(f"FrozenClock needs a timezone-aware time, got {moment!r}")
        self._now = moment


class OffsetClock:
    """The system time moved forward by an offset that only grows, for demos and end-to-end tests.

    Unlike `FrozenClock`, time keeps running between calls, so timeouts, token lifetimes
    and retry delays behave as in production. The offset lets a demo jump past an SLA
    deadline or a month end without waiting.
    """

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        if offset < timedelta(0):
            raise ValueError(f"An OffsetClock only moves forward; got the offset {offset}")
        self._offset = offset

    @property
    def offset(self) -> timedelta:
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by `delta` and return the new time."""
        if delta < timedelta(0):
            raise ValueError(f"An OffsetClock only moves forward; got {delta}")
        self._set_offset(self.offset + delta)
        return self.now()

    def advance_to(self, moment: datetime) -> datetime:
        """Move the clock forward to `moment`; a moment already past leaves it unchanged."""
        if moment.tzinfo is None:
            raise ValueError(f"OffsetClock needs a timezone-aware time, got {moment!r}")
        gap = moment - self.now()
        if gap > timedelta(0):
            self._set_offset(self.offset + gap)
        return self.now()

    def _set_offset(self, offset: timedelta) -> None:
        self._offset = offset


class FileOffsetClock(OffsetClock):
    """An `OffsetClock` whose offset lives in a file, so that several processes share it.

    The file contains the offset in seconds as a decimal number. Each read checks the file's
    inode, modification time and size and parses it again only when one changed, so a process
    reads a new offset at its next `now()`. A file that cannot be read or parsed keeps the
    last good offset, with a warning in the log.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ValueError(
                f"Clock offset file {self.path} not found: create it with the offset in seconds, such as 0"
            )
        self._stamp: tuple[int, int, int] | None = None
        super().__init__(self._read())

    @property
    def offset(self) -> timedelta:
        try:
            status = self.path.stat()
        except OSError as exc:
            log.warning("clock.offset_file.unreadable", path=str(self.path), error=repr(exc))
            return self._offset
        if (status.st_ino, status.st_mtime_ns, status.st_size) != self._stamp:
            try:
                self._offset = self._read()
            except (OSError, ValueError) as exc:
                log.warning("clock.offset_file.invalid", path=str(self.path), error=repr(exc))
        return self._offset

    def _read(self) -> timedelta:
        status = self.path.stat()
        seconds = float(self.path.read_text().strip())
        if seconds < 0:
            raise ValueError(f"the offset {seconds} in {self.path} is negative; the clock only moves forward")
        self._stamp = (status.st_ino, status.st_mtime_ns, status.st_size)
        return timedelta(seconds=seconds)

    def _set_offset(self, offset: timedelta) -> None:
        write_clock_offset(self.path, offset)
        self._offset = offset


def write_clock_offset(path: str | Path, offset: timedelta) -> None:
    """Write an offset file for `FileOffsetClock`; the rename makes readers see all or nothing."""
    path = Path(path)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staging.write_text(f"{offset.total_seconds():.6f}\n")
    os.replace(staging, path)

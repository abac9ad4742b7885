"""The clock seam: every "now" of authspec comes from a Clock, never from ``datetime.now()``.

``SystemClock`` is the real one; ``MovableClock`` can be frozen, advanced and set, which tests
use to reach expiry in microseconds and the mock exposes through ``/__mock/clock``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current UTC time."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class MovableClock:
    """A clock offset from the wall clock (or frozen at an instant) that can be moved."""

    def __init__(self, frozen_at: datetime | None = None) -> None:
        self._offset = timedelta(0)
        self._frozen_at = frozen_at

    def now(self) -> datetime:
        if self._frozen_at is not None:
            return self._frozen_at + self._offset
        return datetime.now(UTC) + self._offset

    @property
    def offset_seconds(self) -> float:
        """How far this clock is ahead of where it started (frozen) or of the wall clock."""
        return self._offset.total_seconds()

    def advance(self, seconds: float) -> datetime:
        """Move forward by ``seconds`` (backward when negative); returns the new now."""
        self._offset += timedelta(seconds=seconds)
        return self.now()

    def set(self, moment: datetime) -> datetime:
        """Jump to ``moment``; a running clock keeps running from there."""
        if moment.tzinfo is None:
            raise ValueError("the clock is set with a timezone-aware instant")
        base = self._frozen_at if self._frozen_at is not None else datetime.now(UTC)
        self._offset = moment - base
        return self.now()

    def reset(self) -> None:
        """Back to where it started: no offset."""
        self._offset = timedelta(0)

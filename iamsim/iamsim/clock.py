"""The server's notion of "now": real UTC time shifted by --clock-offset-days.

Scenario ages (created_days_ago, activity days_ago) count back from the server start, so a
scenario means the same thing whenever the server runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

_offset = timedelta(0)
_start: datetime | None = None


def configure(offset_days: float) -> None:
    global _offset, _start
    _offset = timedelta(days=offset_days)
    _start = now()


def now() -> datetime:
    return datetime.now(timezone.utc) + _offset


def naive_now() -> datetime:
    """moto keeps naive UTC datetimes; this is now() in that form."""
    return now().replace(tzinfo=None)


def stamp() -> datetime:
    """naive_now() in whole seconds, as AWS timestamps are."""
    return naive_now().replace(microsecond=0)


def days_before_start(days: float) -> datetime:
    """A naive UTC datetime `days` before the server started (as moto stores dates)."""
    start = _start or now()
    return (start - timedelta(days=days)).replace(tzinfo=None, microsecond=0)


def days_before_now(days: float) -> datetime:
    """A naive UTC datetime `days` before this moment, in whole seconds."""
    return (now() - timedelta(days=days)).replace(tzinfo=None, microsecond=0)

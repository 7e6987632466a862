"""Times and durations for people: ISO 8601 UTC times and ISO 8601 durations. Every message
and every text output that shows a time or a duration writes it with these two, in whichever
layer it is written (the CLI's time_text and duration_text are these functions)."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["duration_text", "time_text"]


def time_text(t: int) -> str:
    """``t`` (seconds since the epoch) for people, as the CLI's TIME reads it back:
    ``2026-01-01T00:00:00Z``, or the number of seconds beyond the years 1..9999."""
    try:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(t)


def duration_text(seconds: int) -> str:
    """``seconds`` as an ISO 8601 duration in days, hours, minutes and seconds, as the CLI's
    duration options read it back: ``P8DT12H``, ``PT30S``, ``PT0S``; negative ``-P1D``."""
    sign, n = ("-", -seconds) if seconds < 0 else ("", seconds)
    days, rest = divmod(n, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if v)
    text = (f"{days}D" if days else "") + (f"T{clock}" if clock else "")
    return f"{sign}P{text or 'T0S'}"

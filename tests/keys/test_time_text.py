"""keys.time_text and keys.duration_text: the one way times and durations are written for
people, ISO 8601 both (the CLI's time_text and duration_text are these)."""

from __future__ import annotations

import pytest

from keys import duration_text, time_text


@pytest.mark.parametrize(
    ("t", "text"),
    [(0, "1970-01-01T00:00:00Z"), (1814313600, "2027-06-30T00:00:00Z"),
     (10**12, "1000000000000")],
)  # fmt: skip
def test_time_text(t, text):
    assert time_text(t) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "PT0S"), (45, "PT45S"), (3600, "PT1H"), (8 * 86400 + 12 * 3600, "P8DT12H"),
     (735238, "P8DT12H13M58S"), (7 * 86400, "P7D"), (90, "PT1M30S"), (-86400, "-P1D")],
)  # fmt: skip
def test_duration_text(seconds, text):
    assert duration_text(seconds) == text

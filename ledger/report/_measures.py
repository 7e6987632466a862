"""The report's measures and its output form: months, exact rates, nearest-rank quantiles,
duration buckets, the headline and the canonical report.json bytes. Pure."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

__all__ = [
    "AGE_BUCKETS",
    "DAY",
    "DURATION_BUCKETS",
    "REPORT_FORMAT",
    "bucket",
    "headline",
    "month_of",
    "month_span",
    "nearest_rank",
    "nearest_rank_position",
    "rate",
    "report_json_bytes",
]

REPORT_FORMAT = "lic-ledger transparency report v1"
DAY = 86400
# Upper bounds (exclusive) of the duration histogram buckets, in seconds; the last is open.
DURATION_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("lt_1h", 3600),
    ("1h_1d", DAY),
    ("1d_7d", 7 * DAY),
    ("7d_30d", 30 * DAY),
    ("ge_30d", None),
)
AGE_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("lt_7d", 7 * DAY),
    ("7d_30d", 30 * DAY),
    ("30d_90d", 90 * DAY),
    ("ge_90d", None),
)


def month_of(t: int) -> str:
    """The calendar month (UTC) of a time, as YYYY-MM."""
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m")


def month_span(t: int) -> tuple[int, int, str]:
    """The calendar month (UTC) of a time: its first second, the first second of the next
    month (or ``t + 1`` past the calendar's end) and ``month_of(t)``."""
    d = datetime.fromtimestamp(t, tz=UTC)
    first = datetime(d.year, d.month, 1, tzinfo=UTC)
    try:
        after = int(datetime(d.year + d.month // 12, d.month % 12 + 1, 1, tzinfo=UTC).timestamp())
    except ValueError:
        after = t + 1
    return int(first.timestamp()), after, d.strftime("%Y-%m")


def rate(num: int | None, den: int | None) -> float | None:
    """num/den rounded half-even to 4 decimals, exactly; None if either is withheld or den is 0."""
    if num is None or den is None or den == 0:
        return None
    return float(round(Fraction(num, den), 4))


def nearest_rank_position(n: int, q: Fraction) -> int:
    """The rank (1-based) of the q-quantile of n values by the nearest-rank method: ceil(q*n),
    at least 1."""
    return max(1, -((-q.numerator * n) // q.denominator))


def nearest_rank(sorted_values: list[int], q: Fraction) -> int:
    """The q-quantile by the nearest-rank method: the value at rank ceil(q*n) (1-based)."""
    return sorted_values[nearest_rank_position(len(sorted_values), q) - 1]


def bucket(value: int, buckets: tuple[tuple[str, int | None], ...]) -> str:
    """The name of the first bucket whose (exclusive) upper bound is above ``value``."""
    for name, upper in buckets:
        if upper is None or value < upper:
            return name
    raise AssertionError("the last bucket is open")


def headline(report: dict[str, Any]) -> dict[str, Any]:
    """The numbers the page shows first (each also appears in its section)."""
    access, incidents = report["access"], report["incidents"]
    return {
        "size": report["integrity"]["size"],
        "findings": report["integrity"]["findings"],
        "requests": access["requests"]["count"],
        "approval_rate": access["outcomes"]["approval_rate"],
        "denial_rate": access["outcomes"]["denial_rate"],
        "median_decision_latency": access["decision_latency"]["median"],
        "appeals": report["appeals"]["filed"]["count"],
        "appeal_rate": report["appeals"]["rate"],
        "active_licenses": report["licenses"]["status"]["active"]["count"],
        "revocations": report["withdrawals"]["revoked"]["entries"]["total"]["count"],
        "suspensions": report["withdrawals"]["suspended"]["entries"]["total"]["count"],
        "incidents": incidents["reported"]["count"],
        "open_incidents": incidents["open"]["count"],
        "median_time_to_acknowledge": incidents["time_to_acknowledge"]["median"],
        "provenance_coverage": report["provenance"]["dataset_attestations"]["share"],
        "terms_notice_not_honoured": report["terms"]["notice_not_honoured"],
    }


def report_json_bytes(report: dict[str, Any]) -> bytes:
    """The canonical report.json bytes: sorted keys, 2-space indent, ASCII, no NaN, final newline.

    Floats appear only as rates already rounded to 4 decimals; they print as Python's shortest
    round-trip repr, which is fixed for a given double.
    """
    _check_values(report)
    # json.dumps(report, sort_keys=True, indent=2, ensure_ascii=True, allow_nan=False), written
    # piece by piece: dumps keeps every piece in a list before joining them, which for a large
    # report is several times the size of its text
    encoder = json.JSONEncoder(sort_keys=True, indent=2, ensure_ascii=True, allow_nan=False)
    out = io.BytesIO()
    for piece in encoder.iterencode(report):
        out.write(piece.encode("ascii"))
    out.write(b"\n")
    return out.getvalue()


def _check_values(value: Any, path: str = "$") -> None:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")) or round(value, 4) != value:
            raise ValueError(f"{path}: floats in a report are rates rounded to 4 decimals")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: report keys are strings")
            _check_values(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_values(item, f"{path}[{i}]")
    elif not (value is None or isinstance(value, bool | int | str)):
        raise ValueError(f"{path}: {type(value).__name__} is not a report value")

"""The text lines of a license decision, the same for ``lic token check`` and ``lic verify``:
each reason with its expected and actual values, then each duty that applies with its
parameters. (The JSON of a decision is ``lic.Decision.to_dict``, for both commands.)"""

from __future__ import annotations

import lic


def decision_lines(decision: lic.Decision) -> list[str]:
    """One indented line per reason (field, message, expected, got) and per duty."""
    lines = []
    for r in decision.reasons:
        got = "(not given)" if r.actual is None else r.actual
        lines.append(f"  {r.effect:13s} {r.field}: {r.message}; expected {r.expected}; got {got}")
    for duty, params in decision.duties:
        extra = " ".join(f"{k}={v}" for k, v in params)
        lines.append(f"  duty          {duty}{' ' + extra if extra else ''}")
    return lines

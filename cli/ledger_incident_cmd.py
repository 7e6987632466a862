"""``lic ledger incident ...``: incident reports and their handling, with timestamps."""

from __future__ import annotations

from typing import Any

import click

import lic
from keys import SigningKey

from ._codes import CLOSE_OUTCOME_CHOICES, INCIDENT_KIND_CHOICES, SEVERITY_CHOICES
from ._ledgeropts import append_typed, author_options, token_digest
from ._params import TIME

__all__ = ["incident_group"]


@click.group("incident")
def incident_group() -> None:
    """Report incidents and record their handling, with timestamps."""


@incident_group.command("report")
@click.option(
    "--kind", type=click.Choice(INCIDENT_KIND_CHOICES), default="incident", show_default=True
)
@click.option("--harm", "harms", multiple=True, required=True)
@click.option("--severity", type=click.Choice(SEVERITY_CHOICES), required=True)
@click.option("--affected", multiple=True)
@click.option(
    "--jurisdiction", "jurisdictions", multiple=True, help="A region code (any letter case)."
)
@click.option("--token", "tokens", multiple=True, help="A related token (digest or file).")
@click.option("--occurred-at", type=TIME)
@click.option("--description", required=True)
@click.option("--anonymous", is_flag=True, help="Sign with a one-time key (no --key needed).")
@author_options()
def incident_report(
    kind: str,
    harms: tuple[str, ...],
    severity: str,
    affected: tuple[str, ...],
    jurisdictions: tuple[str, ...],
    tokens: tuple[str, ...],
    occurred_at: int | None,
    description: str,
    anonymous: bool,
    **opts: Any,
) -> None:
    """Report an incident or hazard (anyone may; --anonymous signs with a one-time key)."""
    p: dict[str, Any] = {
        "kind": kind,
        "harms": list(harms),
        "severity": severity,
        "affected": list(affected),
        "jurisdictions": [lic.normalize_region(j, "--jurisdiction") for j in jurisdictions],
        "description": description,
    }
    if tokens:
        p["tokens"] = [token_digest(t) for t in tokens]
    if occurred_at is not None:
        p["occurred_at"] = occurred_at
    author = SigningKey.generate() if anonymous else None
    if author is not None:
        p["signer"] = author.public_key.raw
    append_typed(opts, "incident.report", lambda *_: p, author=author)


def _incident_step(entry_type: str, doc: str, fields: list[Any]) -> Any:
    """A command appending ``entry_type`` for incident N, with the payload ``fields``."""

    @click.argument("incident", type=click.IntRange(min=0))
    @author_options()
    def cmd(incident: int, **opts: Any) -> None:
        p: dict[str, Any] = {"incident": incident}
        for name in [f.name for f in fields]:
            value = opts.pop(name)
            if value not in (None, ()):
                p[name] = list(value) if isinstance(value, tuple) else value
        append_typed(opts, entry_type, lambda *_: p)

    cmd.__doc__ = doc
    for f in reversed(fields):
        cmd = f(cmd)
    return cmd


def _opt(name: str, **kw: Any) -> Any:
    deco = click.option(f"--{name}", name, **kw)
    deco.name = name  # type: ignore[attr-defined]
    return deco


incident_group.command("ack")(_incident_step("incident.ack", "Acknowledge incident N.", []))
incident_group.command("update")(
    _incident_step(
        "incident.update",
        "Add an update to incident N.",
        [
            _opt("note", required=True),
            _opt("severity", type=click.Choice(SEVERITY_CHOICES)),
        ],
    )
)
incident_group.command("respond")(
    _incident_step(
        "incident.respond",
        "Record a response (mitigation) to incident N.",
        [_opt("action", required=True)],
    )
)
incident_group.command("remediate")(
    _incident_step(
        "incident.remediate",
        "Record a remediation of incident N, with the revocations it led to.",
        [
            _opt("action", required=True),
            _opt("revocations", multiple=True, type=click.IntRange(min=0)),
        ],
    )
)
incident_group.command("close")(
    _incident_step(
        "incident.close",
        "Close incident N with an outcome and a public summary.",
        [
            _opt("outcome", required=True, type=click.Choice(CLOSE_OUTCOME_CHOICES)),
            _opt("summary", required=True),
        ],
    )
)

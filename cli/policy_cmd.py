"""``lic policy ...``: write the trust policy a bundle verifier uses (SPEC 10.3)."""

from __future__ import annotations

from pathlib import Path

import click

from ledger.bundle import TrustPolicy
from lic import parse_duration

from ._keyopts import keyring_option, load_trust_store, trust_option
from ._output import emit, json_option
from ._params import duration_text

__all__ = ["policy_group"]


@click.group("policy")
def policy_group() -> None:
    """Trust policies for offline bundle verification ('lic verify --policy')."""


@policy_group.command("create")
@click.option(
    "--quorum",
    type=click.IntRange(min=1),
    default=None,
    help="How many distinct trusted witnesses must have cosigned the checkpoint.",
)
@click.option(
    "--no-witnesses",
    "no_witnesses",
    is_flag=True,
    help="Believe the log's signature alone: no witness quorum, no checkpoint age "
    "(the trust store must have no witness keys; excludes --quorum).",
)
@click.option(
    "--max-age",
    "max_age",
    required=True,
    metavar="DURATION",
    help="The oldest checkpoint accepted, as an ISO 8601 duration (e.g. P7D).",
)
@click.option(
    "-o",
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The policy file to write.",
)
@trust_option
@keyring_option
@json_option
def create_cmd(
    quorum: int | None,
    no_witnesses: bool,
    max_age: str,
    out: Path,
    trust_file: Path | None,
    keyring_dir: Path | None,
    as_json: bool,
) -> None:
    """Write a policy from a trust store: its issuer, log and witness keys, a witness quorum
    and a maximum checkpoint age. Build the trust store first with 'lic trust add'."""
    if no_witnesses and quorum is not None:
        raise click.UsageError("--no-witnesses and --quorum exclude each other")
    if not no_witnesses and quorum is None:
        raise click.UsageError("give --quorum K (witnesses needed) or --no-witnesses")
    store = load_trust_store(keyring_dir, trust_file)
    if quorum is not None and not store.by_role("witness"):
        raise click.UsageError(
            "the trust store has no witness keys: add one ('lic trust add --role witness') or "
            "make a policy that believes the log alone with --no-witnesses"
        )
    policy = TrustPolicy(store, quorum or 0, parse_duration(max_age, "--max-age"), no_witnesses)
    policy.save(out)
    info = {
        "out": str(out),
        "quorum": policy.quorum,
        "no_witnesses": no_witnesses,
        "witnesses": policy.witness_count,
        "max_age": policy.max_age,
        "keys": len(store),
    }
    rule = (
        "log alone, no witness quorum (no cosignature dates a checkpoint: its age is not checked)"
        if no_witnesses
        else f"quorum {quorum} of {policy.witness_count} witnesses, checkpoints up to "
        f"{duration_text(policy.max_age)} old"
    )
    emit(info, as_json=as_json, text=f"wrote {out}: {len(store)} trusted keys, {rule}")

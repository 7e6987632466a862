"""``lic ledger``: the group, and where each of its commands lives (imported when it runs)."""

from __future__ import annotations

import click

from ._lazy import LazyCommand, LazyGroup

__all__ = ["LEDGER_COMMANDS", "ledger_group"]

_LOG = "cli.ledger_log_cmd"
_ENTRIES = "cli.ledger_entries_cmd"
_LICENSES = "cli.ledger_licenses_cmd"

LEDGER_COMMANDS = {
    "add-cosignature": LazyCommand(
        f"{_LOG}:add_cosignature_cmd",
        "Store cosignature lines a witness made offline ('lic witness cosign') with a checkpoint.",
    ),
    "appeal": LazyCommand(
        f"{_ENTRIES}:appeal_group",
        "File and decide appeals against decisions, revocations and suspensions.",
    ),
    "append": LazyCommand(
        f"{_LOG}:append_cmd", "Append one entry durably; prints its index and leaf hash."
    ),
    "attest": LazyCommand(
        f"{_ENTRIES}:attest_cmd",
        "Record a provenance attestation about models or datasets (by digest).",
    ),
    "audit": LazyCommand(
        "cli.ledger_audit_cmd:audit_cmd",
        "Replay the whole ledger and check everything; exit 0 when clean, 1 with findings.",
    ),
    "checkpoint": LazyCommand(
        f"{_LOG}:checkpoint_cmd",
        "Sign a checkpoint at the current size and print it (a C2SP signed note).",
    ),
    "consistency": LazyCommand(
        f"{_LOG}:consistency_cmd",
        "Print an RFC 9162 consistency proof from size M to size N (checked before printing).",
    ),
    "decide": LazyCommand(f"{_ENTRIES}:decide_cmd", "Record the decision on access request N."),
    "export": LazyCommand(
        f"{_LOG}:export_cmd",
        "Export the ledger as JSON lines: a header, every record (index, leaf hash, base64 "
        "bytes), then every checkpoint note.",
    ),
    "grant": LazyCommand(
        f"{_LICENSES}:grant_cmd",
        "Record the grant of TOKEN, signed by the key that signed the token (its issuer, or "
        "for a sublicense its parent's holder).",
    ),
    "import": LazyCommand(
        f"{_LOG}:import_cmd", "Create the ledger --db from an export, re-verifying everything."
    ),
    "incident": LazyCommand(
        "cli.ledger_incident_cmd:incident_group",
        "Report incidents and record their handling, with timestamps.",
    ),
    "init": LazyCommand(
        f"{_LOG}:init_cmd",
        "Create an empty ledger signed by the log key LOGKEY, with its size-0 checkpoint.",
    ),
    "key": LazyCommand(
        f"{_ENTRIES}:key_group",
        "Register, retire or flag keys on the ledger (signed by the log key).",
    ),
    "prove": LazyCommand(
        f"{_LOG}:prove_cmd",
        "Write a C2SP tlog-proof@v1 receipt for record N at the latest checkpoint's size.",
    ),
    "rebuild-state": LazyCommand(
        f"{_LOG}:rebuild_state_cmd",
        "Drop the ledger's derived-state tables and build them again from its records.",
    ),
    "reinstate": LazyCommand(
        f"{_LICENSES}:reinstate_cmd",
        "Reinstate tokens (and, with cascade, every sublicense below them).",
    ),
    "report": LazyCommand(
        "cli.report_cmd:report_cmd",
        "Replay the ledger as the audit does and write report.json and index.html into --out.",
    ),
    "request": LazyCommand(
        f"{_ENTRIES}:request_cmd",
        "Record an access request (the applicant only as a salted commitment).",
    ),
    "revoke": LazyCommand(
        f"{_LICENSES}:revoke_cmd",
        "Revoke tokens (and, with cascade, every sublicense below them).",
    ),
    "show": LazyCommand(
        f"{_LOG}:show_cmd",
        "Show record N: its header fields and its payload, decoded.",
    ),
    "status": LazyCommand(
        f"{_LICENSES}:status_cmd",
        "Say whether TOKEN (a file or its digest) is active, not yet valid, expired, "
        "suspended, revoked or unknown at --at, and which records say so.",
    ),
    "suspend": LazyCommand(
        f"{_LICENSES}:suspend_cmd",
        "Suspend tokens (and, with cascade, every sublicense below them).",
    ),
    "terms": LazyCommand(
        f"{_ENTRIES}:terms_group", "Publish versions of the human-readable license terms."
    ),
    "verify-proof": LazyCommand(
        f"{_LOG}:verify_proof_cmd",
        "Check a tlog-proof@v1 receipt offline against the log's verifier key or a policy.",
    ),
}


@click.group("ledger", cls=LazyGroup, lazy=LEDGER_COMMANDS)
def ledger_group() -> None:
    """The append-only, hash-chained Merkle ledger: records, checkpoints and proofs.

    Records are deterministic CBOR holding a COSE_Sign1 entry signed by its author; the
    tree is RFC 9162; checkpoints are C2SP signed notes by the log key; receipts are C2SP
    tlog-proof@v1.
    """

"""``lic ledger key|terms|request|decide|appeal|attest``: typed entries from the shell.

Each command builds one payload from its options and calls ``ledger.append_entry``, which
checks the schema and the ledger's state before anything is written. Times accept integer
seconds since the epoch or ISO 8601 (``2026-11-27T10:00:00Z``); the default is now.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import click

import lic
from keys import PublicKey, SigningKey, json_loads_strict
from keys.errors import MalformedError
from ledger.entries import (
    MAX_ATTESTATION,
    PUBLISHER_ROLE,
    PUBLISHER_ROLES,
    attestation_payload,
    oms_attestation_payload,
)
from ledger.store import Ledger

from ._codes import APPEAL_OUTCOME_CHOICES, DECISION_CHOICES, KEY_ROLE_CHOICES, TERMS_CHANGE_CHOICES
from ._ledgeropts import append_typed, author_options, commitment, with_commitment
from ._output import read_input
from ._params import DIGEST, TIME, read_public_key

__all__ = ["appeal_group", "attest_cmd", "decide_cmd", "key_group", "request_cmd", "terms_group"]

MAX_TEXT_FILE = 16 * 1024 * 1024
MAX_KEY_FILE = 64 * 1024


def _pem_key(path: Path, role: str) -> bytes:
    """A publisher key's or a publisher CA's canonical PEM, from a PEM file."""
    from lic.oms import publisher_key_pem, root_certificate_pem

    canonical = publisher_key_pem if role == PUBLISHER_ROLE else root_certificate_pem
    try:
        return canonical(read_input(path, MAX_KEY_FILE, role.replace("_", " ")))
    except MalformedError as e:
        raise MalformedError(f"{path}: {e}") from e


def _ledger_key(path: Path, role: str | None) -> bytes:
    """The key a key entry names: for role publisher the canonical PEM of an EC public key,
    for publisher_ca that of a root certificate (PEM files); for another role its 32 raw
    Ed25519 bytes; for no role (retire, compromised) whichever of these the file holds."""
    if role in PUBLISHER_ROLES:
        return _pem_key(path, role)
    try:
        return read_public_key(path).raw
    except MalformedError:
        if role is not None:
            raise
    for other in sorted(PUBLISHER_ROLES):
        try:
            return _pem_key(path, other)
        except MalformedError:
            continue
    raise MalformedError(f"{path}: neither an Ed25519 key, an EC publisher key nor a certificate")


# -- keys ---------------------------------------------------------------------------------


@click.group("key")
def key_group() -> None:
    """Register, retire or flag keys on the ledger (signed by the log key)."""


@key_group.command("add")
@click.argument("pubkey", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--role", required=True, type=click.Choice(KEY_ROLE_CHOICES))
@click.option("--name", "key_label", required=True, help="A name for people.")
@click.option("--not-before", type=TIME)
@click.option("--not-after", type=TIME)
@author_options(default_log=True)
def key_add(
    pubkey: Path,
    role: str,
    key_label: str,
    not_before: int | None,
    not_after: int | None,
    **opts: Any,
) -> None:
    """Register PUBKEY (PEM, JWK, verifier key or raw) with a role on the ledger.

    A publisher key (--role publisher) is an EC P-256/P-384/P-521 public key (PEM), the key a
    model publisher signs OMS signature files with; a publisher CA (--role publisher_ca) is a
    root certificate (PEM) to which files signed through a certificate chain must lead. Both
    only verify OMS signature files ('lic ledger attest --oms') and never sign ledger
    entries."""
    p: dict[str, Any] = {"key": _ledger_key(pubkey, role), "role": role, "name": key_label}
    p.update({k: v for k, v in (("not_before", not_before), ("not_after", not_after)) if v})
    append_typed(opts, "key.add", lambda *_: p, default_log=True)


@key_group.command("retire")
@click.argument("pubkey", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--effective", type=TIME, default="now", help="From when it may not sign.")
@author_options(default_log=True)
def key_retire(pubkey: Path, effective: int, **opts: Any) -> None:
    """Retire PUBKEY: entries it signs from --effective on are refused.

    For a publisher key or CA: OMS signature files recorded from then on no longer verify
    under it."""
    p = {"key": _ledger_key(pubkey, None), "effective": effective}
    append_typed(opts, "key.retire", lambda *_: p, default_log=True)


@key_group.command("compromised")
@click.argument("pubkey", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--since", type=TIME, required=True, help="When the key was compromised.")
@author_options(default_log=True)
def key_compromised(pubkey: Path, since: int, **opts: Any) -> None:
    """Flag PUBKEY as compromised since a time: signatures made after it are invalid.

    For a publisher key or CA: OMS signature files recorded from then on no longer verify
    under it."""
    p = {"key": _ledger_key(pubkey, None), "since": since}
    append_typed(opts, "key.compromised", lambda *_: p, default_log=True)


# -- terms --------------------------------------------------------------------------------


@click.group("terms")
def terms_group() -> None:
    """Publish versions of the human-readable license terms."""


@terms_group.command("publish")
@click.option("--id", "terms_id", required=True)
@click.option("--version", "version", required=True)
@click.option(
    "--text",
    "text",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The terms text; its SHA-256 is recorded.",
)
@click.option("--effective", type=TIME, required=True)
@click.option("--notice-days", type=click.IntRange(0, 3650), default=30, show_default=True)
@click.option("--sunset", type=TIME)
@click.option("--supersedes", help="The version this one replaces.")
@click.option(
    "--change",
    type=click.Choice(TERMS_CHANGE_CHOICES),
    default="initial",
    show_default=True,
)
@click.option("--url", help="Where people can read the terms.")
@author_options()
def terms_publish(
    terms_id: str,
    version: str,
    text: Path,
    effective: int,
    notice_days: int,
    sunset: int | None,
    supersedes: str | None,
    change: str,
    url: str | None,
    **opts: Any,
) -> None:
    """Publish a terms version (id, version, digest of the text, dates, notice period)."""
    digest = hashlib.sha256(read_input(text, MAX_TEXT_FILE, "terms text")).digest()
    p: dict[str, Any] = {
        "id": terms_id,
        "version": version,
        "sha256": digest,
        "effective": effective,
        "notice_days": notice_days,
        "change": change,
    }
    p.update(
        {
            k: v
            for k, v in (("sunset", sunset), ("supersedes", supersedes), ("url", url))
            if v is not None
        }
    )
    append_typed(opts, "terms.publish", lambda *_: p)


# -- access and appeals -------------------------------------------------------------------


@click.command("request")
@with_commitment
@click.option("--tier", required=True)
@click.option("--purpose", required=True, help="A purpose code of the vocabulary (SPEC 5.5.2).")
@click.option(
    "--region", required=True, help="ISO 3166-1 alpha-2 or a region group (any letter case)."
)
@click.option("--model", help="The model asked for.")
@author_options()
def request_cmd(
    identifier: str | None,
    salt_file: Path | None,
    given: bytes | None,
    tier: str,
    purpose: str,
    region: str,
    model: str | None,
    **opts: Any,
) -> None:
    """Record an access request (the applicant only as a salted commitment)."""
    p: dict[str, Any] = {
        "applicant": commitment(identifier, salt_file, given),
        "tier": tier,
        "purpose": purpose,
        "region": lic.normalize_region(region, "--region"),
    }
    if model:
        p["model"] = model
    append_typed(opts, "access.request", lambda *_: p)


@click.command("decide")
@click.option("--request", "request", type=click.IntRange(min=0), required=True)
@click.option("--decision", required=True, type=click.Choice(DECISION_CHOICES))
@click.option("--reason", "reasons", multiple=True, help="A reason code (repeatable).")
@click.option("--rationale")
@click.option("--decided-at", type=TIME, default="now")
@author_options()
def decide_cmd(
    request: int,
    decision: str,
    reasons: tuple[str, ...],
    rationale: str | None,
    decided_at: int,
    **opts: Any,
) -> None:
    """Record the decision on access request N."""
    p: dict[str, Any] = {
        "request": request,
        "decision": decision,
        "reasons": list(reasons),
        "decided_at": decided_at,
    }
    if rationale:
        p["rationale"] = rationale
    append_typed(opts, "access.decision", lambda *_: p)


@click.group("appeal")
def appeal_group() -> None:
    """File and decide appeals against decisions, revocations and suspensions."""


@appeal_group.command("file")
@click.option(
    "--target",
    type=click.IntRange(min=0),
    required=True,
    help="Record index of the decision, revocation or suspension appealed.",
)
@click.option("--grounds", required=True)
@click.option("--filed-at", type=TIME, default="now")
@click.option("--anonymous", is_flag=True, help="Sign with a one-time key (no --key needed).")
@author_options()
def appeal_file(target: int, grounds: str, filed_at: int, anonymous: bool, **opts: Any) -> None:
    """File an appeal."""
    p: dict[str, Any] = {"target": target, "grounds": grounds, "filed_at": filed_at}
    author = SigningKey.generate() if anonymous else None
    if author is not None:
        p["signer"] = author.public_key.raw
    append_typed(opts, "appeal.file", lambda *_: p, author=author)


@appeal_group.command("decide")
@click.option("--appeal", "appeal", type=click.IntRange(min=0), required=True)
@click.option("--outcome", required=True, type=click.Choice(APPEAL_OUTCOME_CHOICES))
@click.option("--rationale", required=True)
@click.option("--independent/--not-independent", default=True, show_default=True)
@click.option("--decided-at", type=TIME, default="now")
@author_options()
def appeal_decide(
    appeal: int, outcome: str, rationale: str, independent: bool, decided_at: int, **opts: Any
) -> None:
    """Decide appeal N."""
    p = {
        "appeal": appeal,
        "outcome": outcome,
        "rationale": rationale,
        "independent": independent,
        "decided_at": decided_at,
    }
    append_typed(opts, "appeal.decide", lambda *_: p)


# -- provenance ---------------------------------------------------------------------------


@click.command("attest")
@click.option(
    "--statement",
    type=click.Path(dir_okay=False, path_type=Path),
    help="An in-toto Statement or DSSE envelope (JSON), recorded as it is.",
)
@click.option(
    "--subject",
    "subjects",
    multiple=True,
    metavar="NAME=SHA256",
    help="A subject by digest (repeatable; without --statement).",
)
@click.option(
    "--oms",
    "oms",
    type=click.Path(dir_okay=False, path_type=Path),
    help="An OMS signature file (model-signing): the model it signs, verified under a "
    "publisher key or CA registered on the ledger.",
)
@click.option("--predicate-type", help="The predicate type URI (without --statement).")
@click.option(
    "--predicate",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The predicate as a JSON file (without --statement).",
)
@click.option("--consent-basis", "consent", multiple=True)
@click.option("--sensitive", multiple=True, help="A sensitive data category (repeatable).")
@click.option("--no-sensitive", is_flag=True, help="Declare that no sensitive data is present.")
@author_options()
def attest_cmd(
    statement: Path | None,
    oms: Path | None,
    subjects: tuple[str, ...],
    predicate_type: str | None,
    predicate: Path | None,
    consent: tuple[str, ...],
    sensitive: tuple[str, ...],
    no_sensitive: bool,
    **opts: Any,
) -> None:
    """Record a provenance attestation about models or datasets (by digest).

    With --oms, the attestation is a model publisher's OMS signature file, recorded as it is
    (at most about 1 MiB): the ledger refuses it unless it verifies under a publisher key
    registered on the ledger ('lic ledger key add --role publisher'), or its certificate chain
    leads to a registered publisher CA, and every audit checks it again. Its subject is the
    signed model directory (name and root)."""
    sens = list(sensitive) if sensitive or no_sensitive else None
    if oms is not None and (statement is not None or subjects or predicate_type or predicate):
        raise click.UsageError(
            "--oms records the signature file alone: no --statement, "
            "--subject, --predicate-type or --predicate"
        )

    def build(led: Ledger | None, _author: SigningKey, progress: Any) -> dict[str, Any]:
        if oms is not None:
            data = read_input(oms, MAX_ATTESTATION, "OMS signature file")
            p = oms_attestation_payload(
                data, at=0, consent_basis=list(consent) or None, sensitive=sens
            )
            p.pop("at")
            return p
        if statement is not None:
            doc = read_input(statement, MAX_ATTESTATION, "attestation")
            known: dict[str, PublicKey] = {}
            if led is not None:  # (with --submit the log's keys are not known here)
                # the append reads the state this handle keeps: the ledger is replayed once
                state = led.state_at(led.size, progress)
                known = {k: PublicKey(raw) for k, raw in state.kids.items()}
            p = attestation_payload(
                doc, at=0, known_keys=known, consent_basis=list(consent) or None, sensitive=sens
            )
            p.pop("at")
            return p
        if not subjects or not predicate_type or predicate is None:
            raise click.UsageError(
                "give --statement FILE, or --subject, --predicate-type and --predicate"
            )
        subs = []
        for s in subjects:
            name, _, hexd = s.rpartition("=")
            subs.append({"name": name or hexd, "sha256": DIGEST.convert(hexd, None, None)})
        p = {"subjects": subs, "predicate_type": predicate_type}
        p["predicate"] = json_loads_strict(
            read_input(predicate, MAX_ATTESTATION, "predicate"),
            max_size=MAX_ATTESTATION,
            what=str(predicate),
        )
        if consent:
            p["consent_basis"] = list(consent)
        if sens is not None:
            p["sensitive"] = sens
        return p

    append_typed(opts, "attest", build)

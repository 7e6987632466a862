"""``lic ledger grant|revoke|...|audit``: the typed entries and the auditor, from the shell.

Each command builds one payload from its options and calls ``ledger.append_entry``, which
checks the schema and the ledger's state before anything is written. Times accept integer
seconds since the epoch or ISO 8601 (``2026-11-27T10:00:00Z``); the default is now.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

import ledger as lg
import lic
from keys import MalformedError, PublicKey, SigningKey, json_loads_strict, load_public_key

from ._keyopts import keyring_option, load_signing_key, passphrase_options
from ._output import emit, json_option, read_input
from ._replayopts import STATE_READ, ReplaySource, replay_options, replay_progress
from .ledger_cmd import db_option, ledger_group

__all__: list[str] = []

MAX_TOKEN_FILE = lic.MAX_TOKEN_SIZE
MAX_TEXT_FILE = 16 * 1024 * 1024


class TimeType(click.ParamType):  # type: ignore[type-arg]
    """Integer seconds since the epoch, ISO 8601 with a zone, or 'now'."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text == "now":
            return int(time.time())
        if text.isdigit():
            return int(text)
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{value!r} is neither seconds since the epoch nor ISO 8601", param, ctx)
        if dt.tzinfo is None:
            self.fail(f"{value!r} has no time zone (add Z for UTC)", param, ctx)
        return int(dt.timestamp())


TIME = TimeType()


class DigestType(click.ParamType):  # type: ignore[type-arg]
    """A SHA-256 digest as 64 hex digits."""

    name = "HEX"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> bytes:
        if isinstance(value, bytes):
            return value
        try:
            raw = bytes.fromhex(str(value))
        except ValueError:
            raw = b""
        if len(raw) != 32:
            self.fail(f"{value!r} is not 64 hex digits", param, ctx)
        return raw


DIGEST = DigestType()


def author_options(default_log: bool = False) -> Callable[[Callable[..., Any]], Any]:
    """--key AUTHORKEY (default: the ledger's log key when ``default_log``), --at, the db and
    keyring options, passphrase options and --json."""

    def wrap(f: Callable[..., Any]) -> Any:
        helptext = "Author key in the keyring" + (
            " (default: the log key)." if default_log else "."
        )
        for deco in reversed(
            [
                click.option("--key", "key_name", metavar="AUTHORKEY", help=helptext),
                click.option("--at", "at", type=TIME, default="now", help="The author's time."),
                db_option,
                keyring_option,
                passphrase_options,
                json_option,
            ]
        ):
            f = deco(f)
        return f

    return wrap


def _author(led: lg.Ledger, opts: dict[str, Any], default_log: bool) -> SigningKey:
    name = opts.pop("key_name")
    if name is None and default_log:
        name = led.log_key_name
    if name is None:
        raise click.UsageError("give --key AUTHORKEY")
    return load_signing_key(
        opts.pop("keyring_dir"), name, opts.pop("passphrase_file"), opts.pop("passphrase_env")
    )


def _append(
    opts: dict[str, Any],
    entry_type: str,
    build: Callable[[lg.Ledger], dict[str, Any]],
    *,
    default_log: bool = False,
    author: SigningKey | None = None,
) -> None:
    """Open the ledger, build the payload, append it, print index and leaf hash."""
    with lg.Ledger.open(opts.pop("db")) as led, replay_progress(False, STATE_READ) as progress:
        if author is None:
            author = _author(led, opts, default_log)
        payload = {"at": opts.pop("at"), **build(led)}
        a = lg.append_entry(led, entry_type, payload, author, progress=progress)
    info = {"index": a.index, "leaf_hash": a.leaf_hash.hex(), "type": entry_type}
    emit(info, as_json=opts["as_json"], text=f"{entry_type}: appended as record {a.index}")


def _pubkey_file(path: Path) -> bytes:
    return load_public_key(read_input(path, 64 * 1024, f"public key {path}")).raw


def _token_digest(text: str) -> bytes:
    """A token digest (64 hex digits) or a token file."""
    try:
        raw = bytes.fromhex(text)
        if len(raw) == 32:
            return raw
    except ValueError:
        pass
    path = Path(text)
    if not path.is_file():
        raise MalformedError(f"{text!r} is neither a token digest (64 hex digits) nor a token file")
    return lic.token_digest(read_input(path, MAX_TOKEN_FILE, "token").strip())


# -- keys ---------------------------------------------------------------------------------


@ledger_group.group("key")
def key_group() -> None:
    """Register, retire or flag keys on the ledger (signed by the log key)."""


@key_group.command("add")
@click.argument("pubkey", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--role", required=True, type=click.Choice(sorted(lg.KEY_ROLES)))
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
    """Register PUBKEY (PEM, JWK, verifier key or raw) with a role on the ledger."""
    p: dict[str, Any] = {"key": _pubkey_file(pubkey), "role": role, "name": key_label}
    p.update({k: v for k, v in (("not_before", not_before), ("not_after", not_after)) if v})
    _append(opts, "key.add", lambda led: p, default_log=True)


@key_group.command("retire")
@click.argument("pubkey", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--effective", type=TIME, default="now", help="From when it may not sign.")
@author_options(default_log=True)
def key_retire(pubkey: Path, effective: int, **opts: Any) -> None:
    """Retire PUBKEY: entries it signs from --effective on are refused."""
    p = {"key": _pubkey_file(pubkey), "effective": effective}
    _append(opts, "key.retire", lambda led: p, default_log=True)


@key_group.command("compromised")
@click.argument("pubkey", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--since", type=TIME, required=True, help="When the key was compromised.")
@author_options(default_log=True)
def key_compromised(pubkey: Path, since: int, **opts: Any) -> None:
    """Flag PUBKEY as compromised since a time: signatures made after it are invalid."""
    p = {"key": _pubkey_file(pubkey), "since": since}
    _append(opts, "key.compromised", lambda led: p, default_log=True)


# -- terms --------------------------------------------------------------------------------


@ledger_group.group("terms")
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
    type=click.Choice(["initial", "editorial", "minor", "material"]),
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
    _append(opts, "terms.publish", lambda led: p)


# -- access and appeals -------------------------------------------------------------------


def _commitment(identifier: str | None, salt_file: Path | None, given: bytes | None) -> bytes:
    if given is not None:
        return given
    if identifier is None or salt_file is None:
        raise click.UsageError("give --commitment HEX, or --applicant ID with --salt-file FILE")
    if not salt_file.exists():
        fd = os.open(salt_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
        click.echo(f"created salt {salt_file}: hand it to the person; keep no copy", err=True)
    return lg.commitment(read_input(salt_file, 1024, "salt"), identifier)


commitment_options = [
    click.option("--applicant", "identifier", help="The person's identifier (not recorded)."),
    click.option(
        "--salt-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Salt for the commitment (created if missing).",
    ),
    click.option("--commitment", "given", type=DIGEST, help="A ready salted commitment."),
]


def with_commitment(f: Callable[..., Any]) -> Any:
    for deco in reversed(commitment_options):
        f = deco(f)
    return f


@ledger_group.command("request")
@with_commitment
@click.option("--tier", required=True)
@click.option("--purpose", required=True)
@click.option("--region", required=True, help="ISO 3166-1 alpha-2 or a region group.")
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
        "applicant": _commitment(identifier, salt_file, given),
        "tier": tier,
        "purpose": purpose,
        "region": region,
    }
    if model:
        p["model"] = model
    _append(opts, "access.request", lambda led: p)


@ledger_group.command("decide")
@click.option("--request", "request", type=click.IntRange(min=0), required=True)
@click.option(
    "--decision",
    required=True,
    type=click.Choice(["approved", "approved_with_conditions", "denied", "needs_information"]),
)
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
    _append(opts, "access.decision", lambda led: p)


@ledger_group.group("appeal")
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
    _append(opts, "appeal.file", lambda led: p, author=author)


@appeal_group.command("decide")
@click.option("--appeal", "appeal", type=click.IntRange(min=0), required=True)
@click.option("--outcome", required=True, type=click.Choice(["upheld", "overturned", "modified"]))
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
    _append(opts, "appeal.decide", lambda led: p)


# -- grants and withdrawals ---------------------------------------------------------------


@ledger_group.command("grant")
@click.argument("token", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@with_commitment
@click.option(
    "--request",
    "request",
    type=click.IntRange(min=0),
    help="The access request this grant answers.",
)
@author_options()
def grant_cmd(
    token: Path,
    identifier: str | None,
    salt_file: Path | None,
    given: bytes | None,
    request: int | None,
    **opts: Any,
) -> None:
    """Record the grant of TOKEN, signed by the key that signed the token (its issuer, or for a
    sublicense its parent's holder). The licensee appears only as a salted commitment of the
    token's subject (default identifier: the token's sub)."""
    raw = read_input(token, MAX_TOKEN_FILE, "token").strip()
    with lg.Ledger.open(opts["db"]) as led:
        author = _author(led, opts, False)
    tok = lic.verify_with_key(raw, author.public_key, now=max(opts["at"], 0))
    licensee = _commitment(identifier or tok.sub, salt_file, given)
    p = lg.grant_payload(tok, licensee, at=opts["at"], request=request)
    p.pop("at")
    _append(opts, "grant", lambda led: p, author=author)


def withdrawal_command(entry_type: str, verb: str, reasons: list[str] | None) -> Any:
    @click.option(
        "--token",
        "tokens",
        multiple=True,
        help="A token digest (64 hex digits) or a token file (repeatable).",
    )
    @click.option("--licensee", type=DIGEST, help="Every token of this licensee commitment.")
    @click.option(
        "--reason", required=reasons is not None, type=click.Choice(reasons) if reasons else None
    )
    @click.option("--effective", type=TIME, default="now")
    @click.option(
        "--cascade/--no-cascade",
        default=True,
        show_default=True,
        help="Also every sublicense below.",
    )
    @click.option(
        "--incident",
        "incidents",
        multiple=True,
        type=click.IntRange(min=0),
        help="A linked incident report (record index, repeatable).",
    )
    @click.option("--note")
    @author_options()
    def cmd(
        tokens: tuple[str, ...],
        licensee: bytes | None,
        reason: str | None,
        effective: int,
        cascade: bool,
        incidents: tuple[int, ...],
        note: str | None,
        **opts: Any,
    ) -> None:
        p: dict[str, Any] = {"effective": effective, "cascade": cascade}
        if tokens:
            p["tokens"] = [_token_digest(t) for t in tokens]
        if licensee is not None:
            p["licensee"] = licensee
        if reason is not None:
            p["reason"] = reason
        if incidents:
            p["incidents"] = list(incidents)
        if note:
            p["note"] = note
        _append(opts, entry_type, lambda led: p)

    cmd.__doc__ = f"{verb} tokens (and, with cascade, every sublicense below them)."
    return cmd


_REASONS = sorted(lg.REVOCATION_REASONS)
ledger_group.command("revoke")(withdrawal_command("revoke", "Revoke", _REASONS))
ledger_group.command("suspend")(withdrawal_command("suspend", "Suspend", _REASONS))
ledger_group.command("reinstate")(withdrawal_command("reinstate", "Reinstate", None))


@ledger_group.command("status")
@click.argument("token")
@click.option("--at", "at", type=TIME, default="now", help="Status at this time.")
@db_option
@json_option
def status_cmd(token: str, at: int, db: Path, as_json: bool) -> None:
    """Say whether TOKEN (a file or its digest) is active, suspended or revoked, and which
    entries say so. Exit 0 active, 1 suspended or revoked or unknown."""
    digest = _token_digest(token)
    with lg.Ledger.open(db) as led:
        st = lg.token_status(led, digest, at)
    info = {
        "digest": digest.hex(),
        "status": st.status,
        "evidence": list(st.evidence),
        "via": st.via.hex() if st.via else None,
        "at": at,
    }
    via = f" (through parent {st.via.hex()[:16]}...)" if st.via else ""
    emit(
        info,
        as_json=as_json,
        text=f"{st.status}{via}; records: {', '.join(map(str, st.evidence)) or 'none'}",
    )
    if st.status != "active":
        sys.exit(1)


# -- provenance ---------------------------------------------------------------------------


@ledger_group.command("attest")
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
    subjects: tuple[str, ...],
    predicate_type: str | None,
    predicate: Path | None,
    consent: tuple[str, ...],
    sensitive: tuple[str, ...],
    no_sensitive: bool,
    **opts: Any,
) -> None:
    """Record a provenance attestation about models or datasets (by digest)."""
    sens = list(sensitive) if sensitive or no_sensitive else None

    def build(led: lg.Ledger) -> dict[str, Any]:
        if statement is not None:
            doc = read_input(statement, lg.MAX_ATTESTATION, "attestation")
            state = lg.state_of(led.iter_records(), led.log_verifier.public_key.raw)
            known = {k: PublicKey(raw) for k, raw in state.kids.items()}
            p = lg.attestation_payload(
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
            read_input(predicate, lg.MAX_ATTESTATION, "predicate"),
            max_size=lg.MAX_ATTESTATION,
            what=str(predicate),
        )
        if consent:
            p["consent_basis"] = list(consent)
        if sens is not None:
            p["sensitive"] = sens
        return p

    _append(opts, "attest", build)


# -- incidents ----------------------------------------------------------------------------


@ledger_group.group("incident")
def incident_group() -> None:
    """Report incidents and record their handling, with timestamps."""


@incident_group.command("report")
@click.option(
    "--kind", type=click.Choice(["incident", "hazard"]), default="incident", show_default=True
)
@click.option("--harm", "harms", multiple=True, required=True)
@click.option("--severity", type=click.Choice(["low", "medium", "high", "critical"]), required=True)
@click.option("--affected", multiple=True)
@click.option("--jurisdiction", "jurisdictions", multiple=True)
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
        "jurisdictions": list(jurisdictions),
        "description": description,
    }
    if tokens:
        p["tokens"] = [_token_digest(t) for t in tokens]
    if occurred_at is not None:
        p["occurred_at"] = occurred_at
    author = SigningKey.generate() if anonymous else None
    if author is not None:
        p["signer"] = author.public_key.raw
    _append(opts, "incident.report", lambda led: p, author=author)


def incident_step(entry_type: str, doc: str, fields: list[Any]) -> Any:
    @click.argument("incident", type=click.IntRange(min=0))
    @author_options()
    def cmd(incident: int, **opts: Any) -> None:
        p: dict[str, Any] = {"incident": incident}
        for name in [f.name for f in fields]:
            value = opts.pop(name)
            if value not in (None, ()):
                p[name] = list(value) if isinstance(value, tuple) else value
        _append(opts, entry_type, lambda led: p)

    cmd.__doc__ = doc
    for f in reversed(fields):
        cmd = f(cmd)
    return cmd


def _opt(name: str, **kw: Any) -> Any:
    deco = click.option(f"--{name}", name, **kw)
    deco.name = name  # type: ignore[attr-defined]
    return deco


incident_group.command("ack")(incident_step("incident.ack", "Acknowledge incident N.", []))
incident_group.command("update")(
    incident_step(
        "incident.update",
        "Add an update to incident N.",
        [
            _opt("note", required=True),
            _opt("severity", type=click.Choice(["low", "medium", "high", "critical"])),
        ],
    )
)
incident_group.command("respond")(
    incident_step(
        "incident.respond",
        "Record a response (mitigation) to incident N.",
        [_opt("action", required=True)],
    )
)
incident_group.command("remediate")(
    incident_step(
        "incident.remediate",
        "Record a remediation of incident N, with the revocations it led to.",
        [
            _opt("action", required=True),
            _opt("revocations", multiple=True, type=click.IntRange(min=0)),
        ],
    )
)
incident_group.command("close")(
    incident_step(
        "incident.close",
        "Close incident N with an outcome and a public summary.",
        [
            _opt(
                "outcome",
                required=True,
                type=click.Choice(
                    ["remediated", "no_action_needed", "unsubstantiated", "duplicate", "referred"]
                ),
            ),
            _opt("summary", required=True),
        ],
    )
)


# -- the auditor --------------------------------------------------------------------------


@ledger_group.command("audit")
@replay_options
@click.option(
    "--since",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A checkpoint note saved earlier that the ledger must still extend.",
)
@json_option
def audit_cmd(source: ReplaySource, since: Path | None, as_json: bool) -> None:
    """Replay the whole ledger and check everything; exit 0 when clean, 1 with findings.

    Checks encoding, indexes, the prev chain, the Merkle root at every checkpoint and each
    checkpoint's signature, every entry's signature and author role at that time, schemas and
    cross-references; derives the licenses' state, open incidents and terms in force.
    """
    with source.progress() as progress:
        if source.db_path is None:
            assert source.jsonl is not None
            r = lg.audit_jsonl(source.jsonl, since=since, progress=progress,
                               workers=source.workers)  # fmt: skip
        else:
            r = lg.audit_db(source.db_path, since=since, progress=progress,
                            workers=source.workers)  # fmt: skip
    summary = lg.audit_summary(r)
    lines = [
        f"records: {r.size}",
        f"root: {r.root.hex()}",
        f"checkpoints verified: {len(r.checkpoints)}",
        "licenses: " + ", ".join(f"{n} {k}" for k, n in summary["licenses"].items()),
        "open incidents: " + (", ".join(map(str, summary["open_incidents"])) or "none"),
        "terms in force: "
        + (", ".join(f"{k} {v}" for k, v in summary["terms_in_force"].items()) or "none"),
        f"findings: {len(r.findings)}",
        *(f"  {f}" for f in r.findings),
    ]
    emit(summary, as_json=as_json, text="\n".join(lines))
    if r.findings:
        sys.exit(1)

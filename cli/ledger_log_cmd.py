"""``lic ledger init|append|checkpoint|...|import``: the log itself from the shell.

Each command opens the ledger (``--db``, default ``ledger.db`` in the current directory or
``$LIC_LEDGER_DB``), calls one library operation and formats the result.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from keys import MalformedError, VerificationError, b64std_encode, open_atomic, write_atomic
from ledger.entries import (
    MAX_ENTRY_SIZE,
    MAX_RECORD_SIZE,
    decode_payload,
    payload_json,
    verify_receipt,
)
from ledger.store import Ledger, append_entry, append_signed_entry, shown_location
from ledger.tlog import (
    MAX_RECEIPT_SIZE,
    CosignatureV1Verifier,
    Ed25519NoteVerifier,
    SignedCheckpoint,
    parse_checkpoint,
    parse_note,
    parse_receipt,
    verify_consistency,
)
from lic import cbor

from ._hints import hinted
from ._keyopts import keyring_option, load_signing_key, passphrase_options
from ._ledgeropts import db_option
from ._output import emit, json_option, read_input
from ._params import at_option, read_vkey, time_text
from ._replayopts import STATE_READ, replay_progress

__all__ = [
    "add_cosignature_cmd",
    "append_cmd",
    "checkpoint_cmd",
    "consistency_cmd",
    "export_cmd",
    "import_cmd",
    "init_cmd",
    "prove_cmd",
    "show_cmd",
    "verify_proof_cmd",
]

MAX_PROOF_FILE = MAX_RECEIPT_SIZE
MAX_COSIGNATURE_FILE = 64 * 1024


def _cp_info(cp: SignedCheckpoint) -> dict[str, Any]:
    c = cp.checkpoint
    return {
        "origin": c.origin,
        "size": c.size,
        "root": b64std_encode(c.root),
        "note": cp.note.decode("utf-8"),
    }


@click.command("init")
@click.option("--origin", required=True, help="Log origin, e.g. example.com/log (the key name).")
@click.option("--key", "key_name", required=True, metavar="LOGKEY", help="Log key in the keyring.")
@db_option
@keyring_option
@passphrase_options
@json_option
def init_cmd(
    origin: str,
    key_name: str,
    db: Path,
    keyring_dir: Path | None,
    passphrase_file: Path | None,
    passphrase_env: str | None,
    as_json: bool,
) -> None:
    """Create an empty ledger signed by the log key LOGKEY, with its size-0 checkpoint."""
    key = load_signing_key(keyring_dir, key_name, passphrase_file, passphrase_env)
    with Ledger.create(db, origin, key, log_key_name=key_name) as led:
        info = {"db": shown_location(db), "origin": led.origin, "log_vkey": led.log_vkey}
    emit(info, as_json=as_json, text=f"created {info['db']}\nlog key: {info['log_vkey']}")


@click.command("append")
@click.option("--type", "entry_type", required=True, help="Entry type, e.g. grant or note.")
@click.option(
    "--file",
    "entry_file",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="The entry payload ('-' for standard input); with --signed, a COSE_Sign1 entry.",
)
@click.option("--key", "key_name", metavar="AUTHORKEY", help="Author key that signs the entry.")
@click.option("--signed", is_flag=True, help="FILE is already a COSE_Sign1 entry by its author.")
@db_option
@keyring_option
@passphrase_options
@json_option
def append_cmd(
    entry_type: str,
    entry_file: Path,
    key_name: str | None,
    signed: bool,
    db: Path,
    keyring_dir: Path | None,
    passphrase_file: Path | None,
    passphrase_env: str | None,
    as_json: bool,
) -> None:
    """Append one entry durably; prints its index and leaf hash.

    FILE is the payload in deterministic CBOR, signed by AUTHORKEY into a COSE_Sign1 (alg
    EdDSA, kid = the key's thumbprint, typ = the entry type); with --signed, FILE is such a
    COSE_Sign1 already. Either way the entry passes the typed checks (schema, author role,
    references) before it is written. The typed commands (grant, revoke, ...) build payloads
    for people. A checkpoint covering it comes from 'lic ledger checkpoint'.
    """
    if signed == (key_name is not None):
        raise click.UsageError("give exactly one of --key AUTHORKEY and --signed")
    data = read_input(entry_file, MAX_ENTRY_SIZE, "entry")
    with Ledger.open(db) as led, replay_progress(False, STATE_READ) as progress:
        if key_name is not None:
            author = load_signing_key(keyring_dir, key_name, passphrase_file, passphrase_env)
            payload = cbor.decode(data, max_size=MAX_ENTRY_SIZE)
            if not isinstance(payload, dict):
                raise MalformedError("entry payload: must be a CBOR map")
            a = append_entry(led, entry_type, payload, author, progress=progress)
        else:
            a = append_signed_entry(led, entry_type, data, progress=progress)
    info = {"index": a.index, "leaf_hash": a.leaf_hash.hex()}
    emit(info, as_json=as_json, text=f"appended {a.index} {a.leaf_hash.hex()}")


def _witness_key_option(*, required: bool) -> Callable[[Any], Any]:
    return click.option(
        "--witness-key",
        "witness_keys",
        multiple=True,
        required=required,
        metavar="VKEY",
        help="Trusted witness verifier key (type 0x04), inline or a file (repeatable).",
    )


@click.command("checkpoint")
@click.option("--key", "key_name", metavar="LOGKEY", help="Log key (default: the one from init).")
@click.option(
    "--witness",
    "witness_urls",
    multiple=True,
    metavar="URL",
    help="Witness submission prefix to ask for a cosignature (repeatable).",
)
@_witness_key_option(required=False)
@click.option(
    "--quorum",
    type=click.IntRange(min=1),
    help="Cosignatures needed from distinct trusted witnesses (default: every --witness-key).",
)
@db_option
@keyring_option
@passphrase_options
@json_option
def checkpoint_cmd(
    key_name: str | None,
    witness_urls: tuple[str, ...],
    witness_keys: tuple[str, ...],
    quorum: int | None,
    db: Path,
    keyring_dir: Path | None,
    passphrase_file: Path | None,
    passphrase_env: str | None,
    as_json: bool,
) -> None:
    """Sign a checkpoint at the current size and print it (a C2SP signed note).

    The latest checkpoint advances by compare-and-swap; at an unchanged size the stored one
    is printed again. With --witness, ask each witness to cosign it (C2SP tlog-witness),
    keep the cosignatures that verify under a --witness-key and store them with the
    checkpoint; the printed note carries them. Exit 1 when fewer than --quorum cosigned.
    """
    if bool(witness_urls) != bool(witness_keys):
        raise click.UsageError("--witness and --witness-key go together")
    with Ledger.open(db) as led:
        name = key_name or led.log_key_name
        if not name:
            raise click.UsageError("no log key recorded for this ledger; give --key LOGKEY")
        key = load_signing_key(keyring_dir, name, passphrase_file, passphrase_env)
        with replay_progress(False, STATE_READ) as progress:
            cp = led.checkpoint(key, progress=progress)
        got = None
        if witness_urls:
            verifiers = [CosignatureV1Verifier.from_vkey(read_vkey(v, "key")) for v in witness_keys]
            need = quorum if quorum is not None else len(verifiers)
            from ledger.witness import collect_cosignatures  # HTTP client: only here

            got = collect_cosignatures(led, witness_urls, verifiers, need)
            cp = led.cosigned_checkpoint(cp.checkpoint.size) or cp
    info = _cp_info(cp)
    text = cp.note.decode("utf-8").rstrip("\n")
    if got is not None:
        info["witnesses"] = [
            {"url": r.url, "ok": r.ok, "detail": r.detail, "names": list(r.names)}
            for r in got.reports
        ]
        info["cosigners"] = list(got.cosigners)
        info["quorum"] = got.quorum
        text += "".join(
            f"\nwitness {r.url}: {'ok' if r.ok else 'failed'} ({r.detail})" for r in got.reports
        )
    emit(info, as_json=as_json, text=text)
    if got is not None and not got.met:
        raise VerificationError(
            f"checkpoint: {len(got.cosigners)} of the {got.quorum} cosignatures needed"
        )


@click.command("add-cosignature")
@click.argument(
    "lines_file",
    metavar="FILE",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
)
@_witness_key_option(required=True)
@click.option(
    "--size",
    type=click.IntRange(min=1),
    help="The checkpoint cosigned, by its size (default: the latest).",
)
@db_option
@json_option
def add_cosignature_cmd(
    lines_file: Path, witness_keys: tuple[str, ...], size: int | None, db: Path, as_json: bool
) -> None:
    """Store cosignature lines a witness made offline ('lic witness cosign') with a checkpoint.

    FILE holds the lines as 'lic witness cosign' prints them ('-': standard input). Every line
    must verify under a --witness-key over that checkpoint, or nothing is stored (exit 1).
    A witness's newer line replaces its older one. Prints the cosigned note.
    """
    data = read_input(lines_file, MAX_COSIGNATURE_FILE, "cosignature lines")
    verifiers = [CosignatureV1Verifier.from_vkey(read_vkey(v, "key")) for v in witness_keys]
    from ledger.witness import add_offline_cosignatures

    with Ledger.open(db) as led:
        stored, names = add_offline_cosignatures(led, data, verifiers, size)
        cp = led.cosigned_checkpoint(size)
    assert cp is not None  # add_offline_cosignatures found it
    info = {**_cp_info(cp), "stored": stored, "cosigners": list(names)}
    emit(info, as_json=as_json, text=cp.note.decode("utf-8").rstrip("\n"))


@click.command("prove")
@click.option("--index", "index", required=True, type=click.IntRange(min=0), help="Record index.")
@click.option(
    "--out",
    "-o",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the receipt to FILE instead of standard output.",
)
@db_option
@json_option
def prove_cmd(index: int, out: Path | None, db: Path, as_json: bool) -> None:
    """Write a C2SP tlog-proof@v1 receipt for record N at the latest checkpoint's size.

    The receipt holds the record bytes (as extra data), the inclusion proof and the signed
    checkpoint; 'lic ledger verify-proof' checks it offline.
    """
    with Ledger.open(db) as led:
        receipt = led.receipt(index)
    note = parse_receipt(receipt).checkpoint_note
    size = parse_checkpoint(parse_note(note).text).size
    if out is not None:
        write_atomic(out, receipt, mode=0o644, overwrite=True)
    info: dict[str, Any] = {"index": index, "size": size}
    info.update({"out": str(out)} if out is not None else {"receipt": receipt.decode("utf-8")})
    if as_json:
        emit(info, as_json=True)
    elif out is None:
        click.echo(receipt.decode("utf-8"), nl=False)
    else:
        click.echo(f"wrote {out} (record {index} at size {size})")


@click.command("verify-proof")
@click.argument("proof_file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option(
    "--log-key",
    "log_key",
    metavar="VKEY",
    help="The log's verifier key (name+hash+key), or a file holding it.",
)
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Instead of --log-key: a trust policy (SPEC 10.3); its log key and witness quorum "
    "must be met by the receipt's checkpoint and cosignatures.",
)
@click.option(
    "--entry",
    "entry_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also check that FILE (the record bytes or its COSE_Sign1 entry) is what is proved.",
)
@at_option
@json_option
def verify_proof_cmd(
    proof_file: Path,
    log_key: str | None,
    policy_file: Path | None,
    entry_file: Path | None,
    at: int | None,
    as_json: bool,
) -> None:
    """Check a tlog-proof@v1 receipt offline against the log's verifier key or a policy.

    Exit 0 when the checkpoint is signed by the log key (with --policy: and cosigned by a
    quorum of its witnesses) and the record is included at the receipt's index; 1 when a
    check fails; 2 when the input is malformed.
    """
    if (log_key is None) == (policy_file is None):
        raise click.UsageError("give --log-key or --policy (one of them)")
    data = read_input(proof_file, MAX_PROOF_FILE, "receipt")
    entry = read_input(entry_file, MAX_RECORD_SIZE, "entry") if entry_file else None
    witnesses: tuple[str, ...] | None = None
    if policy_file is not None:
        import time

        from ledger.bundle import MAX_POLICY_SIZE, parse_policy

        now = int(time.time()) if at is None else at
        with hinted(policy_file, "trust policy"):
            policy = parse_policy(read_input(policy_file, MAX_POLICY_SIZE, "policy"))
        note = parse_receipt(data).checkpoint_note
        witnesses = policy.witnessed_by(note, now)
        log = policy.log_verifier(note.split(b"\n", 1)[0].decode("utf-8", "replace"), now)
    else:
        assert log_key is not None
        log = Ed25519NoteVerifier.from_vkey(read_vkey(log_key, "log key"))
    receipt, cp = verify_receipt(data, log, entry)
    info: dict[str, Any] = {
        "valid": True,
        "index": receipt.index,
        "origin": cp.origin,
        "size": cp.size,
        "root": b64std_encode(cp.root),
    }
    text = f"OK: record {receipt.index} is in {cp.origin} at size {cp.size}"
    if witnesses is not None:
        info["witnesses"] = list(witnesses)
        text += f", cosigned by {', '.join(witnesses)}"
    emit(info, as_json=as_json, text=text)


@click.command("consistency")
@click.option("--from", "size1", required=True, type=click.IntRange(min=1), help="Older size M.")
@click.option(
    "--to", "size2", type=click.IntRange(min=1), help="Newer size N (default: latest checkpoint)."
)
@db_option
@json_option
def consistency_cmd(size1: int, size2: int | None, db: Path, as_json: bool) -> None:
    """Print an RFC 9162 consistency proof from size M to size N (checked before printing)."""
    with Ledger.open(db) as led:
        if size2 is None:
            cp = led.latest_checkpoint()
            if cp is None or cp.checkpoint.size == 0:
                raise MalformedError("ledger: no non-empty checkpoint; give --to N")
            size2 = cp.checkpoint.size
        proof = led.consistency_proof(size1, size2)
        root1, root2 = led.root(size1), led.root(size2)
    verify_consistency(size1, size2, proof, root1, root2)
    info = {
        "size1": size1,
        "size2": size2,
        "root1": b64std_encode(root1),
        "root2": b64std_encode(root2),
        "proof": [b64std_encode(h) for h in proof],
    }
    lines = [f"from {size1} root (base64): {info['root1']}",
             f"to {size2} root (base64): {info['root2']}"]  # fmt: skip
    text = "\n".join(lines + [b64std_encode(h) for h in proof])
    emit(info, as_json=as_json, text=text)


@click.command("show")
@click.option("--index", "index", required=True, type=click.IntRange(min=0), help="Record index.")
@click.option(
    "--out",
    "-o",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the record's exact bytes to FILE.",
)
@click.option(
    "--raw", is_flag=True, help="Show the payload as its CBOR bytes in base64, not decoded."
)
@db_option
@json_option
def show_cmd(index: int, out: Path | None, raw: bool, db: Path, as_json: bool) -> None:
    """Show record N: its header fields and its payload, decoded.

    The header fields: index, time, type, prev, leaf hash, author kid and payload size. The
    payload shows as JSON, byte strings as {"hex": ...}; --raw shows its CBOR bytes in base64.
    """
    with Ledger.open(db) as led:
        rec = led.record(index)
    msg = rec.sign1()
    kid = msg.protected.get(4)
    info: dict[str, Any] = {
        "index": rec.index,
        "time": rec.time,
        "type": rec.entry_type,
        "prev": rec.prev.hex(),
        "leaf_hash": rec.leaf_hash.hex(),
        "author_kid": kid.decode("ascii", "replace") if isinstance(kid, bytes) else None,
        "payload_size": len(msg.payload),
        "payload": b64std_encode(msg.payload) if raw else _decoded(msg.payload),
        "record": b64std_encode(rec.raw),
    }
    if out is not None:
        write_atomic(out, rec.raw, mode=0o644, overwrite=True)
    fields = {**info, "time": time_text(rec.time)}
    text = "\n".join(
        f"{k}: {fields[k]}"
        for k in ("index", "time", "type", "prev", "leaf_hash", "author_kid", "payload_size")
    )
    if raw:
        text += f"\npayload (CBOR, base64): {info['payload']}"
    else:
        shown = json.dumps(info["payload"], indent=2, ensure_ascii=False)
        text += f'\npayload (decoded CBOR; byte strings as {{"hex": ...}}):\n{shown}'
    emit(info, as_json=as_json, text=text)


def _decoded(payload: bytes) -> Any:
    """The payload as plain JSON (ledger.entries.payload_json); a record in the ledger holds a
    payload that decodes, so a failure here is a damaged database: reported as such."""
    try:
        return payload_json(decode_payload(payload, max_size=MAX_ENTRY_SIZE))
    except MalformedError as e:
        raise MalformedError(f"the record's payload does not decode ({e}); see --raw") from e


@click.command("export")
@click.option(
    "--jsonl",
    "jsonl",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Output file ('-' for standard output).",
)
@db_option
@json_option
def export_cmd(jsonl: Path, db: Path, as_json: bool) -> None:
    """Export the ledger as JSON lines: a header, every record (index, leaf hash, base64
    bytes), then every checkpoint note."""
    with Ledger.open(db) as led:
        if str(jsonl) == "-":
            n = led.export_jsonl(sys.stdout)
            sys.stdout.flush()
            return
        with open_atomic(jsonl, mode=0o644, overwrite=True) as f:
            text = io.TextIOWrapper(f, encoding="utf-8")
            n = led.export_jsonl(text)
            text.flush()
            text.detach()  # open_atomic closes the file itself, after the fsync
    emit({"records": n, "out": str(jsonl)}, as_json=as_json, text=f"exported {n} records")


@click.command("import")
@click.argument("jsonl", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@db_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
@json_option
def import_cmd(jsonl: Path, db: Path, quiet: bool, as_json: bool) -> None:
    """Create the ledger --db from an export, re-verifying everything.

    Checks strict record encoding, indexes, the prev chain, leaf hashes, each checkpoint's
    log signature and root, then replays the records as 'lic ledger audit' does: every
    entry's signature, its author's role at that time, schemas and cross-references.
    Nothing is left behind unless everything verifies (exit 1 names the first findings).
    """
    from ledger.audit import import_verified  # its replay runs a process pool: load it here

    with replay_progress(quiet) as progress:
        if str(jsonl) == "-":
            led, _ = import_verified(db, sys.stdin.buffer, progress=progress)
        else:
            with open(jsonl, "rb") as f:
                led, _ = import_verified(db, f, progress=progress)
    with led:
        cp = led.latest_checkpoint()
        info = {
            "db": shown_location(db),
            "records": led.size,
            "root": b64std_encode(led.root()),
            "checkpoint_size": cp.checkpoint.size if cp else None,
        }
    emit(info, as_json=as_json, text=f"imported {info['records']} records into {info['db']}")


@click.command("rebuild-state")
@db_option
@json_option
def rebuild_state_cmd(db: Path, as_json: bool) -> None:
    """Drop the ledger's derived-state tables and build them again from its records.

    One write transaction (a crash leaves the file as it was), with a progress line on a
    terminal. The tables are derived: every append keeps them and 'lic ledger audit'
    recomputes and compares them, so this is for repair, or for a file that lacks them.
    """
    with Ledger.open(db) as led, replay_progress(False, STATE_READ) as progress:
        n = led.rebuild_state(progress)
    emit(
        {"db": shown_location(db), "records": n},
        as_json=as_json,
        text=f"rebuilt the state of {n} records",
    )

"""``lic witness ...``: a C2SP tlog-witness that cosigns a log's checkpoints (SPEC.md 13).

Each command opens the witness state (``--db``, default ``witness.db`` or
``$LIC_WITNESS_DB``), calls one library operation and formats the result.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from keys import (
    ConflictError,
    LedgerIntegrityError,
    MalformedError,
    ProofMismatchError,
    SigningKey,
    UntrustedKeyError,
    b64std_decode,
    b64std_encode,
)
from ledger.tlog import MAX_NOTE_SIZE, Ed25519NoteVerifier
from ledger.witness import (
    AddCheckpointOutcome,
    AuditingGate,
    Witness,
    check_loopback,
    make_witness_server,
    split_view_result,
)

from ._keyopts import keyring_option, load_signing_key, passphrase_options
from ._output import emit, json_option, read_input
from ._params import read_vkey, time_text

__all__ = ["witness_group"]

MAX_PROOF_FILE = 64 * 46

db_option = click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="LIC_WITNESS_DB",
    default="witness.db",
    show_default=True,
    show_envvar=True,
    help="Witness state file (SQLite).",
)


def _proof_lines(path: Path | None) -> list[bytes]:
    if path is None:
        return []
    text = read_input(path, MAX_PROOF_FILE, "proof file").decode("ascii", "replace")
    out = []
    for line in text.splitlines():
        if line.strip():
            h = b64std_decode(line.strip(), "proof line")
            if len(h) != 32:
                raise MalformedError("proof file: hashes must be 32 bytes")
            out.append(h)
    return out


@click.group("witness")
def witness_group() -> None:
    """A transparency-log witness: checks that a log only grows, and cosigns its checkpoints.

    Implements C2SP tlog-witness (add-checkpoint) and tlog-cosignature (timestamped Ed25519,
    cosignature/v1). The witness keeps every checkpoint it cosigned and the requests that
    contradict them, so a split view can be shown to anyone.
    """


@witness_group.command("init")
@click.option("--key", "key_name", required=True, metavar="NAME", help="Witness key (keyring).")
@click.option(
    "--name",
    "witness_name",
    metavar="WITNESS",
    help="The witness's cosigner name, e.g. witness.example.com/w1 (default: the key name).",
)
@click.option(
    "--log",
    "logs",
    multiple=True,
    required=True,
    metavar="ORIGIN=VKEY",
    help="A log to witness: its origin and note verifier key (repeatable).",
)
@db_option
@keyring_option
@passphrase_options
@json_option
def init_cmd(
    key_name: str,
    witness_name: str | None,
    logs: tuple[str, ...],
    db: Path,
    keyring_dir: Path | None,
    passphrase_file: Path | None,
    passphrase_env: str | None,
    as_json: bool,
) -> None:
    """Create a witness state file for the logs given; print the witness verifier key."""
    vkeys = []
    for item in logs:
        origin, sep, vkey = item.partition("=")
        if not sep:
            raise click.UsageError("--log takes ORIGIN=VKEY")
        vkey = read_vkey(vkey, "key")
        if Ed25519NoteVerifier.from_vkey(vkey).name != origin:
            raise MalformedError(f"--log {origin}: the key's name must be the origin")
        vkeys.append(vkey)
    key = load_signing_key(keyring_dir, key_name, passphrase_file, passphrase_env)
    name = witness_name or key_name
    with Witness.create(db, name, key, vkeys, key_name=key_name) as w:
        info = {"db": str(db), "name": w.name, "vkey": w.vkey, "logs": sorted(w.logs())}
    emit(info, as_json=as_json, text=f"created {db}\nwitness key: {info['vkey']}")


def _load_key(
    db: Path,
    key_name: str | None,
    keyring_dir: Path | None,
    passphrase_file: Path | None,
    passphrase_env: str | None,
) -> SigningKey:
    """The witness's signing key: --key, else the key name recorded at init."""
    with Witness.open(db) as w:
        name = key_name or w.key_name
    if not name:
        raise click.UsageError("no witness key recorded for this state; give --key NAME")
    return load_signing_key(keyring_dir, name, passphrase_file, passphrase_env)


@witness_group.command("serve")
@click.option("--key", "key_name", metavar="NAME", help="Witness key (default: the one from init).")
@click.option("--listen", "host", default="127.0.0.1", show_default=True, help="Loopback address.")
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="Port (0: any free one).")
@click.option(
    "--max-requests",
    type=click.IntRange(min=1),
    help="Stop after this many add-checkpoint requests (default: run until interrupted).",
)
@click.option(
    "--follow",
    "follow_url",
    metavar="URL",
    help="Audit: follow the log served at URL (lic serve, or static tiles) to each checkpoint "
    "and recompute its revoked-set line before cosigning it.",
)
@click.option(
    "--follow-state",
    type=click.Path(file_okay=False, path_type=Path),
    help="The follower's state directory (default: the --db path with '.follow' added).",
)
@db_option
@keyring_option
@passphrase_options
def serve_cmd(
    key_name: str | None,
    host: str,
    port: int,
    max_requests: int | None,
    follow_url: str | None,
    follow_state: Path | None,
    db: Path,
    keyring_dir: Path | None,
    passphrase_file: Path | None,
    passphrase_env: str | None,
) -> None:
    """Serve POST /add-checkpoint over HTTP on a loopback address (C2SP tlog-witness).

    Prints 'listening on http://HOST:PORT' once bound. Non-loopback addresses are refused:
    put a reverse proxy in front to expose the witness. With --follow, an auditing witness:
    a checkpoint is cosigned only once the witness followed the log to it and found its
    records and its revoked-set line true (503 with Retry-After while it cannot follow yet,
    422 with the reason for a false checkpoint).
    """
    check_loopback(host)
    if follow_state is not None and follow_url is None:
        raise click.UsageError("--follow-state needs --follow URL")
    key = _load_key(db, key_name, keyring_dir, passphrase_file, passphrase_env)
    gate = None
    if follow_url is not None:
        state = follow_state if follow_state is not None else db.with_name(db.name + ".follow")
        gate = AuditingGate(follow_url, state)
    server = make_witness_server(db, key, host, port, max_requests=max_requests, gate=gate)
    with server:
        h = str(server.server_address[0])
        shown = f"[{h}]" if ":" in h else h
        click.echo(f"listening on http://{shown}:{server.port}")
        if gate is not None:
            click.echo(f"auditing: following {gate.url} (state in {gate.state_dir})")
        sys.stdout.flush()
        server.serve_forever(poll_interval=0.1)


@witness_group.command("cosign")
@click.argument("note_file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--old", "old_size", required=True, type=click.IntRange(min=0), help="Old size.")
@click.option(
    "--proof",
    "proof_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Consistency proof from the old size: one base64 hash a line (none when old is 0).",
)
@click.option("--key", "key_name", metavar="NAME", help="Witness key (default: the one from init).")
@db_option
@keyring_option
@passphrase_options
@json_option
def cosign_cmd(
    note_file: Path,
    old_size: int,
    proof_file: Path | None,
    key_name: str | None,
    db: Path,
    keyring_dir: Path | None,
    passphrase_file: Path | None,
    passphrase_env: str | None,
    as_json: bool,
) -> None:
    """Cosign the checkpoint NOTE offline, by the same rules as the HTTP witness.

    Prints the cosignature line. Exit 0 when cosigned; 1 when refused (unknown origin or
    log key, old size not the stored one, bad consistency proof, split view); 2 when the
    input is malformed.
    """
    note = read_input(note_file, MAX_NOTE_SIZE, "checkpoint note")
    proof = _proof_lines(proof_file)
    key = _load_key(db, key_name, keyring_dir, passphrase_file, passphrase_env)
    with Witness.open(db, key) as w:
        out = w.add_checkpoint(old_size, proof, note, int(time.time()))
    if out.status == 200:
        info = {"status": 200, "cosignatures": list(out.cosignatures)}
        emit(info, as_json=as_json, text="".join(out.cosignatures).rstrip("\n"))
        return
    _refuse(out)


def _refuse(out: AddCheckpointOutcome) -> None:
    msg = f"witness refused ({out.status}): {out.reason}"
    if out.status == 400:
        raise MalformedError(msg)
    if out.status in (403, 404):
        raise UntrustedKeyError(msg)
    if out.status == 422:
        raise ProofMismatchError(msg)
    if out.split_view:
        raise LedgerIntegrityError(msg + " (recorded as evidence)")
    raise ConflictError(f"{msg}; the witness is at size {out.stored_size}")


@witness_group.command("show")
@db_option
@json_option
def show_cmd(db: Path, as_json: bool) -> None:
    """Show the witness key, each log's latest cosigned checkpoint and recorded evidence."""
    with Witness.open(db) as w:
        logs = []
        for origin, vkey in w.logs().items():
            head = w.head(origin)
            assert head is not None
            logs.append(
                {
                    "origin": origin,
                    "vkey": vkey,
                    "size": head.size,
                    "root": b64std_encode(head.root) if head.root else None,
                    "cosigned": len(w.cosigned(origin)),
                }
            )
        evidence: list[dict[str, Any]] = [
            {
                "origin": e.origin,
                "kind": e.kind,
                "time": e.time,
                "stored_note": e.stored_note.decode("utf-8") if e.stored_note else None,
                "note": e.note.decode("utf-8", "replace"),
            }
            for e in w.evidence()
        ]
        info = {"name": w.name, "vkey": w.vkey, "logs": logs, "evidence": evidence}
    lines = [f"witness: {info['vkey']}"]
    lines += [f"log {x['origin']}: size {x['size']} ({x['cosigned']} cosigned)" for x in logs]
    lines += [
        f"evidence: {e['kind']} for {e['origin']} at {time_text(e['time'])}" for e in evidence
    ]
    emit(info, as_json=as_json, text="\n".join(lines))


@witness_group.command("split-view")
@click.argument("note1", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("note2", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--log-key", "log_key", required=True, metavar="VKEY", help="Log verifier key.")
@click.option(
    "--proof",
    "proof_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Consistency proof from the smaller size to the larger (one base64 hash a line).",
)
@json_option
def split_view_cmd(
    note1: Path, note2: Path, log_key: str, proof_file: Path | None, as_json: bool
) -> None:
    """Decide whether two checkpoints signed by one log key prove a split view.

    Both signatures are verified first (a note that does not verify is an error, exit 1 or
    2). Then: exit 1 and print the proof when they have the same size and different roots
    (misbehaviour, provable to anyone); exit 0 when they are consistent (same tree, or the
    --proof verifies); exit 3 when undecided (different sizes without a verifying proof).
    """
    n1 = read_input(note1, MAX_NOTE_SIZE, "note")
    n2 = read_input(note2, MAX_NOTE_SIZE, "note")
    log = Ed25519NoteVerifier.from_vkey(read_vkey(log_key, "key"))
    proof = _proof_lines(proof_file) if proof_file else None
    res = split_view_result(n1, n2, log, proof)
    info = {
        "verdict": res.verdict,
        "reason": res.reason,
        "origin": res.first.origin,
        "first": {"size": res.first.size, "root": b64std_encode(res.first.root)},
        "second": {"size": res.second.size, "root": b64std_encode(res.second.root)},
        "notes": [n.decode("utf-8") for n in res.notes],
    }
    emit(info, as_json=as_json, text=res.explain())
    if res.verdict == "split":
        raise LedgerIntegrityError("split view: the log signed two inconsistent checkpoints")
    if res.verdict == "unproven":
        click.get_current_context().exit(3)  # indeterminate is a verdict, not an error


@witness_group.command("evidence")
@db_option
@json_option
def evidence_cmd(db: Path, as_json: bool) -> None:
    """Print the recorded evidence of log misbehaviour, re-verified under each log's key.

    A split view (the stored checkpoint and a refused one of the same size with another
    root, both signed by the log) is printed as a proof anyone can check with 'lic witness
    split-view'. Exit 1 when at least one split view is proven, 0 otherwise.
    """
    with Witness.open(db) as w:
        logs = w.logs()
        items = w.evidence()
    out: list[dict[str, Any]] = []
    texts: list[str] = []
    proven = 0
    for e in items:
        entry: dict[str, Any] = {"origin": e.origin, "kind": e.kind, "time": e.time}
        if e.kind == "split-view" and e.stored_note is not None and e.origin in logs:
            log = Ed25519NoteVerifier.from_vkey(logs[e.origin])
            res = split_view_result(e.stored_note, e.note, log)
            entry.update({"verdict": res.verdict, "notes": [n.decode("utf-8") for n in res.notes]})
            proven += res.verdict == "split"
            texts.append(f"{e.kind} at {time_text(e.time)}\n{res.explain()}")
        else:
            entry["old_size"] = e.old_size
            texts.append(f"{e.kind} at {time_text(e.time)}: {e.origin}, old size {e.old_size}")
        out.append(entry)
    emit(out, as_json=as_json, text="\n\n".join(texts) if texts else "no evidence")
    if proven:
        raise LedgerIntegrityError(f"{proven} split view(s) proven: the log forked")

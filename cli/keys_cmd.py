"""``lic keys ...`` and ``lic trust ...``: the keyring and the trust store from the shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from keys import (
    ROLES,
    Keyring,
    PublicKey,
    TrustEntry,
    TrustStore,
    read_passphrase,
    write_atomic,
)

from ._keyopts import (
    keyring_option,
    load_signing_key,
    passphrase_options,
    trust_option,
    trust_path,
)
from ._output import emit, json_option
from ._params import TIME, read_public_key, time_text

__all__ = ["keys", "trust"]


def _key_info(name: str, key: PublicKey, note_name: str) -> dict[str, Any]:
    return {
        "name": name,
        "kid": key.thumbprint,
        "jwk": key.jwk(),
        "note_name": note_name,
        "note_key_hash": key.note_key_hash(note_name).hex(),
        "verifier_key": key.verifier_key(note_name),
    }


# --- lic keys ------------------------------------------------------------------------------
@click.group()
def keys() -> None:
    """Create, list, show, check and export the Ed25519 keys of a keyring.

    A keyring is a directory holding NAME.key (private, PKCS#8 PEM, mode 0600, encrypted when
    a passphrase is given) and NAME.pub (public, SubjectPublicKeyInfo PEM) per key.
    """


@keys.command("new")
@click.argument("name")
@keyring_option
@passphrase_options
@json_option
def keys_new(
    name: str,
    keyring_dir: Path | None,
    passphrase_file: Path | None,
    passphrase_env: str | None,
    as_json: bool,
) -> None:
    """Generate a new Ed25519 key NAME in the keyring (never overwrites an existing key).

    The private key is encrypted when --passphrase-file or --passphrase-env is given.
    """
    passphrase = read_passphrase(passphrase_file, passphrase_env)
    ring = Keyring(keyring_dir)
    key = ring.create(name, passphrase)
    info = {
        "name": name,
        "kid": key.public_key.thumbprint,
        "encrypted": passphrase is not None,
        "keyring": str(ring.path),
    }
    text = f"created key {name} (kid {info['kid']}) in {ring.path}"
    if passphrase is None:
        text += " (not encrypted)"
    emit(info, as_json=as_json, text=text)


@keys.command("list")
@keyring_option
@json_option
def keys_list(keyring_dir: Path | None, as_json: bool) -> None:
    """List the keys of the keyring with their key ids (RFC 7638 thumbprints)."""
    ring = Keyring(keyring_dir)
    rows = [{"name": n, "kid": ring.public(n).thumbprint} for n in ring.names()]
    if not rows and not as_json:
        return
    emit(rows, as_json=as_json, text="\n".join(f"{r['name']}\t{r['kid']}" for r in rows))


@keys.command("check")
@click.argument("name")
@keyring_option
@passphrase_options
@json_option
def keys_check(
    name: str,
    keyring_dir: Path | None,
    passphrase_file: Path | None,
    passphrase_env: str | None,
    as_json: bool,
) -> None:
    """Load the private key NAME as a signing command would, and say whether it is usable.

    Checks the file's permissions (0600), the passphrase, the algorithm (Ed25519) and that
    NAME.pub holds its public key. Exits 2 with the reason when any check fails.
    """
    key = load_signing_key(keyring_dir, name, passphrase_file, passphrase_env)
    info = {"name": name, "kid": key.public_key.thumbprint, "usable": True}
    emit(info, as_json=as_json, text=f"key {name} is usable (kid {info['kid']})")


@keys.command("show")
@click.argument("name")
@click.option(
    "--note-name",
    default=None,
    help="Key name for the signed-note key hash and verifier key (default: NAME).",
)
@keyring_option
@json_option
def keys_show(name: str, note_name: str | None, keyring_dir: Path | None, as_json: bool) -> None:
    """Show the public key NAME: key id, JWK, note key hash and verifier key."""
    key = Keyring(keyring_dir).public(name)
    info = _key_info(name, key, note_name or name)
    text = "\n".join(
        [
            f"name:          {info['name']}",
            f"kid:           {info['kid']}",
            f"jwk:           {json.dumps(info['jwk'], separators=(',', ':'))}",
            f"note key hash: {info['note_key_hash']}",
            f"verifier key:  {info['verifier_key']}",
        ]
    )
    emit(info, as_json=as_json, text=text)


@keys.command("export")
@click.argument("name")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jwk", "pem", "vkey", "raw"]),
    required=True,
    help="jwk: RFC 8037 JWK; pem: SubjectPublicKeyInfo; vkey: signed-note verifier key; "
    "raw: the 32 key bytes (to --output, or as hex on standard output).",
)
@click.option("--note-name", default=None, help="Key name for --format vkey (default: NAME).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the key to FILE (must not exist) instead of standard output.",
)
@keyring_option
@json_option
def keys_export(
    name: str,
    fmt: str,
    note_name: str | None,
    output: Path | None,
    keyring_dir: Path | None,
    as_json: bool,
) -> None:
    """Export the public key NAME. Private keys are never exported.

    Every format can be imported again with 'lic trust add'. --format raw writes exactly 32
    bytes to --output FILE; without --output it prints the bytes as lowercase hex instead, so
    binary never goes to a terminal (hex is for reading, 'lic trust add' does not take it).
    """
    key = Keyring(keyring_dir).public(name)
    data: bytes
    if fmt == "jwk":
        data = (json.dumps(key.jwk(), separators=(",", ":")) + "\n").encode()
    elif fmt == "pem":
        data = key.pem()
    elif fmt == "vkey":
        data = (key.verifier_key(note_name or name) + "\n").encode()
    else:
        data = key.raw if output is not None else (key.raw.hex() + "\n").encode()
    if output is not None:
        write_atomic(output, data, mode=0o644, overwrite=False)
        emit(
            {"name": name, "kid": key.thumbprint, "format": fmt, "output": str(output)},
            as_json=as_json,
            text=f"wrote {fmt} public key {name} to {output}",
        )
        return
    if as_json:
        value: Any = key.jwk() if fmt == "jwk" else data.decode().rstrip("\n")
        emit({"name": name, "kid": key.thumbprint, "format": fmt, "key": value}, as_json=True)
    else:
        click.echo(data.decode(), nl=False)


# --- lic trust -----------------------------------------------------------------------------
@click.group()
def trust() -> None:
    """Manage the trust store: which public keys are trusted as issuer, log or witness.

    The trust store is one JSON file (default: trust.json in the keyring directory). Lookups
    go by key id (RFC 7638 thumbprint) and role only.
    """


def _load_or_new(path: Path) -> TrustStore:
    return TrustStore.load(path) if path.exists() else TrustStore()


def _entry_row(e: TrustEntry) -> dict[str, Any]:
    return e.to_json()


def _entry_text(e: TrustEntry) -> str:
    window = "..".join("-" if t is None else time_text(t) for t in (e.not_before, e.not_after))
    return f"{e.name}\t{e.role}\t{e.kid}\t{window}"


@trust.command("add")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--role", type=click.Choice(list(ROLES)), required=True, help="What the key is trusted for."
)
@click.option(
    "--name",
    required=True,
    help="Unique entry name (a signed-note key name: for a log key, the log's origin).",
)
@click.option("--not-before", metavar="TIME", type=TIME, help="Trusted from this time on.")
@click.option("--not-after", metavar="TIME", type=TIME, help="Trusted until (not at) this time.")
@keyring_option
@trust_option
@json_option
def trust_add(
    file: Path,
    role: str,
    name: str,
    not_before: int | None,
    not_after: int | None,
    keyring_dir: Path | None,
    trust_file: Path | None,
    as_json: bool,
) -> None:
    """Trust the public key in FILE for ROLE under NAME.

    FILE holds a SubjectPublicKeyInfo PEM, a JWK, a signed-note verifier key, or exactly 32 raw
    bytes. Times are epoch seconds or RFC 3339 UTC (2026-01-01T00:00:00Z); the window is
    [not-before, not-after).
    """
    key = read_public_key(file)
    entry = TrustEntry(key, role, name, not_before, not_after)
    path = trust_path(keyring_dir, trust_file)
    store = _load_or_new(path)
    store.add(entry)
    store.save(path)
    emit(_entry_row(entry), as_json=as_json, text=f"trusted {name} as {role}: kid {entry.kid}")


@trust.command("list")
@click.option("--role", type=click.Choice(list(ROLES)), default=None, help="Only this role.")
@keyring_option
@trust_option
@json_option
def trust_list(
    role: str | None, keyring_dir: Path | None, trust_file: Path | None, as_json: bool
) -> None:
    """List the trusted keys: name, role, key id and validity window."""
    path = trust_path(keyring_dir, trust_file)
    store = _load_or_new(path) if trust_file is None else TrustStore.load(path)
    entries = store.by_role(role) if role else list(store.entries)
    if not entries and not as_json:
        return
    emit(
        [_entry_row(e) for e in entries],
        as_json=as_json,
        text="\n".join(_entry_text(e) for e in entries),
    )


@trust.command("remove")
@click.argument("name_or_kid")
@keyring_option
@trust_option
@json_option
def trust_remove(
    name_or_kid: str, keyring_dir: Path | None, trust_file: Path | None, as_json: bool
) -> None:
    """Remove the entry named NAME_OR_KID, or else every entry of that key id."""
    path = trust_path(keyring_dir, trust_file)
    store = TrustStore.load(path)
    gone = store.remove(name_or_kid)
    store.save(path)
    emit(
        [_entry_row(e) for e in gone],
        as_json=as_json,
        text="\n".join(f"removed {_entry_text(e)}" for e in gone),
    )

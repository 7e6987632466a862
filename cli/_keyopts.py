"""Options and helpers shared by every command that needs keys or the trust store.

Usage in a command module::

    @click.command()
    @keyring_option
    @trust_option
    @passphrase_options
    def sign(keyring_dir, trust_file, passphrase_file, passphrase_env): ...
        key = load_signing_key(keyring_dir, "issuer", passphrase_file, passphrase_env)
        store = load_trust_store(keyring_dir, trust_file)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from keys import Keyring, SigningKey, TrustStore, read_passphrase

from ._hints import hinted

__all__ = [
    "keyring_option",
    "load_signing_key",
    "load_trust_store",
    "passphrase_options",
    "trust_option",
    "trust_path",
]

F = TypeVar("F", bound=Callable[..., Any])

TRUST_FILE_NAME = "trust.json"

keyring_option = click.option(
    "--keyring",
    "keyring_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="LIC_HOME",
    default=None,
    show_envvar=True,
    help="Keyring directory (default: $LIC_HOME, else $XDG_CONFIG_HOME/lic-ledger, "
    "else ~/.config/lic-ledger).",
)

trust_option = click.option(
    "--trust",
    "trust_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Trust store file (default: trust.json in the keyring directory).",
)


def passphrase_options(f: F) -> F:
    """Add ``--passphrase-file FILE`` and ``--passphrase-env NAME`` (never the passphrase)."""
    f = click.option(
        "--passphrase-env",
        "passphrase_env",
        metavar="NAME",
        default=None,
        help="Read the private key's passphrase from environment variable NAME.",
    )(f)
    f = click.option(
        "--passphrase-file",
        "passphrase_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Read the private key's passphrase from FILE (one trailing newline is dropped).",
    )(f)
    return f


def load_signing_key(
    keyring_dir: Path | None,
    name: str,
    passphrase_file: Path | None,
    passphrase_env: str | None,
) -> SigningKey:
    """Load the signing key ``name`` from the keyring, with the passphrase from file or env."""
    passphrase = read_passphrase(passphrase_file, passphrase_env)
    return Keyring(keyring_dir).load(name, passphrase)


def trust_path(keyring_dir: Path | None, trust_file: Path | None) -> Path:
    """The trust store file: ``--trust`` if given, else trust.json in the keyring directory."""
    if trust_file is not None:
        return trust_file
    return Keyring(keyring_dir).path / TRUST_FILE_NAME


def load_trust_store(keyring_dir: Path | None, trust_file: Path | None) -> TrustStore:
    """Load the trust store named by ``--trust`` or the keyring default (missing: an error)."""
    path = trust_path(keyring_dir, trust_file)
    with hinted(path, "trust store"):
        return TrustStore.load(path)

"""The keyring: a directory of named Ed25519 keys on disk.

Layout (SPEC.md section 2.5): ``<dir>/<name>.key`` is the private key, PKCS#8 PEM (encrypted
when a passphrase is given), mode 0600; ``<dir>/<name>.pub`` is its public key, SPKI PEM, so that
the public half is readable without the passphrase. The directory is created with mode 0700.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ._ed25519 import PublicKey, SigningKey
from ._files import read_capped, write_atomic
from ._io import load_public_key
from .errors import KeyStoreError, MalformedError

__all__ = ["MAX_KEY_FILE_SIZE", "Keyring", "check_key_name", "default_keyring_dir"]

MAX_KEY_FILE_SIZE = 16 * 1024
_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_PRIVATE_SUFFIX = ".key"
_PUBLIC_SUFFIX = ".pub"


def check_key_name(name: str) -> str:
    """A keyring name: 1-64 of ``A-Z a-z 0-9 . _ -``, starting with a letter or digit."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise MalformedError(
            f"key name {name!r}: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def default_keyring_dir() -> Path:
    """``$LIC_HOME``, else ``$XDG_CONFIG_HOME/lic-ledger``, else ``~/.config/lic-ledger``."""
    home = os.environ.get("LIC_HOME")
    if home:
        return Path(home)
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "lic-ledger"
    return Path.home() / ".config" / "lic-ledger"


class Keyring:
    """A directory of named signing keys. Nothing touches the disk until a method is called."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = Path(path) if path is not None else default_keyring_dir()

    @property
    def path(self) -> Path:
        """The keyring's directory."""
        return self._path

    def _private_path(self, name: str) -> Path:
        return self._path / (check_key_name(name) + _PRIVATE_SUFFIX)

    def _public_path(self, name: str) -> Path:
        return self._path / (check_key_name(name) + _PUBLIC_SUFFIX)

    def create(self, name: str, passphrase: bytes | None = None) -> SigningKey:
        """Generate a key, store it under ``name`` and return it. Never overwrites a key."""
        private_path = self._private_path(name)
        if passphrase is not None and not passphrase:
            raise KeyStoreError("the passphrase is empty")
        self._path.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = SigningKey.generate()
        write_atomic(private_path, key.to_pem(passphrase), mode=0o600, overwrite=False)
        write_atomic(self._public_path(name), key.public_key.pem(), mode=0o644, overwrite=True)
        return key

    def load(self, name: str, passphrase: bytes | None = None) -> SigningKey:
        """Load the private key ``name``. Refuses files readable by group or others."""
        path = self._private_path(name)
        if not path.exists() and not path.is_symlink():
            raise KeyStoreError(f"no key named {name!r} in keyring {self._path}")
        data, _ = read_capped(
            path, max_size=MAX_KEY_FILE_SIZE, what="private key file", private=True
        )
        try:
            key = SigningKey.from_pem(data, passphrase)
        except (KeyStoreError, MalformedError) as e:
            raise type(e)(f"{path}: {e}") from e
        public_path = self._public_path(name)
        if public_path.exists() and self.public(name) != key.public_key:
            raise KeyStoreError(f"{public_path} does not hold the public key of {path}")
        return key

    def public(self, name: str) -> PublicKey:
        """The public key of ``name``, read from ``<name>.pub`` (no passphrase needed)."""
        path = self._public_path(name)
        if not path.exists() and not self._private_path(name).exists():
            raise KeyStoreError(f"no key named {name!r} in keyring {self._path}")
        data, _ = read_capped(path, max_size=MAX_KEY_FILE_SIZE, what="public key file")
        try:
            return load_public_key(data)
        except MalformedError as e:
            raise MalformedError(f"{path}: {e}") from e

    def names(self) -> list[str]:
        """Sorted names of the private keys in the keyring (empty if the directory is absent)."""
        try:
            entries = os.listdir(self._path)
        except FileNotFoundError:
            return []
        except OSError as e:
            raise KeyStoreError(f"keyring {self._path} cannot be read: {e.strerror}") from e
        out = []
        for entry in entries:
            if entry.endswith(_PRIVATE_SUFFIX):
                stem = entry[: -len(_PRIVATE_SUFFIX)]
                if _NAME.match(stem):
                    out.append(stem)
        return sorted(out)

    def __repr__(self) -> str:
        return f"Keyring({str(self._path)!r})"

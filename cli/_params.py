"""Parameter types shared by every command: times, digests, verifier keys given inline or as
a file. One grammar each, so every command accepts the same spellings."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from keys import (
    KeyStoreError,
    MalformedError,
    PublicKey,
    duration_text,
    load_public_key,
    time_text,
)

from ._output import read_input

__all__ = [
    "DIGEST",
    "LEDGER",
    "TIME",
    "DigestType",
    "LedgerType",
    "TimeType",
    "at_option",
    "duration_text",
    "read_public_key",
    "read_vkey",
    "time_text",
]

MAX_VKEY_FILE = 4096
# A verifier key given inline: a name without '+' or white space, the 4-byte key hash in hex,
# and the base64 key material (SPEC.md 6); a file name seldom has this shape.
_VKEY_SHAPE = re.compile(r"\A[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+={0,2}\Z")
MAX_KEY_INPUT = 64 * 1024  # load_public_key refuses more than 4 KiB; read a little beyond


class TimeType(click.ParamType):  # type: ignore[type-arg]
    """A time as integer seconds since the epoch, RFC 3339 / ISO 8601 with a zone
    (``2026-01-01T00:00:00Z``, ``2026-01-01T01:00:00+01:00``), or ``now``."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """The time in integer seconds since the epoch."""
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if text == "now":
            return int(time.time())
        if text.isascii() and text.isdigit():
            try:
                return int(text)
            except ValueError:  # more digits than int() converts
                self.fail(self._neither(value), param, ctx)
        dt = _parse_iso(text)
        if dt is None:
            self.fail(self._neither(value), param, ctx)
        if dt.tzinfo is None:
            self.fail(f"{value!r} has no time zone (add Z for UTC)", param, ctx)
        return int(dt.timestamp())

    @staticmethod
    def _neither(value: Any) -> str:
        return f"{value!r} is neither seconds since the epoch nor ISO 8601 (2026-01-01T00:00:00Z)"


def _parse_iso(text: str) -> datetime | None:
    """ISO 8601 as datetime.fromisoformat reads it (a trailing Z is UTC), else the looser
    ``%Y-%m-%dT%H:%M:%SZ`` that strptime reads (single-digit fields); None when neither."""
    try:
        return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        pass
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


TIME = TimeType()


class DigestType(click.ParamType):  # type: ignore[type-arg]
    """A SHA-256 digest as 64 hex digits."""

    name = "HEX"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> bytes:
        """The 32 digest bytes."""
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


class LedgerType(click.ParamType):  # type: ignore[type-arg]
    """Where a ledger lives: a file path, or a PostgreSQL URL (``postgresql://...``) kept as
    given (a Path would fold its ``//``)."""

    name = "path|url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Path):
            return value
        text = str(value)
        if text.startswith(("postgresql://", "postgres://")):
            return text
        if not text:
            self.fail("a ledger path or URL is needed", param, ctx)
        return Path(text)


LEDGER = LedgerType()

at_option = click.option(
    "--at", "at", type=TIME, default=None, metavar="TIME",
    help="Verify as of TIME (epoch seconds or 2026-01-01T00:00:00Z; default: now).",
)  # fmt: skip


def read_vkey(value: str, what: str = "verifier key") -> str:
    """A signed-note verifier key (``name+hash+key``) given inline, or the file holding one.

    A value naming an existing file is read from it; any other value shaped like a key
    (``name+8 hex digits+base64``, one line) is taken inline; anything else is a file name, and
    a missing file is reported as missing.
    """
    path = Path(value)
    if _VKEY_SHAPE.match(value) and not path.is_file():
        return value
    if not path.exists():
        raise KeyStoreError(
            f"{what} file {path} does not exist (nor is it a key given inline, name+hash+key)"
        )
    return read_input(path, MAX_VKEY_FILE, f"{what} file").decode("utf-8", "replace").strip()


def read_public_key(path: Path) -> PublicKey:
    """The public key in the file ``path``: a SubjectPublicKeyInfo PEM, a JWK, a signed-note
    verifier key or exactly 32 raw bytes. A missing file is reported as missing; a malformed
    key names the file."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_KEY_INPUT + 1)
    except FileNotFoundError as e:
        raise KeyStoreError(f"public key file {path} does not exist") from e
    try:
        return load_public_key(data)
    except MalformedError as e:
        raise MalformedError(f"{path}: {e}") from e

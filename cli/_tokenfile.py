"""Reading a token file, for every command that takes one."""

from __future__ import annotations

from pathlib import Path

import lic

from ._output import read_input

__all__ = ["read_token"]


def read_token(path: Path) -> bytes:
    """A token file: COSE_Sign1 bytes, or a JWT (surrounding whitespace dropped)."""
    data = read_input(path, lic.MAX_TOKEN_SIZE + 64, f"token {path}")
    return data if data[:1] == b"\xd2" else data.strip()

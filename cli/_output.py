"""Output helpers shared by every command: one place for JSON and plain-text formatting."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from keys.errors import MalformedError

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def emit(value: Any, *, as_json: bool, text: str | None = None) -> None:
    """Print ``value`` as JSON, or ``text`` (default: the value) for people."""
    if as_json:
        click.echo(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        click.echo(text if text is not None else str(value))


def read_input(path: Path, limit: int, what: str) -> bytes:
    """Read at most ``limit`` bytes of a file ('-' is standard input), refusing more."""
    if str(path) == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    if len(data) > limit:
        raise MalformedError(f"{what}: larger than {limit} bytes")
    return data

"""Where a replay reads from, and how it shows progress: shared by 'lic ledger audit' and
'lic ledger report'."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from ._params import LEDGER

__all__ = ["STATE_READ", "ReplaySource", "replay_options", "replay_progress"]

DEFAULT_DB = Path("ledger.db")


@dataclass(frozen=True)
class ReplaySource:
    """A ledger file or an export, plus the replay's worker count and progress setting."""

    db: Path | str | None  # a file or a PostgreSQL URL
    jsonl: Path | None
    quiet: bool
    workers: int | None

    def __post_init__(self) -> None:
        if self.db is not None and self.jsonl is not None:
            raise click.UsageError("give --db or --jsonl, not both")

    @property
    def db_path(self) -> Path | str | None:
        """The ledger (file or URL) to replay, or None when replaying an export."""
        return None if self.jsonl is not None else (self.db or DEFAULT_DB)

    def progress(self) -> Any:
        """A progress callback on standard error when it is a terminal (and not --quiet)."""
        return replay_progress(self.quiet)


# what a command shows while it builds the ledger's state tables (once for a file made before
# they existed, and 'lic ledger rebuild-state')
STATE_READ = "reading the ledger's state:"


@contextmanager
def replay_progress(quiet: bool, what: str = "replayed") -> Iterator[Callable[[int], None] | None]:
    """A progress callback on standard error when it is a terminal (and not ``quiet``): one
    line, ``<what> <n> records (<rate>/s)``, rewritten in place and ended when the work is."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    start = time.monotonic()
    shown = False

    def show(n: int) -> None:
        nonlocal shown
        shown = True
        rate = n / max(time.monotonic() - start, 1e-9)
        click.echo(f"\r{what} {n:,} records ({rate:,.0f}/s)", err=True, nl=False)

    try:
        yield show
    finally:
        if shown:
            click.echo("", err=True)


_OPTIONS = [
    click.option(
        "--db",
        "db",
        type=LEDGER,
        envvar="LIC_LEDGER_DB",
        help="Ledger file (SQLite; default ledger.db) or PostgreSQL URL.",
    ),
    click.option(
        "--jsonl",
        type=click.Path(dir_okay=False, path_type=Path),
        help="An export written by 'lic ledger export' instead of a ledger file.",
    ),
    click.option("--quiet", is_flag=True, help="No progress bar."),
    click.option(
        "--workers", type=click.IntRange(min=0), help="Signature workers (default: CPUs)."
    ),
]
_NAMES = ("db", "jsonl", "quiet", "workers")


def _from_environment(name: str) -> bool:
    """Whether the current command's option ``name`` took its value from its variable."""
    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.get_parameter_source(name) is ParameterSource.ENVIRONMENT


def replay_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Add --db, --jsonl, --quiet and --workers; the command receives ``source``."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {name: kwargs.pop(name) for name in _NAMES}
        if given["jsonl"] is not None and _from_environment("db"):
            given["db"] = None  # LIC_LEDGER_DB names the default ledger; --jsonl was asked for
        source = ReplaySource(**given)
        return f(*args, source=source, **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper

"""Entry point of the `lic` command. Library errors become exit codes here, and only here.

Exit codes: 0 success (valid, permitted); 1 verification failed, denied, or a conflict;
2 bad input or usage (malformed file, unusable key, wrong option); 3 indeterminate;
130 interrupted (SIGINT); 143 terminated (SIGTERM, which unwinds as SIGINT does).

A command's module is imported only when that command runs (see ``COMMANDS``), so that
``lic --version`` or ``lic token verify`` do not pay for the ledger, SQLite or HTTP.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ._lazy import LazyCommand, LazyGroup

__all__ = ["COMMANDS", "LicGroup", "cli", "main"]

COMMANDS = {
    "bundle": LazyCommand(
        "cli.bundle_cmd:bundle_group",
        "Offline license bundles: a token chain with its ledger evidence, in one file.",
    ),
    "demo": LazyCommand(
        "cli.demo_cmd:demo_cmd",
        "Run the whole licensing story on a fresh local ledger and explain each step.",
    ),
    "guard": LazyCommand(
        "cli.guard_cmd:guard_cmd",
        "Check a model directory against its license and the use, before the model is loaded.",
    ),
    "keys": LazyCommand(
        "cli.keys_cmd:keys",
        "Create, list, show, check and export the Ed25519 keys of a keyring.",
    ),
    "ledger": LazyCommand(
        "cli.ledger_cmd:ledger_group",
        "The append-only, hash-chained Merkle ledger: records, checkpoints and proofs.",
    ),
    "model": LazyCommand(
        "cli.model_cmd:model_group",
        "Model directories as OpenSSF Model Signing (OMS) describes them: files and digests.",
    ),
    "policy": LazyCommand(
        "cli.policy_cmd:policy_group",
        "Trust policies for offline bundle verification ('lic verify --policy').",
    ),
    "serve": LazyCommand(
        "cli.serve_cmd:serve_cmd",
        "Serve the ledger over HTTP: tiles, receipts, token status and, with --log-key, entries.",
    ),
    "token": LazyCommand(
        "cli.token_cmd:token",
        "Issue, inspect, verify and check license tokens; delegate and present them.",
    ),
    "trust": LazyCommand(
        "cli.keys_cmd:trust",
        "Manage the trust store: which public keys are trusted as issuer, log or witness.",
    ),
    "verify": LazyCommand(
        "cli.bundle_cmd:verify_cmd",
        "Verify a bundle OFFLINE against a trust policy, then decide a proposed use.",
    ),
    "witness": LazyCommand(
        "cli.witness_cmd:witness_group",
        "A transparency-log witness: checks that a log only grows, and cosigns its checkpoints.",
    ),
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lic-ledger")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def _storage_error(e: Exception) -> bool:
    """Whether ``e`` is SQLite's (a corrupt file, a lock held too long). sqlite3 is looked up,
    not imported: when no command loaded it, no exception can come from it."""
    sqlite3 = sys.modules.get("sqlite3")
    return sqlite3 is not None and isinstance(e, sqlite3.Error)


class _Failure(Exception):
    """A library error on its way to ``LicGroup.main``, which prints it: one line, or JSON."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message, self.exit_code = message, exit_code


def _json_requested(argv: list[str]) -> bool:
    """Whether the command line asks for JSON (``--json`` before any ``--``)."""
    return "--json" in (argv[: argv.index("--")] if "--" in argv else argv)


def _report(message: str, code: int, *, as_json: bool, help_for: str | None = None) -> None:
    """Print an error as docs/cli.md promises: ``lic: error: ...`` on one line of standard
    error, or under ``--json`` one JSON object there (``error``, ``exit_code``, ``help``)."""
    text = " ".join(message.split())
    if as_json:
        obj: dict[str, Any] = {"error": text, "exit_code": code}
        if help_for is not None:
            obj["help"] = f"{help_for} --help"
        click.echo(json.dumps(obj, ensure_ascii=False, sort_keys=True), err=True)
        return
    hint = f" (see '{help_for} --help')" if help_for is not None else ""
    click.echo(f"lic: error: {text}{hint}", err=True)


class LicGroup(LazyGroup):
    """The top-level group: lazy commands, and every error (ours, or click's usage errors) turned
    into one message and a meaningful exit code."""

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run ``lic``; in standalone mode (the default) errors are printed by ``_report`` and
        the process exits with the command's code."""
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, False, **extra)
        as_json = _json_requested(argv)
        try:
            rv = super().main(argv, prog_name, complete_var, False, **extra)
        except _Failure as e:
            _report(e.message, e.exit_code, as_json=as_json)
            sys.exit(e.exit_code)
        except click.ClickException as e:
            ctx = e.ctx if isinstance(e, click.UsageError) else None
            where = ctx.command_path if ctx is not None else None
            _report(e.format_message(), e.exit_code, as_json=as_json, help_for=where)
            sys.exit(e.exit_code)
        except click.Abort:
            _report("interrupted", 130, as_json=as_json)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) and not isinstance(rv, bool) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a library error becomes ``lic: error: ...`` and its exit code."""
        from keys.errors import LedgerIntegrityError, LicError

        try:
            try:
                return super().invoke(ctx)
            except Exception as e:
                if not _storage_error(e):
                    raise
                raise LedgerIntegrityError(f"storage: {e}") from e
        except LicError as e:
            raise _Failure(str(e), e.exit_code) from e
        except OSError as e:
            where = f": {e.filename}" if e.filename else ""
            raise _Failure(f"{e.strerror or e}{where}", 2) from e
        except KeyboardInterrupt as e:
            raise click.Abort from e


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"lic, version {_version()}")
        ctx.exit()


@click.group(cls=LicGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the version and exit.",
)
def cli() -> None:
    """lic-ledger: verifiable AI model licenses.

    Sign license tokens, record grants and revocations in an append-only Merkle ledger,
    and decide offline whether a proposed use is allowed.
    """


class Terminated(BaseException):
    """SIGTERM arrived: unwinds the command as an interrupt does, so that whatever it holds
    (a write transaction, a pool of worker processes) is released before the process ends."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def main() -> None:
    """Run ``lic`` with the process's arguments; SIGTERM ends it as SIGINT does (exit 143)."""
    import signal

    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        cli(prog_name="lic")
    except Terminated:
        click.echo("lic: terminated", err=True)
        sys.exit(128 + signal.SIGTERM)


if __name__ == "__main__":
    main()

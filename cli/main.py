"""Entry point of the `lic` command. Library errors become exit codes here, and only here.

Exit codes: 0 success (valid, permitted); 1 verification failed, denied, or a conflict;
2 bad input or usage (malformed file, unusable key, wrong option); 3 indeterminate;
130 interrupted.
"""

from __future__ import annotations

import sqlite3
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import click

from keys.errors import LedgerIntegrityError, LicError


def _version() -> str:
    try:
        return version("lic-ledger")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


class LicGroup(click.Group):
    """A click group that turns our exceptions into a message and a meaningful exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            except sqlite3.Error as e:  # a corrupt file or a lock held too long: not a traceback
                raise LedgerIntegrityError(f"storage: {e}") from e
        except LicError as e:
            click.echo(f"lic: error: {e}", err=True)
            ctx.exit(e.exit_code)
        except OSError as e:
            where = f": {e.filename}" if e.filename else ""
            click.echo(f"lic: error: {e.strerror or e}{where}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("lic: interrupted", err=True)
            ctx.exit(130)


@click.group(cls=LicGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="lic")
def cli() -> None:
    """lic-ledger: verifiable AI model licenses.

    Sign license tokens, record grants and revocations in an append-only Merkle ledger,
    and decide offline whether a proposed use is allowed.
    """


from cli.keys_cmd import keys, trust  # noqa: E402  (commands register after the group exists)
from cli.token_cmd import token  # noqa: E402

cli.add_command(keys)
cli.add_command(trust)
cli.add_command(token)

from cli.ledger_cmd import ledger_group  # noqa: E402

cli.add_command(ledger_group)

from cli.ledger_entries_cmd import audit_cmd  # noqa: E402,F401  (registers typed-entry commands)
from cli.policy_cmd import policy_group  # noqa: E402
from cli.report_cmd import report_cmd  # noqa: E402,F401  (registers lic ledger report)
from cli.witness_cmd import witness_group  # noqa: E402

cli.add_command(witness_group)
cli.add_command(policy_group)

from cli.bundle_cmd import bundle_group, verify_cmd  # noqa: E402

cli.add_command(bundle_group)
cli.add_command(verify_cmd)

from cli.demo_cmd import demo_cmd  # noqa: E402

cli.add_command(demo_cmd)


def main() -> None:
    cli(prog_name="lic")


if __name__ == "__main__":
    main()

"""The one way the tests run `lic`: in-process through click's CliRunner, with an environment,
giving the exit code, stdout, stderr and, for ``--json``, the parsed answer. The root conftest
hands it out as the ``lic_cli`` fixture."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from click.testing import CliRunner


@dataclass(frozen=True)
class CliResult:
    """What one `lic` run gave; ``output`` is stdout and stderr interleaved, as a terminal shows."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    output: str
    exception: BaseException | None
    json: Any  # stdout parsed when the arguments had --json and stdout is JSON, else None


class LicCli:
    """Runs `lic ARGS` with ``env`` added to the process environment for the run.

    ``code`` is the exit code the run must end with (None: any); a traceback in the output and
    an exception other than click's exit fail the run whatever ``code`` is given.
    """

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = dict(env or {})

    def with_env(self, **env: object) -> LicCli:
        """A runner with these variables added to (or replacing) this one's."""
        return LicCli(self.env | {k: str(v) for k, v in env.items()})

    def __call__(
        self,
        *args: object,
        code: int | None = 0,
        env: dict[str, str] | None = None,
        input: str | bytes | None = None,
        catch_exceptions: bool = True,
    ) -> CliResult:
        from cli.main import cli

        argv = tuple(str(a) for a in args)
        res = CliRunner().invoke(
            cli,
            list(argv),
            env=self.env | (env or {}),
            input=input,
            catch_exceptions=catch_exceptions,
            prog_name="lic",
        )
        where = (argv, res.exit_code, res.output, res.exception)
        assert "Traceback" not in res.output, where
        assert res.exception is None or isinstance(res.exception, SystemExit), where
        if code is not None:
            assert res.exit_code == code, where
        return CliResult(
            argv, res.exit_code, res.stdout, res.stderr, res.output, res.exception,
            _parsed(res.stdout) if "--json" in argv else None,
        )  # fmt: skip

    def output(self, *args: object, code: int | None = 0) -> str:
        """The output of `lic ARGS`, which must exit with ``code``; an exception propagates."""
        return self(*args, code=code, catch_exceptions=False).output


def _parsed(stdout: str) -> Any:
    try:
        return json.loads(stdout)
    except ValueError:
        return None

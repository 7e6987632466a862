"""Fixtures every test folder may use: the vectors, the one `lic` runner, synthetic ledgers."""

import pytest
from helpers.cli import LicCli
from helpers.paths import load_vector


@pytest.fixture
def vector():
    return load_vector


@pytest.fixture(scope="session")
def lic_cli():
    """Runs `lic ARGS` in-process (stateless, so one for the session):
    ``lic_cli("keys", "new", "k", code=0, env={...})`` gives a CliResult (exit_code, stdout,
    stderr, output, json); ``lic_cli.with_env(LIC_HOME=...)`` a runner bound to that
    environment."""
    return LicCli()

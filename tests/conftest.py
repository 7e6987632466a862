"""Fixtures every test folder may use: the vectors, the one `lic` runner, synthetic ledgers."""

import pytest

from helpers.cli import LicCli
from helpers.paths import load_vector
from helpers.synthetic import SyntheticLedgers


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


@pytest.fixture(scope="session")
def synthetic_ledger(tmp_path_factory):
    """``synthetic_ledger(n, seed=1, log_seed=bytes(32), origin=..., jsonl=False)`` gives a
    SyntheticLedger (path, log_key, size, jsonl): built once per parameters in the session, so
    read it, or copy it before changing it."""
    return SyntheticLedgers(tmp_path_factory.mktemp)

"""Fixtures every test folder may use: the vectors, the one `lic` runner, synthetic ledgers,
the demo world, the throwaway PostgreSQL cluster and the ledger location on each backend."""

import pytest

from helpers.cli import LicCli
from helpers.demo import DemoWorlds
from helpers.paths import load_vector
from helpers.pg import PgCluster, start_cluster
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


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory, lic_cli):
    """``demo_dir(name="demo")`` gives a fresh copy of the directory `lic demo --dir` writes
    (ledger.db, tokens, bundles, trust files; its keyring, the LIC_HOME, is ``<copy>/keys``):
    the demo runs once per session, every call copies it, so change the copy as you like."""
    return DemoWorlds(tmp_path_factory.mktemp, lic_cli)


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL cluster for the session (helpers.pg): started on first use,
    stopped and deleted at the end. A cluster that cannot start fails the tests using it."""
    cluster: PgCluster = start_cluster()
    yield cluster
    cluster.stop()


def _locations(request, backend, make_dir):
    """Where new ledgers live on ``backend``: a file in a directory from ``make_dir`` (sqlite)
    or the URL of a fresh schema of the session's cluster (postgres)."""
    if backend == "sqlite":

        def at(name: str = "l") -> object:
            return make_dir(name) / f"{name}.db"

    else:
        cluster = request.getfixturevalue("pg_cluster")

        def at(name: str = "l") -> object:
            return cluster.new_url(name)

    at.backend = backend
    return at


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_at(request, tmp_path):
    """``ledger_at(name)`` gives where a new ledger called ``name`` lives on this test's
    backend: a file under tmp_path (sqlite) or the URL of a fresh schema (postgres). Tests
    that use it run once per backend; ``ledger_at.backend`` says which."""
    return _locations(request, request.param, lambda name: tmp_path)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_ledger_at(request, tmp_path_factory):
    """``ledger_at`` for a module that builds a ledger once per backend (a module-scoped
    fixture using it) and runs its tests against it: each call gives a new location (a file
    in a fresh directory, or a fresh schema). A test uses this or ``ledger_at``, never both
    (each runs it once per backend)."""
    return _locations(request, request.param, tmp_path_factory.mktemp)

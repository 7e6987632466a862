"""A throwaway PostgreSQL cluster for the tests: initdb into a temporary directory, a free local
port, its unix socket in that directory, trust authentication for local connections only, fsync
on; stopped and deleted at the end of the session.

Run as root (CI), the server runs as an unprivileged system user (``postgres`` when it exists,
else ``nobody``) through ``runuser``, owning the temporary directory. The binaries come from
``initdb`` on PATH, else the newest /usr/lib/postgresql/<version>/bin (Debian's layout).

A cluster that cannot start is a test failure with the server's log, never a skip: the
PostgreSQL backend is part of what the tests check. ``.ci/test`` installs the Debian packages
when ``initdb`` is missing.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROLE = "lic"  # the cluster's superuser role (a database role, not a system user)
DATABASE = "lic"
_START_WAIT_S = 60


def find_bindir() -> Path | None:
    """The directory of initdb, pg_ctl and postgres: initdb's on PATH, else Debian's newest."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return debian[-1].parent if debian else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _server_user() -> str | None:
    """The system user to run the server as when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root, but neither a postgres nor a nobody user exists")


@dataclass
class PgCluster:
    """A running cluster: ``url`` of its database, ``new_url()`` a URL of a fresh schema."""

    root: Path
    bindir: Path
    port: int
    user: str | None
    _names: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    def log_tail(self) -> str:
        log = self.root / "server.log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else "(no server log)"

    def start(self) -> None:
        if self.user is not None:
            shutil.chown(self.root, self.user)
        r = self._run(
            "initdb", "-D", str(self.data), "-U", ROLE, "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-instructions",
        )  # fmt: skip
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        # trust, for local connections only: the unix socket in our directory and loopback
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\n"
        )
        with (self.data / "postgresql.conf").open("a") as f:
            f.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\nfsync = on\n"
                "synchronous_commit = on\nmax_connections = 200\n"
            )
        if self.user is not None:
            shutil.chown(self.data / "pg_hba.conf", self.user)
        log = str(self.root / "server.log")
        r = self._run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-t", str(_START_WAIT_S),
                      "start")  # fmt: skip
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed:\n{r.stdout}\n{r.stderr}\n{self.log_tail()}")
        r = self._run("createdb", "-h", str(self.root), "-p", str(self.port), "-U", ROLE, DATABASE)
        if r.returncode != 0:
            raise RuntimeError(f"createdb failed:\n{r.stdout}\n{r.stderr}")

    def stop(self) -> None:
        # immediate: no shutdown checkpoint flushing what the session wrote (10-30 s on a
        # loaded machine), since the cluster is deleted right after
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def new_url(self, prefix: str = "t") -> str:
        """The URL of a new, empty schema of the test database (one ledger each)."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return f"{self.url}?options=-csearch_path%3D{name}"


def start_cluster() -> PgCluster:
    """Start a throwaway cluster, or fail the test with the reason (never skip)."""
    bindir = find_bindir()
    if bindir is None:
        pytest.fail(
            "PostgreSQL is needed by the ledger tests and was not found (no initdb on PATH nor "
            "in /usr/lib/postgresql/*/bin): install it (Debian: apt-get install postgresql), "
            "or run .ci/test, which does",
            pytrace=False,
        )
    root = Path(tempfile.mkdtemp(prefix="lic-pg-"))
    cluster = PgCluster(root, bindir, _free_port(), _server_user())
    try:
        cluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        cluster.stop()
        pytest.fail(f"PostgreSQL could not start a throwaway cluster: {e}", pytrace=False)
    return cluster

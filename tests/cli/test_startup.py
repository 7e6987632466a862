"""`lic` imports a command's modules only when that command runs: `lic --version` and
`lic token verify` never load the ledger, SQLite, HTTP or process pools. Behaviour only:
which modules a real `lic` process had loaded when it exited, never how long it took."""

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli.ledger_cmd import LEDGER_COMMANDS, ledger_group
from cli.main import COMMANDS, cli
from helpers.paths import ROOT

LICENSE = ROOT / "examples" / "academic-research.toml"
HEAVY = ("ledger", "sqlite3", "sqlite_utils", "http.server", "multiprocessing",
         "concurrent.futures")  # fmt: skip


# `lic ARGS` in a fresh interpreter that, on exit, writes the names of every module it imported
DUMP = """
import atexit, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(sys.modules))))
sys.argv[0] = "lic"
from cli.main import main
main()
"""


def _lic_imports(args, cwd, env=None):
    """Run `lic ARGS` in a subprocess: its exit code, its output and the modules it imported."""
    dump = Path(cwd) / "modules.txt"
    done = subprocess.run(
        [sys.executable, "-c", DUMP, str(dump), *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )  # fmt: skip
    return done.returncode, done.stdout, set(dump.read_text().split())


def _heavy(modules):
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.fixture
def signed(tmp_path, lic_cli):
    """A keyring with a trusted issuer and a token it issued, in tmp_path."""
    env = {"LIC_HOME": str(tmp_path / "keys")}
    run = lic_cli.with_env(**env)

    for name in ("issuer", "holder"):
        run("keys", "new", name)
        run("keys", "export", name, "--format", "pem", "-o", tmp_path / f"{name}.pub")
    run("trust", "add", tmp_path / "issuer.pub", "--role", "issuer", "--name", "issuer")
    run("token", "issue", "--key", "issuer", "--holder", tmp_path / "holder.pub",
        "--license", LICENSE, "-o", tmp_path / "t.jwt")  # fmt: skip
    return env


def test_version_imports_no_command(tmp_path):
    code, out, modules = _lic_imports(["--version"], tmp_path)
    assert code == 0 and out.startswith("lic, version ")
    assert "click" in modules  # the parse above reads the import log
    assert _heavy(modules) == []
    assert not [m for m in modules if m.startswith("cli.") and m.endswith("_cmd")]
    assert "lic" not in modules and "keys" not in modules


def test_token_verify_imports_no_ledger(tmp_path, signed):
    code, out, modules = _lic_imports(["token", "verify", "t.jwt"], tmp_path, signed)
    assert code == 0 and out.startswith("VALID"), out
    assert "lic" in modules and "cli.token_cmd" in modules
    assert _heavy(modules) == []


def test_a_ledger_command_does_load_the_ledger(tmp_path):
    # the control: the same parse sees the heavy modules when a command needs them
    code, out, modules = _lic_imports(["ledger", "show", "--help"], tmp_path)
    assert code == 0 and "Usage:" in out
    assert {"ledger", "sqlite3", "cli.ledger_log_cmd"} <= modules
    assert "cli.ledger_entries_cmd" not in modules  # only the module of the command run


def test_a_ledger_command_loads_only_what_it_needs(tmp_path):
    # the log commands share a module with checkpoint (witness HTTP) and import (the replay's
    # process pool): those load inside the commands that use them
    code, _, modules = _lic_imports(["ledger", "show", "--help"], tmp_path)
    assert code == 0
    assert [m for m in _heavy(modules) if not m.startswith(("ledger", "sqlite"))] == []
    assert "ledger.witness" not in modules and "ledger.audit" not in modules
    # the offline verifier needs no SQLite: only 'bundle create' reads a ledger
    code, _, modules = _lic_imports(["verify", "--help"], tmp_path)
    assert code == 0
    assert "ledger.bundle" in modules
    assert "sqlite3" not in modules and "ledger.store" not in modules


def test_help_lists_every_command_without_importing_it(tmp_path):
    code, out, modules = _lic_imports(["--help"], tmp_path)
    assert code == 0
    assert all(f"  {name} " in out for name in COMMANDS)
    assert _heavy(modules) == []
    code, out, modules = _lic_imports(["ledger", "--help"], tmp_path)
    assert code == 0
    assert all(f"  {name} " in out for name in LEDGER_COMMANDS)
    assert _heavy(modules) == []


@pytest.mark.parametrize("group, table", [(cli, COMMANDS), (ledger_group, LEDGER_COMMANDS)])
def test_every_summary_is_its_commands_first_sentence(group, table):
    """The summaries --help shows without importing are the ones the commands would show."""
    for name, entry in table.items():
        loaded = entry.load()
        assert loaded.name == name
        stub = click.Command(name, help=entry.summary)
        for limit in (20, 45, 60, 80, 200):
            assert stub.get_short_help_str(limit) == loaded.get_short_help_str(limit), name


def test_lazy_help_is_the_eager_help(lic_cli):
    """`lic --help` and `lic ledger --help` read the same as with every command loaded."""
    runner = CliRunner()  # for the eager copy only: it is not `lic`
    for group, table in ((cli, COMMANDS), (ledger_group, LEDGER_COMMANDS)):
        path = [] if group is cli else ["ledger"]
        eager = click.Group(group.name, help=group.help, params=group.params,
                            context_settings=cli.context_settings)  # fmt: skip
        for name, entry in table.items():
            eager.add_command(entry.load(), name)
        group.commands.clear()  # as a fresh process has it
        lazy_out = lic_cli(*path, "--help").output
        eager_out = runner.invoke(eager, ["--help"], prog_name=" ".join(["lic", *path])).output
        assert lazy_out == eager_out

"""Every command of `lic` has working --help and a section in docs/cli.md.

Generic on purpose: it walks the click tree of cli.main.cli, so commands added later are
covered without touching this file.
"""

import re

import click

from cli.main import cli
from helpers.paths import ROOT

DOCS = ROOT / "docs" / "cli.md"


def _walk(group: click.Group, prefix: tuple[str, ...] = ()):
    # list_commands/get_command, not group.commands: the groups load their commands lazily
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None, (*prefix, name)
        path = (*prefix, name)
        yield path, cmd
        if isinstance(cmd, click.Group):
            yield from _walk(cmd, path)


COMMANDS = list(_walk(cli))


def _documented() -> set[str]:
    return set(re.findall(r"^#+ `(lic(?: [a-z0-9-]+)*)`\s*$", DOCS.read_text(), re.M))


def test_tree_is_not_empty():
    assert len(COMMANDS) >= 10  # keys and trust groups and their commands, at least


def test_every_command_has_help(lic_cli):
    for path, cmd in [((), cli), *COMMANDS]:
        res = lic_cli(*path, "--help", code=None)
        assert res.exit_code == 0, (path, res.output)
        assert res.output.startswith(f"Usage: lic {' '.join(path)}".rstrip()), res.output
        assert cmd.help and cmd.help.strip(), f"lic {' '.join(path)} has no help text"
        res = lic_cli(*path, "-h", code=None)
        assert res.exit_code == 0, (path, res.output)


def test_every_command_is_documented():
    documented = _documented()
    missing = [f"lic {' '.join(p)}" for p, _ in COMMANDS if f"lic {' '.join(p)}" not in documented]
    assert not missing, f"docs/cli.md lacks a heading for: {missing}"
    assert "lic" in documented


def test_every_documented_command_exists():
    existing = {"lic"} | {f"lic {' '.join(p)}" for p, _ in COMMANDS}
    stale = sorted(_documented() - existing)
    assert not stale, f"docs/cli.md documents commands that do not exist: {stale}"


def test_version(lic_cli):
    res = lic_cli("--version", code=None)
    assert res.exit_code == 0
    assert re.fullmatch(r"lic, version \S+\n", res.output)


def test_every_out_option_takes_o_too():
    """`-o FILE` is what users type for an output file: every command whose option is --out
    takes -o as well (bundle create, bundle update, report, tiles, prove and show lacked it)."""
    lacking = [
        " ".join(path)
        for path, cmd in COMMANDS
        for p in cmd.params
        if isinstance(p, click.Option) and "--out" in p.opts and "-o" not in p.opts
    ]
    assert not lacking, lacking
    assert any(
        isinstance(p, click.Option) and "--out" in p.opts for _, cmd in COMMANDS for p in cmd.params
    )

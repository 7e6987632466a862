"""The README's two commands and CI stay in step."""

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_readme_opens_with_main_job_then_tests():
    cmds = readme_commands()
    assert len(cmds) >= 2
    assert ".venv/bin/lic " in cmds[0]
    assert cmds[1].endswith("-m pytest")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    line = re.search(r'^TEST_COMMAND="(.+)"$', ci, re.M)
    assert line is not None
    assert line.group(1) == readme_commands()[1]
    assert 'bash -c "$TEST_COMMAND"' in ci

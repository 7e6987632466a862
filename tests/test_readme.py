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
    assert cmds[1] == "bash .ci/test"


def test_the_test_command_installs_what_the_tests_need_then_runs_pytest():
    script = (ROOT / ".ci" / "test").read_text()
    # The browser test fails (never skips) without Chromium: the command itself installs it.
    assert "apt-get install" in script and "chromium" in script
    install = script.index("pip install -q -e '.[test]'")
    assert install < script.index("-m pytest")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    line = re.search(r'^TEST_COMMAND="(.+)"$', ci, re.M)
    assert line is not None
    assert line.group(1) == readme_commands()[1]
    assert 'bash -c "$TEST_COMMAND"' in ci

"""The audit summary names open incidents by count and the first few (issue 14 item 18): at
scale the text stays one short line; --json keeps every index."""

import pytest


@pytest.fixture(scope="module")
def demo(demo_dir, lic_cli):
    d = demo_dir("open-incidents")
    run = lic_cli.with_env(LIC_HOME=d / "keys")
    for i in range(12):
        run("ledger", "incident", "report", "--db", d / "ledger.db", "--harm", "privacy",
            "--severity", "high", "--jurisdiction", "DE", "--token", d / "contractor.jwt",
            "--description", f"report {i}", "--anonymous")  # fmt: skip
    return d


def audit(lic_cli, d, *extra):
    return lic_cli.with_env(LIC_HOME=d / "keys")("ledger", "audit", "--db", d / "ledger.db", *extra)


def test_the_text_gives_the_count_and_the_first_ten(demo, lic_cli):
    line = next(x for x in audit(lic_cli, demo).stdout.splitlines() if "open incidents" in x)
    every = audit(lic_cli, demo, "--json").json["open_incidents"]
    assert len(every) == 12
    first = ", ".join(map(str, every[:10]))
    assert line == f"open incidents: 12 ({first} ... and 2 more)"

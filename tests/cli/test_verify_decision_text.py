"""``lic verify`` shows what the decision says (issue 14 item 18): the duties on PERMIT, each
reason's expected and actual values on DENY, and the same JSON duty shape as ``lic token check``."""

import pytest

DIGEST = "3f0a6c1e9b7d2a4c5e8f1b3d6a9c2e4f7b0d3a6c9e2f5b8d1a4c7e0f3b6d9a2c"
USE = ["--region", "DE", "--no-data", "--model-digest", DIGEST]
PERMIT = ["--action", "run", "--purpose", "research.academic", *USE]
DENY = ["--action", "host", "--purpose", "research.academic", *USE]


@pytest.fixture(scope="module")
def demo(demo_dir):
    return demo_dir("verify-decision")


def verify(lic_cli, d, use, *extra, code=0):
    return lic_cli.with_env(LIC_HOME=d / "keys")(
        "verify", "--bundle", d / "contractor.bundle", "--policy", d / "policy.json", *use,
        *extra, code=code,
    )  # fmt: skip


def check(lic_cli, d, use, *extra, code=0):
    return lic_cli.with_env(LIC_HOME=d / "keys")(
        "token", "check", d / "licensee.jwt", d / "contractor.jwt", "--trust",
        d / "verifier-trust.json", *use, *extra, code=code,
    )  # fmt: skip


def test_a_permit_lists_the_duties_that_apply(demo, lic_cli):
    out = verify(lic_cli, demo, PERMIT).stdout
    assert "duty          attribute text=Built with example-lm-7b (research license)" in out
    assert "duty          report-incidents within=P7D" in out


def test_a_deny_gives_each_reason_with_its_expected_and_actual_value(demo, lic_cli):
    out = verify(lic_cli, demo, DENY, code=1).stdout
    line = next(x for x in out.splitlines() if x.strip().startswith("deny") and "action" in x)
    assert "action: action is prohibited; expected " in line and "; got host" in line
    assert "duty " not in out


def test_verify_and_token_check_give_one_duty_shape(demo, lic_cli):
    by_verify = verify(lic_cli, demo, PERMIT, "--json").json["decision"]
    by_check = check(lic_cli, demo, PERMIT, "--json").json
    assert by_verify["duties"] == by_check["duties"]
    assert {"duty": "report-incidents", "within": "P7D"} in by_verify["duties"]
    assert by_verify["reasons"] == by_check["reasons"] == []
    denied = verify(lic_cli, demo, DENY, "--json", code=1).json["decision"]
    assert denied["reasons"] == check(lic_cli, demo, DENY, "--json", code=1).json["reasons"]

"""Common mistakes get a hint on the error line (issue 14 item 18), found by the file's content:
a sublicense verified alone, a policy given as a trust store and a trust store as a policy, a
license token given as a bundle."""

import json

import pytest

DIGEST = "3f0a6c1e9b7d2a4c5e8f1b3d6a9c2e4f7b0d3a6c9e2f5b8d1a4c7e0f3b6d9a2c"
USE = ["--action", "run", "--purpose", "research.academic", "--region", "DE", "--no-data",
       "--model-digest", DIGEST]  # fmt: skip
SUBLICENSE = "a sublicense verifies with its chain, root first:"


@pytest.fixture(scope="module")
def demo(demo_dir):
    return demo_dir("hints")


@pytest.fixture
def run(demo, lic_cli):
    return lic_cli.with_env(LIC_HOME=demo / "keys")


def hint(result):
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lic: error: "), result.stderr
    return lines[0].partition("; hint: ")[2]


def test_a_sublicense_verified_alone(demo, run):
    trust = ["--trust", demo / "verifier-trust.json"]
    r = run("token", "verify", demo / "contractor.jwt", *trust, code=1)
    assert (
        hint(r) == "a sublicense verifies with its chain, root first: lic token verify PARENT CHILD"
    )
    r = run("token", "check", demo / "contractor.jwt", *trust, *USE, code=1)
    assert (
        hint(r) == "a sublicense verifies with its chain, root first: lic token check PARENT CHILD"
    )
    r = run("token", "verify", demo / "contractor.jwt", demo / "licensee.jwt", *trust, code=1)
    assert "root first" in hint(r)


def test_a_root_license_that_fails_gets_no_sublicense_hint(demo, run):
    r = run("token", "verify", demo / "licensee.jwt", "--trust", demo / "policy.json", code=2)
    assert "sublicense" not in r.stderr


def test_a_policy_given_as_a_trust_store(demo, run):
    r = run("token", "verify", demo / "licensee.jwt", "--trust", demo / "policy.json", code=2)
    assert hint(r).startswith(f"{demo / 'policy.json'} is a trust policy, not a trust store")
    r = run("policy", "create", "--quorum", "1", "--max-age", "P7D", "-o", demo / "p.json",
            "--trust", demo / "policy.json", code=2)  # fmt: skip
    assert "is a trust policy, not a trust store" in hint(r)


def test_a_trust_store_given_as_a_policy(demo, run):
    store = demo / "verifier-trust.json"
    r = run("verify", "--bundle", demo / "contractor.bundle", "--policy", store, *USE, code=2)
    assert hint(r) == (f"{store} is a trust store, not a trust policy: make a policy from it "
                       f"with lic policy create --trust {store}")  # fmt: skip


def test_a_token_given_as_a_bundle(demo, run):
    jwt = demo / "contractor.jwt"
    r = run("verify", "--bundle", jwt, "--policy", demo / "policy.json", *USE, code=2)
    assert hint(r) == (f"{jwt} is a license token, not a bundle: make a bundle with "
                       f"lic bundle create {jwt} --chain PARENT --db LEDGER")  # fmt: skip


def test_the_hint_is_in_the_json_error_too(demo, run):
    r = run("verify", "--bundle", demo / "contractor.jwt", "--policy", demo / "policy.json",
            *USE, "--json", code=2)  # fmt: skip
    assert "; hint: " in json.loads(r.stderr)["error"]


def test_a_mistake_of_another_kind_gets_no_hint(demo, run):
    bad = demo / "garbage.bundle"
    bad.write_bytes(b"not a bundle at all\n")
    r = run("verify", "--bundle", bad, "--policy", demo / "policy.json", *USE, code=2)
    assert "; hint:" not in r.stderr


def test_a_deeply_nested_file_gets_its_error_and_no_hint(demo, run):
    deep = demo / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    r = run("token", "verify", demo / "licensee.jwt", "--trust", deep, code=2)
    assert "; hint:" not in r.stderr and r.stderr.startswith("lic: error: ")

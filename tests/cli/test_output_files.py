"""Every command with an output-file option writes its file, with and without --json (issue 14
item 1); token issue and delegate refuse to replace an existing file unless --force (item 2)."""

import json

import pytest


@pytest.fixture(scope="module")
def demo(demo_dir):
    return demo_dir("out")


@pytest.fixture(scope="module")
def run(demo, lic_cli):
    return lic_cli.with_env(LIC_HOME=demo / "keys")


# Each command with an output file, as a template: {d} is the demo directory, {out} the file.
COMMANDS = {
    "token issue": "token issue --key issuer --holder {d}/licensee.jwk"
    " --license {d}/academic.toml --out {out}",
    "token delegate": "token delegate --parent {d}/licensee.jwt --key licensee"
    " --holder {d}/contractor.jwk --license {d}/contractor.toml -o {out}",
    "token present": "token present {d}/licensee.jwt --key licensee --audience hub"
    " --nonce n-1 -o {out}",
    "keys export": "keys export issuer --format pem -o {out}",
    "policy create": "policy create --quorum 1 --max-age P7D --trust {d}/verifier-trust.json"
    " -o {out}",
    "ledger prove": "ledger prove --index 3 --db {d}/ledger.db --out {out}",
    "ledger show": "ledger show --index 3 --db {d}/ledger.db --out {out}",
    "ledger export": "ledger export --db {d}/ledger.db --jsonl {out}",
    "bundle create": "bundle create {d}/licensee.jwt --db {d}/ledger.db --out {out}",
}


def command(name, d, out):
    return COMMANDS[name].format(d=d, out=out).split()


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_output_file_is_written(demo, run, name, as_json):
    out = demo / f"{name.replace(' ', '-')}-{'json' if as_json else 'text'}.out"
    args = command(name, demo, out)
    printed = run.output(*args, *(["--json"] if as_json else []))
    assert out.is_file() and out.stat().st_size > 0, (name, printed)
    if as_json:
        json.loads(printed)


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_the_report_directory_is_written(demo, run, as_json):
    out = demo / f"report-{as_json}"
    printed = run.output("ledger", "report", "--db", demo / "ledger.db", "--out", out,
                         *(["--json"] if as_json else []))  # fmt: skip
    assert (out / "report.json").is_file() and (out / "index.html").is_file(), printed


@pytest.mark.parametrize("name", ["token issue", "token delegate"])
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_an_existing_token_file_is_kept_unless_forced(demo, run, name, as_json):
    out = demo / f"existing-{name.replace(' ', '-')}-{as_json}.jwt"
    out.write_bytes(b"a granted token\n")
    flag = ["--json"] if as_json else []
    printed = run.output(*command(name, demo, out), *flag, code=2)
    assert "already exists" in printed and "--force" in printed
    assert out.read_bytes() == b"a granted token\n"
    run.output(*command(name, demo, out), "--force", *flag)
    assert out.read_bytes() != b"a granted token\n"
    assert out.read_bytes().count(b".") == 2  # a JWT now

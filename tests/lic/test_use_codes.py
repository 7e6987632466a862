"""Unknown codes are malformed input everywhere, never a deny, and the error lists the known
codes; region codes are read case-insensitively (issue 14 item 19)."""

import json

import pytest
from click.testing import CliRunner

import lic
from cli.main import cli
from keys import MalformedError
from ledger.entries import open_entry
from ledger.store import Ledger

FIELDS = [
    ("action", "actions", "run.inference"),
    ("purpose", "purposes", "research.academic"),
    ("purpose", "prohibited_uses", "surveillance.biometric"),
    ("channel", "channels", None),
    ("platform", "platforms", None),
]


@pytest.mark.parametrize(("field", "kind", "example"), FIELDS)
def test_an_unknown_code_in_a_use_is_malformed_and_lists_the_known_ones(field, kind, example):
    with pytest.raises(MalformedError) as e:
        lic.Use(**{field: "no.such.code"})
    message = str(e.value)
    assert f"use {field}: unknown code 'no.such.code'" in message
    for code in lic.vocabulary(kind):
        assert code in message
    for code in lic.vocabulary(kind):
        assert getattr(lic.Use(**{field: code}), field) == code
    assert getattr(lic.Use(**{field: "x-acme.own"}), field) == "x-acme.own"  # custom codes


def test_unknown_data_categories_and_regions_are_malformed():
    with pytest.raises(MalformedError, match=r"use data: unknown code 'personal\.dna'.*health"):
        lic.Use(data=frozenset({"personal.dna"}))
    with pytest.raises(MalformedError) as e:
        lic.Use(region="XX")
    assert all(c in str(e.value) for c in lic.countries())


@pytest.mark.parametrize("spelling", ["de", "De", "dE", "DE"])
def test_regions_are_read_in_any_letter_case(spelling):
    assert lic.Use(region=spelling).region == "DE"
    assert lic.normalize_region(spelling, "region") == "DE"
    assert lic.normalize_region("eu", "region") == "EU"
    with pytest.raises(MalformedError):
        lic.normalize_region("eu", "region", groups=False)


def test_a_license_file_region_in_lower_case_is_issued_in_upper_case():
    text = b"""
tier = "academic"
[model]
name = "m"
sha256 = "%s"
[terms]
id = "t"
version = "1"
sha256 = "%s"
[permit]
regions = ["de", "eu"]
""" % (b"a" * 64, b"b" * 64)
    assert lic.load_license(text, fmt="toml").permit.regions == ("DE", "EU")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("codes") / "d"
    r = CliRunner().invoke(cli, ["demo", "--dir", str(d)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return d


def check(d, *use):
    r = CliRunner(env={"LIC_HOME": str(d / "keys")}).invoke(
        cli,
        ["token", "check", str(d / "licensee.jwt"), "--trust", str(d / "verifier-trust.json"),
         "--at", str(lic.decode_unverified((d / "licensee.jwt").read_bytes().strip()).nbf),
         "--no-data", *use],
        catch_exceptions=False,
    )  # fmt: skip
    assert "Traceback" not in r.output
    return r


def test_token_check_refuses_unknown_codes_with_exit_2(demo):
    base = ["--purpose", "research.academic", "--region", "DE"]
    r = check(demo, "--action", "fly", *base)
    assert r.exit_code == 2 and "unknown code 'fly'" in r.output and "run.inference" in r.output
    assert "DENY" not in r.output
    r = check(demo, "--action", "run", "--purpose", "research.academic", "--region", "XX")
    assert r.exit_code == 2 and "'XX'" in r.output and "DE" in r.output
    r = check(demo, "--action", "run", "--purpose", "research.academic", "--region", "de")
    assert r.exit_code == 3 and r.output.startswith("INDETERMINATE")  # no model digest given
    r = check(demo, "--action", "host", *base)  # a known code the license does not permit
    assert r.exit_code == 1 and r.output.startswith("DENY")


def test_incident_jurisdictions_are_listed_regions(demo):
    def report(jurisdiction):
        return CliRunner(env={"LIC_HOME": str(demo / "keys")}).invoke(
            cli,
            ["ledger", "incident", "report", "--harm", "privacy", "--severity", "low",
             "--jurisdiction", jurisdiction, "--description", "d", "--anonymous",
             "--db", str(demo / "ledger.db"), "--json"],
            catch_exceptions=False,
        )  # fmt: skip

    r = report("ZZ")
    assert r.exit_code == 2 and "'ZZ'" in r.output and "DE" in r.output
    r = report("de")
    assert r.exit_code == 0, r.output
    with Ledger.open(demo / "ledger.db") as led:
        entry = open_entry(led.record(json.loads(r.output)["index"]))
    assert entry.payload["jurisdictions"] == ["DE"]

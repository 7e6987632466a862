"""Unknown codes are malformed input everywhere, never a deny, and the error lists the known
codes; region codes are read case-insensitively (issue 14 item 19)."""

import pytest

import lic
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
def demo(demo_dir):
    return demo_dir("codes")


@pytest.fixture(scope="module")
def run(demo, lic_cli):
    return lic_cli.with_env(LIC_HOME=demo / "keys")


def check(run, d, *use, code):
    """`lic token check` of the demo's license at its start, for the USE options."""
    nbf = lic.decode_unverified((d / "licensee.jwt").read_bytes().strip()).nbf
    return run("token", "check", d / "licensee.jwt", "--trust", d / "verifier-trust.json",
               "--at", nbf, "--no-data", *use, code=code).output  # fmt: skip


def test_token_check_refuses_unknown_codes_with_exit_2(demo, run):
    base = ["--purpose", "research.academic", "--region", "DE"]
    out = check(run, demo, "--action", "fly", *base, code=2)
    assert "unknown code 'fly'" in out and "run.inference" in out
    assert "DENY" not in out
    out = check(run, demo, "--action", "run", "--purpose", "research.academic", "--region", "XX",
                code=2)  # fmt: skip
    assert "'XX'" in out and "DE" in out
    out = check(run, demo, "--action", "run", "--purpose", "research.academic", "--region", "de",
                code=3)  # fmt: skip
    assert out.startswith("INDETERMINATE")  # no model digest given
    # a known code the license does not permit
    out = check(run, demo, "--action", "host", *base, code=1)
    assert out.startswith("DENY")


def test_incident_jurisdictions_are_listed_regions(demo, run):
    def report(jurisdiction, code):
        return run("ledger", "incident", "report", "--harm", "privacy", "--severity", "low",
                   "--jurisdiction", jurisdiction, "--description", "d", "--anonymous",
                   "--db", demo / "ledger.db", "--json", code=code)  # fmt: skip

    out = report("ZZ", code=2).output
    assert "'ZZ'" in out and "DE" in out
    index = report("de", code=0).json["index"]
    with Ledger.open(demo / "ledger.db") as led:
        entry = open_entry(led.record(index))
    assert entry.payload["jurisdictions"] == ["DE"]

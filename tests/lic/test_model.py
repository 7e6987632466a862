"""License files, the license model and the vocabulary data."""

import json
import re

import pytest

import lic
from helpers.licenses import ACADEMIC, COMMERCIAL, OPEN_RAIL, ROOT, example
from keys import MalformedError
from lic import _vocab


def test_the_three_examples_load():
    for name in (ACADEMIC, COMMERCIAL, OPEN_RAIL):
        license = example(name)
        assert lic.License.from_mapping(license.to_claim(), known_codes=True) == license
    assert example(COMMERCIAL).limits.rate == lic.Rate(100000, "PT1H")
    assert example(ACADEMIC).permit.purposes == (
        "research.academic",
        "research.safety",
        "education",
    )
    assert example(OPEN_RAIL).permit.actions is None


def test_toml_and_json_forms_of_a_license_are_the_same():
    license = example(COMMERCIAL)
    as_json = json.dumps(license.to_claim()).encode()
    assert lic.load_license(as_json) == license
    assert lic.load_license(as_json, fmt="json") == license


def mutate(**changes):
    claim = example(COMMERCIAL).to_claim()
    for path, value in changes.items():
        obj = claim
        *parents, last = path.split("__")
        for p in parents:
            obj = obj[p]
        if value is KeyError:
            del obj[last]
        else:
            obj[last] = value
    return claim


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"permit__purposes": ["enterprise", "enterprise.time-travel"]}, "unknown code"),
        ({"permit__actions": ["run", "Run"]}, "not a code"),
        ({"permit__actions": []}, "empty allow-list"),
        ({"permit__actions": ["run", "run"]}, "twice"),
        ({"permit__regions": ["XX"]}, "unknown region"),
        ({"permit__regions": ["d e"]}, "not a region"),
        ({"prohibit__data": ["personal.dna"]}, "unknown code"),
        ({"prohibit__platforms": ["metaverse"]}, "unknown code"),
        ({"permit__channels": ["carrier-pigeon"]}, "unknown code"),
        ({"tier": "megacorp"}, "unknown code"),
        ({"duties__sing-anthem": {}}, "unknown code"),
        ({"duties__report-incidents": {"within": "P1M"}}, "duration"),
        ({"duties__report-incidents": {"within": "P3D", "to": "x"}}, "unknown parameter"),
        ({"model__sha256": "ABC"}, "hex"),
        ({"model": KeyError}, "missing member"),
        ({"terms__extra": "x"}, "unknown member"),
        ({"limits__mau": -5}, "integer"),
        ({"limits__mau": 1.5}, "integer"),
        ({"limits__mau": True}, "integer"),
        ({"limits__rate": {"count": 5, "per": "P1Y"}}, "duration"),
        ({"limits__rate": {"count": 5, "per": "PT0S"}}, "zero"),
        ({"sublicense": {"allowed": True, "max_depth": 0}}, "allowed"),
        ({"sublicense": {"allowed": False, "max_depth": 2}}, "allowed"),
        ({"sublicense": {"allowed": True, "max_depth": 17}}, "at most 16"),
        ({"sublicense": {"allowed": "yes"}}, "true or false"),
        ({"v": 2}, "version"),
        ({"surprise": 1}, "unknown member"),
    ],
)
def test_bad_licenses_are_refused_at_issuance(changes, fragment):
    with pytest.raises(MalformedError, match=fragment):
        lic.License.from_mapping(mutate(**changes), known_codes=True)


def test_custom_codes_are_allowed_and_verification_only_checks_syntax():
    claim = mutate(permit__purposes=["x-acme.special"], tier="x-partner")
    claim["duties"]["x-custom-duty"] = {"anything": "goes"}
    assert lic.License.from_mapping(claim, known_codes=True).tier == "x-partner"
    newer = mutate(permit__purposes=["enterprise.future-code"])
    assert lic.License.from_mapping(newer, known_codes=False).permit.purposes == (
        "enterprise.future-code",
    )


def test_license_files_are_strict():
    with pytest.raises(MalformedError, match="TOML"):
        lic.load_license(b"tier = ")
    with pytest.raises(MalformedError, match="duplicate"):
        lic.load_license(b'{"tier": "sme", "tier": "sme"}')
    with pytest.raises(MalformedError, match="larger"):
        lic.load_license(b"#" * (64 * 1024 + 1))
    with pytest.raises(MalformedError, match="parent"):
        lic.load_license(
            json.dumps({**example(COMMERCIAL).to_claim(), "parent": "a" * 64}).encode()
        )
    with pytest.raises(MalformedError, match=r"UTF-8|TOML"):
        lic.load_license(b"tier = '\xff'")


def test_durations():
    assert lic.parse_duration("PT1H") == 3600
    assert lic.parse_duration("P1W2DT3H4M5S") == 9 * 86400 + 3 * 3600 + 4 * 60 + 5
    for bad in ("P", "PT", "P1Y", "P1M", "1H", "PT1.5S", "P-1D", "PT1H ", "p1d", 5, None, "P1DT"):
        with pytest.raises(MalformedError):
            lic.parse_duration(bad)


# --- the vocabulary data ----------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(lic.CODE_LISTS))
def test_code_lists_are_well_formed_and_hierarchically_closed(kind):
    codes = lic.vocabulary(kind)
    assert codes
    for code in codes:
        assert _vocab.check_code_syntax(code, kind) == code
        assert not code.startswith("x-")
        parts = code.split(".")
        for i in range(1, len(parts)):
            assert ".".join(parts[:i]) in codes, f"{code}: parent missing"


def test_purposes_tell_research_enterprise_and_consumer_apart():
    purposes = lic.vocabulary("purposes")
    assert {"research", "enterprise", "consumer"} <= purposes
    assert not purposes & lic.vocabulary("prohibited_uses")


def test_prohibited_uses_cite_rail_llama_and_the_ai_act():
    data = json.loads((ROOT / "lic" / "data" / "prohibited_uses.json").read_text())
    sources = {s for e in data["codes"].values() for s in e["sources"]}
    assert {s.rsplit("-", 1)[0] for s in sources} == {"RAIL", "LLAMA-AUP", "AIA"}
    assert {f"RAIL-A.{n}" for n in range(1, 11)} <= sources
    aia5 = {s for e in data["codes"].values() for s in e["sources"] if s.startswith("AIA-5.1.")}
    assert aia5 == {f"AIA-5.1.{c}" for c in "abcdefgh"}  # every Art. 5(1) practice
    annex = {s.split(".")[0] + "." + s.split(".")[1] for e in data["codes"].values()
             for s in e["sources"] if s.startswith("AIA-III.")}  # fmt: skip
    assert annex == {f"AIA-III.{n}" for n in range(1, 9)}  # every Annex III area


def test_regions_cover_iso_3166_alpha_2_and_groups():
    countries = lic.countries()
    assert len(countries) == 249
    assert {"DE", "FR", "US", "CN", "AQ", "SS", "XK"} - {"XK"} <= countries
    groups = lic.region_groups()
    assert len(groups["EU"]) == 27 and groups["EU"] < groups["EEA"]
    assert groups["EEA"] - groups["EU"] == {"IS", "LI", "NO"}
    for name, members in groups.items():
        assert members <= countries and name not in countries


def test_spec_lists_every_code():
    spec = (ROOT / "SPEC.md").read_text()
    section = spec[spec.index("## 5. Vocabulary") : spec.index("## 6.")]
    for kind in lic.CODE_LISTS:
        for code in lic.vocabulary(kind):
            assert re.search(rf"`{re.escape(code)}`", section), (kind, code)
    for country in lic.countries():
        assert country in section
    for group in lic.region_groups():
        assert f"`{group}`" in section

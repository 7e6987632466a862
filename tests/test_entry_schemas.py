"""Every entry type's schema: its example passes, and every systematic breakage is named."""

import pytest
from entry_examples import examples

from keys import MalformedError
from ledger._entry_types import ENTRY_SCHEMAS, ENTRY_TYPES, entry_problems, validate_entry
from ledger._schema import Opt

EXAMPLES = examples()
WRONG_VALUES = [True, -1, "x", b"x", [], {}, None, 2**70]


def test_every_type_has_an_example():
    assert set(EXAMPLES) == ENTRY_TYPES


@pytest.mark.parametrize("etype", sorted(ENTRY_TYPES))
def test_example_is_valid(etype):
    assert entry_problems(etype, EXAMPLES[etype]) == []
    validate_entry(etype, EXAMPLES[etype])


@pytest.mark.parametrize("etype", sorted(ENTRY_TYPES))
def test_every_required_member_missing_is_named(etype):
    for name, spec in ENTRY_SCHEMAS[etype].fields.items():
        if isinstance(spec, Opt) or name not in EXAMPLES[etype]:
            continue
        bad = {k: v for k, v in EXAMPLES[etype].items() if k != name}
        assert (name, "missing") in entry_problems(etype, bad)


@pytest.mark.parametrize("etype", sorted(ENTRY_TYPES))
def test_every_member_with_a_wrong_value_is_named(etype):
    for name, value in EXAMPLES[etype].items():
        for wrong in WRONG_VALUES:
            if type(wrong) is type(value):
                continue  # a value of the right type may well be valid
            bad = {**EXAMPLES[etype], name: wrong}
            paths = [p for p, _ in entry_problems(etype, bad)]
            if name == "predicate":  # any CBOR value is a valid in-toto predicate here
                assert paths == []
                continue
            assert any(p == name or p.startswith((f"{name}.", f"{name}[")) for p in paths), (
                etype,
                name,
                wrong,
                paths,
            )


@pytest.mark.parametrize("etype", sorted(ENTRY_TYPES))
def test_unknown_members_are_refused(etype):
    assert ("smuggled", "unknown member") in entry_problems(
        etype, {**EXAMPLES[etype], "smuggled": 1}
    )


def test_cross_field_rules():
    grant = {**EXAMPLES["grant"], "not_after": EXAMPLES["grant"]["not_before"]}
    assert ("not_after", "must be later than not_before") in entry_problems("grant", grant)
    revoke = {k: v for k, v in EXAMPLES["revoke"].items() if k != "tokens"}
    assert any(p == "tokens" for p, _ in entry_problems("revoke", revoke))


def test_custom_codes_only_where_allowed():
    ok = {**EXAMPLES["incident.report"], "harms": ["x-model-collapse"]}
    assert entry_problems("incident.report", ok) == []
    bad = {**EXAMPLES["revoke"], "reason": "x-because"}
    assert [p for p, _ in entry_problems("revoke", bad)] == ["reason"]


def test_validate_entry_names_every_problem_in_one_error():
    with pytest.raises(
        MalformedError, match=r"grant entry: .*licensee: missing.*tier: unknown code"
    ):
        validate_entry(
            "grant",
            {
                **{k: v for k, v in EXAMPLES["grant"].items() if k != "licensee"},
                "tier": "galactic",
            },
        )


def test_unknown_type():
    assert entry_problems("nonsense", {}) == [("type", "unknown entry type 'nonsense'")]

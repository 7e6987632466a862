"""Every entry type's schema: its example passes, and every systematic breakage is named."""

import pytest

from helpers.entry_examples import examples
from keys import MalformedError
from ledger.entries import ENTRY_SCHEMAS, ENTRY_TYPES, entry_problems, validate_entry
from ledger.entries._schema import Opt

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


# -- ok() is the fast accept path of problems(): the two must always agree ----------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_SCALARS = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from([0, 1, 2**63 - 1, 2**63, True, False, None]),
    st.text(max_size=40),
    st.sampled_from(["", "a\x00b", "a\tb\nc", "a\x0bb", "US", "EU", "x-custom", "x-", "1.0"]),
    st.binary(max_size=40),
    st.sampled_from([bytes(31), bytes(32), bytes(33)]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


@st.composite
def _mutated(draw):
    etype = draw(st.sampled_from(sorted(ENTRY_TYPES)))
    payload = dict(EXAMPLES[etype])
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["set", "drop", "add", "nest"]))
        names = sorted(set(payload) | set(ENTRY_SCHEMAS[etype].fields))
        name = draw(st.sampled_from(names))
        if action == "set":
            payload[name] = draw(_VALUES)
        elif action == "drop":
            payload.pop(name, None)
        elif action == "add":
            payload[draw(st.text(max_size=8))] = draw(_VALUES)
        elif isinstance(payload.get(name), list) and payload[name]:
            items = list(payload[name])
            items[draw(st.integers(0, len(items) - 1))] = draw(_VALUES)
            payload[name] = items + draw(st.lists(st.sampled_from(items), max_size=1))
        elif isinstance(payload.get(name), dict) and payload[name]:
            inner = dict(payload[name])
            inner[draw(st.sampled_from(sorted(inner)))] = draw(_VALUES)
            payload[name] = inner
    return etype, payload


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_ok_agrees_with_problems(case):
    etype, payload = case
    schema = ENTRY_SCHEMAS[etype]
    assert schema.ok(payload) == (list(schema.problems(payload, "")) == [])


def test_ok_refuses_each_systematic_breakage():
    for etype, example in EXAMPLES.items():
        schema = ENTRY_SCHEMAS[etype]
        assert schema.ok(example)
        for name in example:
            for wrong in WRONG_VALUES:
                bad = {**example, name: wrong}
                assert schema.ok(bad) == (list(schema.problems(bad, "")) == [])
        assert not schema.ok({**example, "smuggled": 1})

"""Evaluation of a use against a license: unit cases for every field and Hypothesis properties."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lic
from helpers.licenses import ACADEMIC, COMMERCIAL, OPEN_RAIL, example
from keys import MalformedError

COM = example(COMMERCIAL)
DIGEST = COM.model.sha256


def full_use(**over):
    base = dict(
        action="run.inference", purpose="enterprise.product", region="DE", channel="api.public",
        platform="search", data=frozenset({"proprietary"}), rate=lic.Rate(100, "PT1M"),
        mau=5000, model_digest=DIGEST,
    )  # fmt: skip
    base.update(over)
    return lic.Use(**base)


def test_a_complete_matching_use_is_permitted_with_duties():
    d = lic.evaluate(COM, full_use())
    assert d.effect == "permit" and d.reasons == ()
    assert dict(d.duties) == {
        "disclose-ai-output": (),
        "permit-audit": (),
        "propagate-restrictions": (),
        "report-incidents": (("within", "P3D"),),
        "retain-logs": (("period", "P180D"),),
    }
    assert d.to_dict()["duties"][3] == {"duty": "report-incidents", "within": "P3D"}


@pytest.mark.parametrize(
    ("over", "field", "effect"),
    [
        ({"model_digest": "0" * 64}, "model", "deny"),
        ({"model_digest": None}, "model", "indeterminate"),
        ({"action": "modify.fine-tune.full"}, "action", "deny"),
        ({"action": "modify"}, "action", "deny"),
        ({"action": None}, "action", "indeterminate"),
        ({"purpose": "consumer.assistant"}, "purpose", "deny"),
        ({"purpose": "surveillance.biometric.realtime"}, "purpose", "deny"),
        ({"purpose": "x-acme.internal-thing"}, "purpose", "deny"),
        ({"purpose": None}, "purpose", "indeterminate"),
        ({"region": "US"}, "region", "deny"),
        ({"region": None}, "region", "indeterminate"),
        ({"channel": "device.mobile"}, "channel", "deny"),
        ({"channel": None}, "channel", "indeterminate"),
        ({"platform": "advertising.political"}, "platform", "deny"),
        ({"platform": "advertising"}, "platform", "indeterminate"),
        ({"platform": None}, "platform", "indeterminate"),
        ({"data": frozenset({"personal.special.biometric"})}, "data", "deny"),
        ({"data": frozenset({"personal"})}, "data", "indeterminate"),
        ({"data": None}, "data", "indeterminate"),
        ({"rate": lic.Rate(100001, "PT1H")}, "rate", "deny"),
        ({"rate": lic.Rate(28, "PT1S")}, "rate", "deny"),
        ({"rate": None}, "rate", "indeterminate"),
        ({"mau": 1000001}, "mau", "deny"),
        ({"mau": None}, "mau", "indeterminate"),
    ],
)
def test_each_constraint_alone(over, field, effect):
    d = lic.evaluate(COM, full_use(**over))
    assert d.effect == effect
    assert {r.field for r in d.reasons} == {field}
    r = d.reasons[0]
    assert r.effect == effect and r.message and r.expected
    supplied = next(iter(over.values())) is not None
    assert (r.actual is not None) == supplied
    assert (d.duties == ()) == (effect == "deny")


def test_limits_at_the_boundary_are_permitted():
    assert lic.evaluate(COM, full_use(rate=lic.Rate(100000, "PT1H"), mau=1000000)).permitted
    assert lic.evaluate(COM, full_use(rate=lic.Rate(2400000, "P1D"))).permitted
    assert not lic.evaluate(COM, full_use(rate=lic.Rate(2400001, "P1D"))).permitted


def test_region_groups_expand():
    for country in ("NO", "IS", "LI", "CH", "FR", "MT"):
        assert lic.evaluate(COM, full_use(region=country)).permitted
    for country in ("GB", "US", "TR"):
        assert lic.evaluate(COM, full_use(region=country)).effect == "deny"


def test_a_prohibition_beats_a_permission_and_all_reasons_are_listed():
    d = lic.evaluate(example(ACADEMIC), full_use(action="host.api", purpose="enterprise"))
    assert d.effect == "deny"
    fields = [r.field for r in d.reasons]
    assert fields.count("action") == 2 and fields.count("purpose") == 2
    assert "model" in fields  # the digest of another model: every reason is reported


def test_open_license_permits_broadly_but_not_prohibited_uses():
    rail = example(OPEN_RAIL)
    ok = lic.Use(purpose="enterprise", model_digest=rail.model.sha256)
    assert lic.evaluate(rail, ok).permitted
    bad = dataclasses.replace(ok, purpose="medical.advice")
    assert lic.evaluate(rail, bad).effect == "deny"
    vague = dataclasses.replace(ok, purpose="medical")
    assert lic.evaluate(rail, vague).effect == "indeterminate"


def test_use_time_is_checked_against_a_verified_tokens_window():
    from helpers.licenses import LIFETIME, NOW, T0, issue, trust

    v = lic.verify(issue("jwt"), trust(), now=NOW)
    assert lic.evaluate(v, full_use(time=T0)).permitted
    d = lic.evaluate(v, full_use(time=T0 + LIFETIME))
    assert d.effect == "deny" and d.reasons[0].field == "time"


def test_use_input_is_validated():
    for bad in (
        {"action": "Run"}, {"purpose": "a..b"}, {"region": "EU"}, {"region": "deu"},
        {"mau": -1}, {"mau": True}, {"time": 1.5}, {"model_digest": "ABC"}, {"data": {"Bad code"}},
    ):  # fmt: skip
        with pytest.raises(MalformedError):
            lic.Use(**bad)


# --- properties ---------------------------------------------------------------------------

ACTIONS = [*sorted(lic.vocabulary("actions")), "x-a", "x-a.b"]
PURPOSES = [*sorted(lic.vocabulary("purposes") | lic.vocabulary("prohibited_uses")), "x-p"]
CHANNELS = sorted(lic.vocabulary("channels"))
PLATFORMS = sorted(lic.vocabulary("platforms"))
DATA = sorted(lic.vocabulary("data_categories"))
REGIONS = sorted(lic.countries()) + sorted(lic.region_groups())
COUNTRIES = sorted(lic.countries())
DIGESTS = ["a" * 64, "b" * 64]


def opt_list(codes, min_size=1):
    return st.none() | st.lists(st.sampled_from(codes), min_size=min_size, max_size=4, unique=True)


def to_tuple(x):
    return None if x is None else tuple(x)


licenses = st.builds(
    lambda pa, pp, pr, pc, qa, qp, qr, qpl, qd, rate, mau: lic.License(
        lic.ModelBinding("m", DIGESTS[0]),
        lic.Terms("t", "1", "c" * 64),
        "sme",
        lic.Permit(to_tuple(pa), to_tuple(pp), to_tuple(pr), to_tuple(pc)),
        lic.Prohibit(tuple(qa), tuple(qp), tuple(qr), tuple(qpl), tuple(qd)),
        lic.Limits(rate, mau),
    ),
    opt_list(ACTIONS), opt_list(PURPOSES), opt_list(REGIONS), opt_list(CHANNELS),
    st.lists(st.sampled_from(ACTIONS), max_size=3, unique=True),
    st.lists(st.sampled_from(PURPOSES), max_size=3, unique=True),
    st.lists(st.sampled_from(REGIONS), max_size=3, unique=True),
    st.lists(st.sampled_from(PLATFORMS), max_size=3, unique=True),
    st.lists(st.sampled_from(DATA), max_size=3, unique=True),
    st.none() | st.builds(lic.Rate, st.integers(0, 1000), st.sampled_from(["PT1S", "PT1H"])),
    st.none() | st.integers(0, 10**6),
)  # fmt: skip
uses = st.builds(
    lic.Use,
    action=st.none() | st.sampled_from(ACTIONS),
    purpose=st.none() | st.sampled_from(PURPOSES),
    region=st.none() | st.sampled_from(COUNTRIES),
    channel=st.none() | st.sampled_from(CHANNELS),
    platform=st.none() | st.sampled_from(PLATFORMS),
    data=st.none() | st.frozensets(st.sampled_from(DATA), max_size=3),
    rate=st.none() | st.builds(lic.Rate, st.integers(0, 2000), st.sampled_from(["PT1S", "PT1M"])),
    mau=st.none() | st.integers(0, 2 * 10**6),
    model_digest=st.none() | st.sampled_from(DIGESTS),
)


def under(code, codes):
    parts = code.split(".")
    return any(".".join(parts[: i + 1]) in codes for i in range(len(parts)))


def matches_a_prohibition(license, use):
    """A naive, independent statement of "the use falls under a prohibition"."""
    q = license.prohibit
    groups = lic.region_groups()
    countries = {c for r in q.regions for c in groups.get(r, {r})}
    return (
        (use.action is not None and under(use.action, q.actions))
        or (use.purpose is not None and under(use.purpose, q.purposes))
        or (use.region is not None and use.region in countries)
        or (use.platform is not None and under(use.platform, q.platforms))
        or (use.data is not None and any(under(d, q.data) for d in use.data))
    )


@settings(max_examples=400, deadline=None)
@given(license=licenses, use=uses)
def test_no_use_matching_a_prohibition_is_ever_permitted(license, use):
    d = lic.evaluate(license, use)
    if matches_a_prohibition(license, use):
        assert d.effect == "deny"
    if d.effect == "permit":
        assert d.reasons == ()


PROHIBIT_FIELDS = {"actions": ACTIONS, "purposes": PURPOSES, "regions": REGIONS,
                   "platforms": PLATFORMS, "data": DATA}  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(license=licenses, use=uses, field=st.sampled_from(sorted(PROHIBIT_FIELDS)), data=st.data())
def test_adding_a_prohibition_never_turns_deny_into_permit(license, use, field, data):
    code = data.draw(st.sampled_from(PROHIBIT_FIELDS[field]))
    current = getattr(license.prohibit, field)
    if code in current:
        return
    stricter = dataclasses.replace(
        license, prohibit=dataclasses.replace(license.prohibit, **{field: (*current, code)})
    )
    before, after = lic.evaluate(license, use), lic.evaluate(stricter, use)
    if before.effect != "permit":
        assert after.effect != "permit"
    if before.effect == "deny":
        assert after.effect == "deny"


USE_FIELDS = [
    "action",
    "purpose",
    "region",
    "channel",
    "platform",
    "data",
    "rate",
    "mau",
    "model_digest",
]


@settings(max_examples=400, deadline=None)
@given(license=licenses, use=uses, drop=st.sets(st.sampled_from(USE_FIELDS), min_size=1))
def test_removing_information_never_turns_deny_or_indeterminate_into_permit(license, use, drop):
    before = lic.evaluate(license, use)
    after = lic.evaluate(license, dataclasses.replace(use, **dict.fromkeys(drop)))
    if before.effect != "permit":
        assert after.effect != "permit"


@settings(max_examples=200, deadline=None)
@given(license=licenses, use=uses)
def test_a_permit_needs_every_constrained_input(license, use):
    d = lic.evaluate(license, use)
    if d.effect == "permit":
        assert use.model_digest == license.model.sha256
        c = license.permit
        for name, value in (("actions", use.action), ("purposes", use.purpose),
                            ("regions", use.region), ("channels", use.channel)):  # fmt: skip
            if getattr(c, name) is not None:
                assert value is not None
        if license.limits.rate is not None:
            assert use.rate is not None
        if license.limits.mau is not None:
            assert use.mau is not None


@settings(max_examples=200, deadline=None)
@given(license=licenses, use=uses, other=uses)
def test_memoised_decisions_equal_fresh_ones(license, use, other):
    """Evaluation keeps the code-list part of a decision per (license, codes); a decision
    from that memo equals one computed afresh, whatever numbers the earlier use had."""
    from lic import _evaluate

    twin = dataclasses.replace(
        use, rate=other.rate, mau=other.mau, model_digest=other.model_digest
    )  # same codes, other numbers
    _evaluate._MEMO.clear()
    fresh = lic.evaluate(license, use)
    _evaluate._MEMO.clear()
    lic.evaluate(license, twin)  # fills the memo for these codes
    assert lic.evaluate(license, use) == fresh
    assert lic.evaluate(license, use).to_dict() == fresh.to_dict()


@settings(max_examples=400, deadline=None)
@given(license=licenses, use=uses)
def test_the_common_case_shortcut_equals_the_full_reasoning(license, use):
    """Evaluation returns the code lists' decision at once when the model digest matches and
    every limit's input is supplied and within it; with the shortcut made impossible (the
    license's compiled digest replaced), the full reasoning gives the same decision."""
    shortcut = lic.evaluate(license, use)
    compiled = license._compiled
    compiled.sha256, digest = "never", compiled.sha256
    try:
        full = lic.evaluate(license, use)
    finally:
        compiled.sha256 = digest
    assert shortcut == full
    assert shortcut.to_dict() == full.to_dict()


def test_use_codes_are_kept_as_plain_strings():
    """A str subclass could hash or compare differently; Use keeps plain str values."""

    class Sneaky(str):
        def __eq__(self, other):
            return True

        def __hash__(self):
            return 0

    u = lic.Use(action=Sneaky("run.inference"), purpose=Sneaky("enterprise.product"),
                region=Sneaky("DE"), data=frozenset({Sneaky("proprietary")}))  # fmt: skip
    assert type(u.action) is str and type(u.purpose) is str and type(u.region) is str
    assert all(type(c) is str for c in u.data)
    assert u.action == "run.inference" and u.region == "DE" and u.data == {"proprietary"}

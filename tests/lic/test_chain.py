"""Sublicensing chains (delegate, verify_chain) and holder-bound presentations."""

import dataclasses

import pytest

import lic
from helpers.licenses import (
    COMMERCIAL,
    HOLDER,
    ISSUER,
    LIFETIME,
    NOW,
    OTHER,
    T0,
    example,
    issue,
    trust,
)
from keys import (
    ExpiredError,
    InvalidSignatureError,
    MalformedError,
    SigningKey,
    UntrustedKeyError,
)

CONTRACTOR = SigningKey.from_seed(bytes(range(32)))
SUBCONTRACTOR = SigningKey.from_seed(bytes(range(1, 33)))
ROOT_LICENSE = example(COMMERCIAL)  # sublicense allowed, max_depth 2


def narrower(license=ROOT_LICENSE, **changes):
    claim = license.to_claim()
    claim.pop("parent", None)
    claim.update(changes)
    return lic.License.from_mapping(claim, known_codes=True)


CHILD = narrower(
    permit={
        **ROOT_LICENSE.to_claim()["permit"],
        "regions": ["DE", "AT"],
        "actions": ["run.inference"],
    },
    limits={"rate": {"count": 1000, "per": "PT1H"}, "mau": 5000},
    sublicense={"allowed": True, "max_depth": 1},
)
GRANDCHILD = narrower(CHILD, sublicense={"allowed": False, "max_depth": 0})


def chain(fmt="jwt"):
    root = issue(fmt)
    child = lic.delegate(root, CHILD, HOLDER, CONTRACTOR.public_key, sub="contractor", now=T0 + 10)
    grand = lic.delegate(
        child, GRANDCHILD, CONTRACTOR, SUBCONTRACTOR.public_key, sub="sub", now=T0 + 20
    )
    return [root, child, grand]


@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
def test_a_narrowing_chain_verifies_root_first(fmt):
    tokens = chain(fmt)
    c = lic.verify_chain(tokens, trust(), now=NOW)
    assert [t.sub for t in c.links] == ["acme", "contractor", "sub"]
    assert c.leaf.iss == "contractor" and c.links[1].iss == "acme"
    assert c.leaf.license.parent == lic.token_digest(tokens[1]).hex()
    assert c.leaf.holder == SUBCONTRACTOR.public_key
    assert c.leaf.kid == CONTRACTOR.public_key.thumbprint
    use = lic.Use(action="run.inference", purpose="enterprise", region="DE", channel="api",
                  platform="search", data=frozenset(), rate=lic.Rate(10, "PT1H"), mau=10,
                  model_digest=ROOT_LICENSE.model.sha256)  # fmt: skip
    assert lic.evaluate(c.leaf, use).permitted
    assert lic.evaluate(c.leaf, dataclasses.replace(use, region="FR")).effect == "deny"
    assert lic.evaluate(c.root, dataclasses.replace(use, region="FR")).permitted


def test_mixed_encodings_in_one_chain():
    root = issue("cwt")
    child = lic.delegate(root, CHILD, HOLDER, CONTRACTOR.public_key, sub="c", now=T0, fmt="jwt")
    assert lic.verify_chain([root, child], trust(), now=NOW).leaf.format == "jwt"


def test_child_expires_no_later_than_its_parent():
    root = issue("jwt")
    child = lic.delegate(
        root, CHILD, HOLDER, CONTRACTOR.public_key, sub="c", now=T0, lifetime=10**9
    )
    assert lic.decode_unverified(child).exp == T0 + LIFETIME


def test_skipped_reordered_or_foreign_links_are_refused():
    root, child, grand = chain()
    with pytest.raises(UntrustedKeyError, match="link 1"):
        lic.verify_chain([root, grand], trust(), now=NOW)
    with pytest.raises(UntrustedKeyError):  # a child is not signed by a trusted issuer
        lic.verify_chain([child, root], trust(), now=NOW)
    # a sublicense signed by a trusted issuer key still cannot start a chain
    orphan = lic.tokens.sign_token(CHILD.with_parent(bytes(32)), ISSUER, HOLDER.public_key,
                                   iss="i", sub="s", iat=T0, nbf=T0, exp=T0 + 100)  # fmt: skip
    with pytest.raises(lic.NarrowingError, match="root"):
        lic.verify_chain([orphan], trust(), now=NOW)
    with pytest.raises(UntrustedKeyError):
        lic.verify_chain([root, grand, child], trust(), now=NOW)
    with pytest.raises(MalformedError):
        lic.verify_chain([], trust(), now=NOW)
    # a second root token of the same issuer and holder: the child names another parent
    other_root = issue("jwt", jti=b"another-root-jti")
    with pytest.raises(lic.NarrowingError, match="digest"):
        lic.verify_chain([other_root, child], trust(), now=NOW)


def test_a_link_outside_its_window_fails_the_chain():
    tokens = chain()
    with pytest.raises(ExpiredError):
        lic.verify_chain(tokens, trust(), now=T0 + LIFETIME + 3600)


P, Q, D = (CHILD.to_claim()[k] for k in ("permit", "prohibit", "duties"))
WIDENINGS = {
    "permit.actions": {"permit": {**P, "actions": ["run"]}},
    "permit.regions": {"permit": {**P, "regions": ["DE", "US"]}},
    "permit.purposes": {"permit": {**P, "purposes": ["consumer"]}},
    "permit.channels": {"permit": {k: v for k, v in P.items() if k != "channels"}},
    "prohibit.purposes": {"prohibit": {**Q, "purposes": ["violence"]}},
    "prohibit.platforms": {"prohibit": {**Q, "platforms": ["defense"]}},
    "limits.rate": {"limits": {"rate": {"count": 200000, "per": "PT1H"}, "mau": 10}},
    "limits.rate window": {"limits": {"rate": {"count": 10, "per": "PT1M"}, "mau": 10}},
    "limits.mau": {"limits": {"rate": {"count": 10, "per": "PT1H"}}},
    "duties": {"duties": {"report-incidents": {"within": "P3D"}}},
    "duties.report-incidents": {"duties": {**D, "report-incidents": {"within": "P30D"}}},
    "duties.retain-logs": {"duties": {**D, "retain-logs": {"period": "P1D"}}},
    "model": {"model": {"name": "other", "sha256": "0" * 64}},
    "terms": {"terms": {**CHILD.to_claim()["terms"], "version": "9"}},
    "sublicense.max_depth": {"sublicense": {"allowed": True, "max_depth": 2}},
}  # fmt: skip


@pytest.mark.parametrize("what", sorted(WIDENINGS))
def test_delegate_refuses_to_widen(what):
    wide = narrower(CHILD, **WIDENINGS[what])
    with pytest.raises(lic.NarrowingError, match=what.split(" ")[0].split(".")[0]):
        lic.delegate(issue("jwt"), wide, HOLDER, CONTRACTOR.public_key, sub="c", now=T0)


@pytest.mark.parametrize("what", sorted(WIDENINGS))
def test_verify_chain_refuses_a_widening_link_signed_anyway(what):
    """A holder that bypasses delegate() and signs a wider child directly is still caught."""
    root = issue("jwt")
    wide = narrower(CHILD, **WIDENINGS[what]).with_parent(lic.token_digest(root))
    child = lic.tokens.sign_token(wide, HOLDER, CONTRACTOR.public_key, iss="acme", sub="c",
                                  iat=T0, nbf=T0, exp=T0 + 100)  # fmt: skip
    with pytest.raises(lic.NarrowingError, match="link 1"):
        lic.verify_chain([root, child], trust(), now=NOW)


def test_too_deep_and_not_allowed():
    root, child, grand = chain()
    great = lic.tokens.sign_token(
        narrower(GRANDCHILD).with_parent(lic.token_digest(grand)), SUBCONTRACTOR,
        OTHER.public_key, iss="sub", sub="x", iat=T0, nbf=T0 + 20, exp=T0 + 100,
    )  # fmt: skip
    with pytest.raises(lic.NarrowingError, match="does not allow sublicensing"):
        lic.verify_chain([root, child, grand, great], trust(), now=NOW)
    with pytest.raises(lic.NarrowingError, match="does not allow"):
        lic.delegate(grand, GRANDCHILD, SUBCONTRACTOR, OTHER.public_key, sub="x", now=T0 + 30)


def test_link_must_name_parent_and_have_parent_sub_as_iss_and_window_inside():
    root = issue("jwt")
    lic_with_parent = CHILD.with_parent(lic.token_digest(root))
    cases = {
        "iss": dict(iss="someone-else", nbf=T0, exp=T0 + 100),
        "validity": dict(iss="acme", nbf=T0 - 5, exp=T0 + 100),
    }
    for fragment, kw in cases.items():
        child = lic.tokens.sign_token(lic_with_parent, HOLDER, CONTRACTOR.public_key, sub="c",
                                      iat=T0, **kw)  # fmt: skip
        with pytest.raises(lic.NarrowingError, match=fragment):
            lic.verify_chain([root, child], trust(), now=NOW)
    no_parent = lic.tokens.sign_token(CHILD, HOLDER, CONTRACTOR.public_key, iss="acme", sub="c",
                                      iat=T0, nbf=T0, exp=T0 + 100)  # fmt: skip
    with pytest.raises(lic.NarrowingError, match="parent"):
        lic.verify_chain([root, no_parent], trust(), now=NOW)


def test_only_the_holder_can_delegate():
    with pytest.raises(UntrustedKeyError):
        lic.delegate(issue("jwt"), CHILD, OTHER, CONTRACTOR.public_key, sub="c", now=T0)


def test_child_signed_by_someone_else_is_refused():
    root = issue("jwt")
    forged = lic.tokens.sign_token(CHILD.with_parent(lic.token_digest(root)), OTHER,
                                   CONTRACTOR.public_key, iss="acme", sub="c", iat=T0, nbf=T0,
                                   exp=T0 + 100)  # fmt: skip
    with pytest.raises(UntrustedKeyError, match="link 1"):
        lic.verify_chain([root, forged], trust(), now=NOW)


# --- presentations ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
def test_the_holder_presents_and_the_verifier_checks(fmt):
    token = issue(fmt)
    v = lic.verify(token, trust(), now=NOW)
    pres = lic.present(token, HOLDER, audience="https://gw.example", nonce="n-123", now=NOW)
    p = lic.verify_presentation(pres, v, audience="https://gw.example", nonce="n-123", now=NOW + 5)
    assert p.token_digest == lic.token_digest(token) and p.nonce == "n-123"


def test_a_stolen_token_without_the_holder_key_is_useless():
    token = issue("jwt")
    v = lic.verify(token, trust(), now=NOW)
    good = dict(audience="gw", nonce="n1", now=NOW)
    thief = lic.present(token, OTHER, **good)
    with pytest.raises(UntrustedKeyError):
        lic.verify_presentation(thief, v, **good)
    pres = lic.present(token, HOLDER, **good)
    with pytest.raises(InvalidSignatureError, match="nonce"):
        lic.verify_presentation(pres, v, audience="gw", nonce="n2", now=NOW)
    with pytest.raises(InvalidSignatureError, match="audience"):
        lic.verify_presentation(pres, v, audience="other", nonce="n1", now=NOW)
    with pytest.raises(ExpiredError):
        lic.verify_presentation(pres, v, audience="gw", nonce="n1", now=NOW + 121 + 60)
    other_token = lic.verify(issue("jwt", jti=b"x" * 16), trust(), now=NOW)
    with pytest.raises(InvalidSignatureError, match="another token"):
        lic.verify_presentation(pres, other_token, **good)
    for i in range(len(pres)):
        bad = bytearray(pres)
        bad[i] ^= 1
        with pytest.raises((MalformedError, InvalidSignatureError, UntrustedKeyError)):
            lic.verify_presentation(bytes(bad), v, **good)
    with pytest.raises(MalformedError):
        lic.present(token, HOLDER, audience="gw", nonce="n", now=NOW, lifetime=3600)


def test_an_expired_parent_cannot_be_delegated():
    with pytest.raises(ExpiredError):
        lic.delegate(issue("jwt"), CHILD, HOLDER, CONTRACTOR.public_key, sub="c",
                     now=T0 + LIFETIME)  # fmt: skip

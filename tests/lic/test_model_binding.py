"""A license bound to a model directory (``model.manifest``, SPEC 15.6): strict parsing, the
round trip through JWT and CWT, and sublicenses that must keep the binding."""

from __future__ import annotations

import pytest

import lic
from helpers.bound_vectors import bound_license
from helpers.licenses import HOLDER, NOW, T0, issue, trust
from keys import MalformedError, SigningKey

BOUND, MANIFEST = bound_license()
CONTRACTOR = SigningKey.from_seed(bytes(range(32)))
GOOD = BOUND.to_claim()["model"]["manifest"]


def _with_model(model: dict) -> dict:
    claim = BOUND.to_claim()
    claim["model"] = model
    return claim


def _model(**manifest_changes) -> dict:
    manifest = {**GOOD, **manifest_changes}
    return {"name": "m", "sha256": GOOD["root"], "manifest": manifest}


@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
def test_the_binding_round_trips_through_both_encodings(fmt):
    token = lic.verify(issue(fmt, BOUND), trust(), now=NOW)
    assert token.license == BOUND
    assert token.license.model.manifest == BOUND.model.manifest
    assert token.license.to_claim()["model"]["manifest"] == GOOD
    assert lic.decode_unverified(issue(fmt, BOUND)).license == BOUND


def test_an_unbound_license_keeps_its_claim_unchanged():
    claim = lic.load_license(b'model = {name = "x", sha256 = "' + b"a" * 64 + b'"}\n'
                             b'terms = {id = "t", version = "1", sha256 = "' + b"b" * 64 + b'"}\n'
                             b'tier = "academic"\n').to_claim()  # fmt: skip
    assert claim["model"] == {"name": "x", "sha256": "a" * 64}


BAD = {
    "unknown member": _model(extra="x"),
    "missing root": {"name": "m", "sha256": GOOD["root"],
                     "manifest": {k: v for k, v in GOOD.items() if k != "root"}},
    "missing resources": {"name": "m", "sha256": GOOD["root"],
                          "manifest": {k: v for k, v in GOOD.items() if k != "resources"}},
    "root upper case": _model(root=GOOD["root"].upper()),
    "root short": _model(root=GOOD["root"][:-2]),
    "resources not hex": _model(resources="z" * 64),
    "resources an int": _model(resources=1),
    "method": _model(method="shards"),
    "hash_type": _model(hash_type="sha512"),
    "ordering": _model(ordering="string"),
    "method not a string": _model(method=["files"]),
    "sha256 differs from root": {"name": "m", "sha256": "0" * 64, "manifest": GOOD},
    "manifest not a map": {"name": "m", "sha256": GOOD["root"], "manifest": GOOD["root"]},
    "unknown model member": {"name": "m", "sha256": GOOD["root"], "manifest": GOOD, "dir": "m"},
}  # fmt: skip


@pytest.mark.parametrize("what", sorted(BAD))
@pytest.mark.parametrize("known_codes", [True, False])
def test_a_bad_binding_is_refused(what, known_codes):
    with pytest.raises(MalformedError, match="model"):
        lic.License.from_mapping(_with_model(BAD[what]), known_codes=known_codes)


def _child(model: dict | None) -> lic.License:
    claim = BOUND.to_claim()
    claim["sublicense"] = {"allowed": False, "max_depth": 0}
    if model is not None:
        claim["model"] = model
    return lic.License.from_mapping(claim, known_codes=True)


OTHER_RESOURCES = "1" * 64
CHANGED = {
    "dropped": {"name": "m", "sha256": GOOD["root"]},
    "other resource list": _model(resources=OTHER_RESOURCES),
    "other root": {"name": "m", "sha256": "2" * 64, "manifest": {**GOOD, "root": "2" * 64}},
}


def test_a_sublicense_keeping_the_binding_verifies():
    root = issue("jwt", BOUND)
    child = lic.delegate(root, _child(None), HOLDER, CONTRACTOR.public_key, sub="c", now=T0)
    chain = lic.verify_chain([root, child], trust(), now=NOW)
    assert chain.leaf.license.model == BOUND.model


@pytest.mark.parametrize("what", sorted(CHANGED))
@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
def test_a_sublicense_that_drops_or_changes_the_binding_is_refused(what, fmt):
    root = issue(fmt, BOUND)
    child_license = _child(CHANGED[what])
    with pytest.raises(lic.NarrowingError, match="model"):
        lic.delegate(root, child_license, HOLDER, CONTRACTOR.public_key, sub="c", now=T0)
    # signed anyway, bypassing delegate(): the chain check refuses it
    signed = lic.tokens.sign_token(
        child_license.with_parent(lic.token_digest(root)), HOLDER, CONTRACTOR.public_key,
        iss="acme", sub="c", iat=T0, nbf=T0, exp=T0 + 100, fmt=fmt,
    )  # fmt: skip
    with pytest.raises(lic.NarrowingError, match=r"link 1.*model"):
        lic.verify_chain([root, signed], trust(), now=NOW)


def test_a_sublicense_cannot_add_a_binding_its_parent_lacks():
    claim = BOUND.to_claim()
    claim["model"] = {"name": "m", "sha256": GOOD["root"]}
    unbound_root = issue("jwt", lic.License.from_mapping(claim, known_codes=True))
    with pytest.raises(lic.NarrowingError, match="model"):
        lic.delegate(unbound_root, _child(None), HOLDER, CONTRACTOR.public_key, sub="c", now=T0)

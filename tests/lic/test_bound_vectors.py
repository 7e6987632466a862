"""The bound-license vectors (tests/vectors/lic_tokens_bound.json): regenerated identically,
verified by us with both Ed25519 backends, and read by independent implementations (pyjwt,
joserfc, python-cwt; the resource-list digest by cbor2), which find the same binding."""

from __future__ import annotations

import hashlib
import json

import cbor2
import cwt
import jwt as pyjwt
import pytest
from cwt import COSE, COSEKey
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import OKPKey

import lic
from helpers.bound_vectors import VECTOR, generate, write_model
from helpers.licenses import ISSUER, trust
from keys import BACKENDS, b64url_decode
from lic.oms import Resource, manifest_of, open_bound_directory, resources_digest

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")  # joserfc, RFC 9864

V = json.loads(VECTOR.read_text())


def _raw(case: dict) -> bytes:
    return case["token"].encode() if case["format"] == "jwt" else bytes.fromhex(case["token"])


def test_bound_vectors_regenerate_identically():
    assert generate() == V


@pytest.mark.parametrize("backend", BACKENDS)
def test_bound_vectors_verify_and_carry_the_binding(backend):
    for case in V["cases"]:
        token = lic.verify(_raw(case), trust(backend=backend), now=V["verify_at"])
        assert token.digest.hex() == case["digest_hex"]
        assert token.license.model.to_claim() == V["model"]
        assert token.license.model.manifest is not None
        assert token.license.model.manifest.root == V["root"] == token.license.model.sha256


def test_the_resource_digest_is_sha256_of_the_canonical_cbor_list():
    items = [[r["name"], r["algorithm"], bytes.fromhex(r["digest"])] for r in V["resources"]]
    theirs = hashlib.sha256(cbor2.dumps(items, canonical=True)).hexdigest()
    assert theirs == V["model"]["manifest"]["resources"]
    root = hashlib.sha256(b"".join(bytes.fromhex(r["digest"]) for r in V["resources"]))
    assert root.hexdigest() == V["root"]


def test_the_directory_of_the_vector_is_the_one_bound(tmp_path):
    model = write_model(tmp_path)
    assert [r.to_json() for r in manifest_of(model).resources] == V["resources"]
    token = lic.verify(_raw(V["cases"][0]), trust(), now=V["verify_at"])
    with open_bound_directory(model, token.license, allow_ignored=True) as files:
        assert files.read_bytes("tokenizer.json") == b'{"v":1}'


def test_pyjwt_and_joserfc_read_the_bound_jwt():
    (case,) = [c for c in V["cases"] if c["format"] == "jwt"]
    claims = pyjwt.decode(
        case["token"], ISSUER.public_key._crypto, algorithms=["EdDSA"],
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )  # fmt: skip
    assert claims["lic"]["model"] == V["model"]
    key = OKPKey.import_key(ISSUER.public_key.jwk())
    compact = jws.deserialize_compact(case["token"], key, algorithms=["EdDSA"])
    assert json.loads(compact.payload)["lic"]["model"] == V["model"]
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt.decode(case["token"][:-2] + "AA", ISSUER.public_key._crypto, algorithms=["EdDSA"],
                     options={"verify_exp": False})  # fmt: skip


def test_python_cwt_reads_the_bound_cwt():
    (case,) = [c for c in V["cases"] if c["format"] == "cwt"]
    kid = b64url_decode(ISSUER.public_key.thumbprint)
    key = COSEKey.new({1: 1, -1: 6, -2: ISSUER.public_key.raw, 2: kid, 3: -8})
    payload = COSE.new().decode(bytes.fromhex(case["token"]), key)
    claims = cbor2.loads(payload)
    assert claims["lic"]["model"] == V["model"]
    bad = bytearray(bytes.fromhex(case["token"]))
    bad[-1] ^= 1
    with pytest.raises(cwt.VerifyError):
        COSE.new().decode(bytes(bad), key)


_NAME_PART = st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1,
                     max_size=12).filter(lambda p: p not in (".", ".."))  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.lists(_NAME_PART, min_size=1, max_size=3), st.binary(min_size=32,
                          max_size=32)), max_size=20))  # fmt: skip
def test_resources_digest_is_the_cbor2_encoding_of_any_list(items):
    resources = [Resource("/".join(parts), "sha256", digest.hex()) for parts, digest in items]
    theirs = [[r.name, "sha256", bytes.fromhex(r.digest)] for r in resources]
    expected = hashlib.sha256(cbor2.dumps(theirs, canonical=True)).hexdigest()
    assert resources_digest(resources) == expected

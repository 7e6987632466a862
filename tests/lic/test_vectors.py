"""Our token vectors: regenerated from the fixed keys and compared; each one verifies and
decides as recorded, with both Ed25519 backends."""

import json

import pytest

import lic
from helpers.licenses import ROOT, trust
from helpers.token_vectors import VECTOR, generate, use_from
from keys import BACKENDS


def test_vectors_regenerate_identically():
    assert json.loads(VECTOR.read_text()) == generate()


@pytest.mark.parametrize("backend", BACKENDS)
def test_vectors_verify_and_decide_as_recorded(backend):
    v = json.loads(VECTOR.read_text())
    t = trust(backend=backend)
    for case in v["cases"]:
        raw = case["token"].encode() if case["format"] == "jwt" else bytes.fromhex(case["token"])
        token = lic.verify(raw, t, now=v["verify_at"])
        assert token.digest.hex() == case["digest_hex"]
        assert (token.kid, token.iss, token.sub, token.exp) == (
            v["issuer_kid"], v["iss"], v["sub"], v["exp"],
        )  # fmt: skip
        assert token.holder.thumbprint == v["holder_kid"]
        license = lic.load_license((ROOT / case["license_file"]).read_bytes())
        assert token.license == license
        got = [lic.evaluate(token, use_from(u, license.model.sha256)).effect for u in v["uses"]]
        assert got == case["decisions"]

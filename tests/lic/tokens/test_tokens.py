"""License tokens: round trips, JWT/CWT equivalence, interop with pyjwt, joserfc and python-cwt
(both ways), time handling, every-byte mutation, both Ed25519 backends, decode_unverified."""

import json
import time

import cbor2
import cwt
import jwt as pyjwt
import pytest
from cwt import COSE, COSEKey
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jwt as jjwt
from joserfc.jwk import OKPKey

import lic
from helpers.licenses import (
    ACADEMIC,
    COMMERCIAL,
    HOLDER,
    ISSUER,
    LIFETIME,
    NOW,
    OPEN_RAIL,
    OTHER,
    T0,
    example,
    issue,
    trust,
)
from keys import (
    BACKENDS,
    ExpiredError,
    InvalidSignatureError,
    LicError,
    MalformedError,
    b64url_decode,
    b64url_encode,
)

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
SEED1 = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
EXAMPLES = [COMMERCIAL, ACADEMIC, OPEN_RAIL]


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
def test_issue_then_verify_round_trips_every_example(name, fmt):
    license = example(name)
    token = issue(fmt, license)
    v = lic.verify(token, trust(), now=NOW)
    assert v.format == fmt
    assert v.license == license
    assert v.license.to_claim() == license.to_claim()
    assert (v.iss, v.sub, v.iat, v.nbf, v.exp) == (
        "https://issuer.example",
        "acme",
        T0,
        T0,
        T0 + LIFETIME,
    )
    assert v.holder == HOLDER.public_key
    assert v.kid == ISSUER.public_key.thumbprint
    assert v.digest == lic.token_digest(token)
    assert lic.token_digest(token) == __import__("hashlib").sha256(token).digest()


def test_jwt_header_and_cwt_protected_header_are_as_specified():
    h = json.loads(b64url_decode(issue("jwt").split(b".")[0]))
    assert h == {"alg": "EdDSA", "kid": ISSUER.public_key.thumbprint, "typ": "lic+jwt"}
    top = cbor2.loads(issue("cwt"))
    assert top.tag == 18
    prot = cbor2.loads(top.value[0])
    assert prot == {
        1: -8,
        4: b64url_decode(ISSUER.public_key.thumbprint),
        16: "application/lic+cwt",
    }
    assert top.value[1] == {}
    claims = cbor2.loads(top.value[2])
    assert set(claims) == {1, 2, 4, 5, 6, 7, 8, "lic"}
    assert claims[8] == {1: {1: 1, -1: 6, -2: HOLDER.public_key.raw}}


def test_audience_single_and_multiple():
    for aud in (["https://hub.example"], ["a", "b"]):
        for fmt in ("jwt", "cwt"):
            v = lic.verify(issue(fmt, aud=aud), trust(), now=NOW)
            assert v.aud == tuple(aud)


@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
def test_time_window_and_bounded_leeway(fmt):
    token = issue(fmt)
    exp = T0 + LIFETIME
    lic.verify(token, trust(), now=T0 - 60)  # within the default leeway of nbf
    lic.verify(token, trust(), now=exp + 59)
    with pytest.raises(ExpiredError):
        lic.verify(token, trust(), now=T0 - 61)
    with pytest.raises(ExpiredError):
        lic.verify(token, trust(), now=exp + 60)
    with pytest.raises(ExpiredError):
        lic.verify(token, trust(), now=exp, leeway=0)
    lic.verify(token, trust(), now=exp + 299, leeway=300)
    for bad in (301, -1, 1.5, True, 60.0, "60"):
        with pytest.raises(MalformedError):
            lic.verify(token, trust(), now=NOW, leeway=bad)
    with pytest.raises(MalformedError):
        lic.verify(token, trust(), now=float(NOW))


@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
def test_every_single_byte_change_is_refused_by_both_backends(fmt):
    token = issue(fmt, example(ACADEMIC))
    trusts = {b: trust(backend=b) for b in BACKENDS}
    for i in range(len(token)):
        for flip in (0x01, 0x80):
            bad = bytearray(token)
            bad[i] ^= flip
            outcomes = set()
            for t in trusts.values():
                try:
                    lic.verify(bytes(bad), t, now=NOW)
                    outcomes.add("accepted")
                except LicError as e:
                    outcomes.add(type(e).__name__)
            assert "accepted" not in outcomes, (i, flip)
            assert len(outcomes) == 1, (i, flip, outcomes)


@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
def test_every_truncation_is_refused(fmt):
    token = issue(fmt)
    for n in range(len(token)):
        with pytest.raises(LicError):
            lic.verify(token[:n], trust(), now=NOW)


def test_outside_input_of_any_type_is_refused_with_our_error():
    for bad in (b"", "", "é.a.b", b"\xd2", b"\xff" * 10, "a.b.c", None, 5, bytearray(b"x.y.z")):
        with pytest.raises(LicError):
            lic.verify(bad, trust(), now=NOW)  # type: ignore[arg-type]


def test_untrusted_issuer_and_wrong_role():
    for signer in (HOLDER, OTHER):
        token = lic.issue(example(COMMERCIAL), signer, HOLDER.public_key, iss="x", sub="y", now=T0)
        with pytest.raises(LicError, match="trust"):
            lic.verify(token, trust(), now=NOW)


def test_decode_unverified_reads_without_a_trust_store_but_stays_strict():
    for fmt in ("jwt", "cwt"):
        token = issue(fmt)
        u = lic.decode_unverified(token)
        assert isinstance(u, lic.UnverifiedToken) and not isinstance(u, lic.VerifiedToken)
        assert (u.kid, u.iss, u.sub, u.holder) == (
            ISSUER.public_key.thumbprint,
            "https://issuer.example",
            "acme",
            HOLDER.public_key,
        )
        assert u.digest == lic.token_digest(token)
    # unverified decoding still refuses malformed input
    with pytest.raises(MalformedError):
        lic.decode_unverified(issue("cwt") + b"\x00")


def test_issue_refuses_unknown_codes_and_accepts_custom_ones():
    claim = example(COMMERCIAL).to_claim()
    claim["permit"]["purposes"].append("enterprise.teleportation")
    unknown = lic.License.from_mapping(claim, known_codes=False)
    with pytest.raises(MalformedError, match="unknown code"):
        issue("jwt", unknown)
    claim["permit"]["purposes"][-1] = "x-acme.teleportation"
    custom = lic.License.from_mapping(claim, known_codes=True)
    assert lic.verify(issue("jwt", custom), trust(), now=NOW).license == custom


# --- the two encodings agree --------------------------------------------------------------

CODES = {
    "action": [*sorted(lic.vocabulary("actions")), "x-other"],
    "purpose": sorted(lic.vocabulary("purposes") | lic.vocabulary("prohibited_uses")),
    "channel": sorted(lic.vocabulary("channels")),
    "platform": sorted(lic.vocabulary("platforms")),
}
uses = st.builds(
    lic.Use,
    action=st.none() | st.sampled_from(CODES["action"]),
    purpose=st.none() | st.sampled_from(CODES["purpose"]),
    region=st.none() | st.sampled_from(sorted(lic.countries())),
    channel=st.none() | st.sampled_from(CODES["channel"]),
    platform=st.none() | st.sampled_from(CODES["platform"]),
    data=st.none()
    | st.frozensets(st.sampled_from(sorted(lic.vocabulary("data_categories"))), max_size=3),
    rate=st.none()
    | st.builds(lic.Rate, st.integers(0, 10**6), st.sampled_from(["PT1S", "PT1H", "P1D"])),
    mau=st.none() | st.integers(0, 10**7),
    model_digest=st.none() | st.sampled_from([example(COMMERCIAL).model.sha256, "0" * 64]),
    time=st.none() | st.integers(T0 - 10, T0 + LIFETIME + 10),
)
VERIFIED = {
    (name, fmt): lic.verify(issue(fmt, example(name)), trust(), now=NOW)
    for name in EXAMPLES
    for fmt in ("jwt", "cwt")
}


@settings(max_examples=300, deadline=None)
@given(use=uses, name=st.sampled_from(EXAMPLES))
def test_same_license_in_both_encodings_evaluates_identically(use, name):
    assert lic.evaluate(VERIFIED[name, "jwt"], use) == lic.evaluate(VERIFIED[name, "cwt"], use)


# --- interoperability ---------------------------------------------------------------------


def _now_tokens():
    now = int(time.time())
    return now, {
        fmt: lic.issue(
            example(COMMERCIAL),
            ISSUER,
            HOLDER.public_key,
            iss="https://issuer.example",
            sub="acme",
            aud=["https://hub.example"],
            now=now,
            fmt=fmt,
        )
        for fmt in ("jwt", "cwt")
    }


def test_our_jwt_verifies_with_pyjwt_and_joserfc():
    _now, tokens = _now_tokens()
    token = tokens["jwt"].decode()
    claims = pyjwt.decode(
        token, ISSUER.public_key._crypto, algorithms=["EdDSA"], audience="https://hub.example"
    )
    assert claims["sub"] == "acme" and claims["lic"] == example(COMMERCIAL).to_claim()
    assert pyjwt.get_unverified_header(token)["typ"] == "lic+jwt"
    decoded = jjwt.decode(token, OKPKey.import_key(ISSUER.public_key.jwk()), algorithms=["EdDSA"])
    assert decoded.header == {"alg": "EdDSA", "kid": ISSUER.public_key.thumbprint, "typ": "lic+jwt"}
    jjwt.JWTClaimsRegistry(sub={"essential": True, "value": "acme"}).validate(decoded.claims)
    assert decoded.claims["lic"] == example(COMMERCIAL).to_claim()
    # and a tampered one fails there too
    bad = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt.decode(
            bad, ISSUER.public_key._crypto, algorithms=["EdDSA"], audience="https://hub.example"
        )


def _claims_for_them(now):
    return {
        "iss": "https://issuer.example", "sub": "acme", "iat": now, "nbf": now, "exp": now + 3600,
        "jti": "their-jti-1", "cnf": {"jwk": HOLDER.public_key.jwk()},
        "lic": example(COMMERCIAL).to_claim(),
    }  # fmt: skip


def test_we_verify_jwts_that_pyjwt_and_joserfc_produce():
    now = int(time.time())
    claims = _claims_for_them(now)
    headers = {"kid": ISSUER.public_key.thumbprint, "typ": "lic+jwt"}
    by_pyjwt = pyjwt.encode(claims, ISSUER._key, algorithm="EdDSA", headers=headers)
    priv = OKPKey.import_key({**ISSUER.public_key.jwk(), "d": b64url_encode(SEED1)})
    by_joserfc = jjwt.encode({"alg": "EdDSA", **headers}, claims, priv, algorithms=["EdDSA"])
    for token in (by_pyjwt, by_joserfc):
        v = lic.verify(token, trust(), now=now)
        assert v.license == example(COMMERCIAL) and v.jti == "their-jti-1"
        assert lic.evaluate(v, lic.Use(action="run.inference")).effect == "indeterminate"
    # their default typ "JWT" is refused: a plain JWT is not a license token
    plain = pyjwt.encode(claims, ISSUER._key, algorithm="EdDSA", headers={"kid": headers["kid"]})
    with pytest.raises(MalformedError, match="typ"):
        lic.verify(plain, trust(), now=now)


def _cose_key(private: bool):
    kid = b64url_decode(ISSUER.public_key.thumbprint)
    k = {1: 1, -1: 6, -2: ISSUER.public_key.raw, 2: kid, 3: -8}
    if private:
        k[-4] = SEED1
    return COSEKey.new(k)


def test_our_cwt_verifies_with_python_cwt():
    _now, tokens = _now_tokens()
    claims = cwt.decode(tokens["cwt"], _cose_key(False))
    assert claims[2] == "acme" and claims[3] == "https://hub.example"
    assert claims["lic"] == example(COMMERCIAL).to_claim()
    bad = bytearray(tokens["cwt"])
    bad[-1] ^= 1
    with pytest.raises(cwt.VerifyError):
        cwt.decode(bytes(bad), _cose_key(False))


def test_we_verify_cwts_that_python_cwt_produces():
    now = int(time.time())
    j = _claims_for_them(now)
    claims = {1: j["iss"], 2: j["sub"], 4: j["exp"], 5: j["nbf"], 6: j["iat"], 7: b"their-cti",
              8: {1: {1: 1, -1: 6, -2: HOLDER.public_key.raw}}, "lic": j["lic"]}  # fmt: skip
    payload = cbor2.dumps(claims, canonical=True)
    prot = {1: -8, 4: b64url_decode(ISSUER.public_key.thumbprint), 16: "application/lic+cwt"}
    token = COSE.new().encode_and_sign(payload, _cose_key(True), protected=prot, unprotected={})
    v = lic.verify(token, trust(), now=now)
    assert v.license == example(COMMERCIAL) and v.jti == b64url_encode(b"their-cti")
    # python-cwt's high-level encoder puts kid in the unprotected bucket: refused, as specified
    high = cwt.encode(claims, _cose_key(True))
    with pytest.raises(MalformedError, match="unprotected"):
        lic.verify(high, trust(), now=now)


def test_verification_never_reads_keys_from_the_token():
    """An attacker's self-signed token with its own key in every possible place stays untrusted."""
    forged = lic.issue(example(COMMERCIAL), HOLDER, HOLDER.public_key, iss="https://issuer.example",
                       sub="acme", now=T0)  # fmt: skip
    with pytest.raises(LicError):
        lic.verify(forged, trust(), now=NOW)


def test_invalid_signature_error_is_opaque():
    token = bytearray(issue("jwt"))
    token[-2] = ord("A") if token[-2] != ord("A") else ord("B")
    with pytest.raises(InvalidSignatureError) as info:
        lic.verify(bytes(token), trust(), now=NOW)
    assert str(info.value) == "invalid signature"


B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .\n"


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=B64_CHARS, max_size=12) | st.binary(max_size=12).map(b64url_encode))
def test_fast_base64url_agrees_with_the_reference_decoder(text):
    from lic.tokens._fields import b64url as _b64url

    data = text.encode()
    try:
        expected = b64url_decode(data, "x")
    except MalformedError as e:
        with pytest.raises(MalformedError) as info:
            _b64url(data, "x")
        assert str(info.value) == str(e)
    else:
        assert _b64url(data, "x") == expected


B64_ANY_BYTE = st.binary(max_size=16) | st.text(alphabet=B64_CHARS, max_size=16).map(str.encode)


@settings(max_examples=3000, deadline=None)
@given(B64_ANY_BYTE | st.binary(max_size=12).map(b64url_encode).map(str.encode))
def test_inline_base64url_accepts_exactly_what_the_strict_decoder_accepts(data):
    """``_b64url_fast`` (the fast paths' inline decoder: a translation that turns "=+/" into
    a byte no decoder takes, then the strict standard decoder) takes exactly the inputs of
    length 0 mod 4 that ``_b64url`` takes, with the same bytes, and raises binascii.Error on
    everything else."""
    import binascii

    from lic.tokens._fields import b64url as _b64url
    from lic.tokens._fields import b64url_fast as _b64url_fast

    data = data[: len(data) - len(data) % 4] if data and data[0] % 2 else data
    try:
        expected = _b64url(data, "x")
    except MalformedError:
        expected = None
    try:
        got = _b64url_fast(data)
    except binascii.Error:
        got = None
    if len(data) % 4 == 0:
        assert got == expected
    else:
        assert got is None


def test_inline_base64url_refuses_every_byte_outside_the_alphabet_at_every_place():
    """Every byte value at every place of a four-character group and of the signature's last
    group: ``_b64url_fast`` and the signature's inline decoding agree with ``_b64url``."""
    import binascii

    from lic.tokens._fields import SIG_TAIL as _SIG_TAIL
    from lic.tokens._fields import URL_TO_STRICT as _URL_TO_STRICT
    from lic.tokens._fields import b64url as _b64url
    from lic.tokens._fields import b64url_fast as _b64url_fast

    def strict(data: bytes) -> bytes | None:
        try:
            return _b64url(data, "x")
        except MalformedError:
            return None

    for b in range(256):
        for i in range(4):
            data = b"QUJD"[:i] + bytes([b]) + b"QUJD"[i + 1 :]
            try:
                got = _b64url_fast(data)
            except binascii.Error:
                got = None
            assert got == strict(data), (b, i)
        for i in range(2):  # a 64-byte signature's last group: two characters and "=="
            data = b"Q" * 84 + b"QQ"[:i] + bytes([b]) + b"QQ"[i + 1 :]
            try:  # as verify() decodes it
                if data[85] not in _SIG_TAIL:
                    raise binascii.Error
                got = binascii.a2b_base64(data.translate(_URL_TO_STRICT) + b"==", strict_mode=True)
            except binascii.Error:
                got = None
            assert got == strict(data), (b, i)


@settings(max_examples=500, deadline=None)
@given(st.binary(min_size=86, max_size=86) | st.text(alphabet=B64_CHARS, min_size=86,
       max_size=86).map(str.encode) | st.binary(min_size=64, max_size=64).map(b64url_encode)
       .map(str.encode))  # fmt: skip
def test_jwt_signature_part_is_decoded_as_the_strict_decoder_does(sig_part):
    """A JWT whose signature part is any 86 bytes: refused with the same error as the strict
    decoder gives that part, or (when it decodes) refused as an invalid signature."""
    from lic.tokens._fields import b64url as _b64url
    from lic.tokens._jwt import split as _split_jwt

    token = issue("jwt").rsplit(b".", 1)[0] + b"." + sig_part
    try:
        _split_jwt(token)  # a dot in the part: not three parts
        _b64url(sig_part, "JWT signature")
    except MalformedError as e:
        expected: type[Exception] = MalformedError
        message = str(e)
    else:
        expected, message = InvalidSignatureError, "invalid signature"
    with pytest.raises(LicError) as info:
        lic.verify(token, trust(), now=NOW)
    assert type(info.value) is expected and str(info.value) == message


def test_caches_do_not_change_answers():
    """The header/license/key caches only hold what strict parsing accepted from equal bytes:
    a cached header or license still needs a valid signature over the whole token."""
    good = issue("jwt")
    lic.verify(good, trust(), now=NOW)  # warm every cache
    h, p, s = good.split(b".")
    forged_payload = b64url_encode(
        b64url_decode(p).replace(b'"sub":"acme"', b'"sub":"mallory"')
    ).encode()
    with pytest.raises(InvalidSignatureError):
        lic.verify(h + b"." + forged_payload + b"." + s, trust(), now=NOW)
    lic.verify(good, trust(), now=NOW)
    cgood = issue("cwt")
    lic.verify(cgood, trust(), now=NOW)
    bad = bytearray(cgood)
    bad[-70] ^= 1  # inside the license claim
    with pytest.raises(LicError):
        lic.verify(bytes(bad), trust(), now=NOW)


def test_a_verified_license_cannot_be_changed_by_its_reader():
    """Licenses are shared between tokens through the cache: one reader must not alter another's."""
    first = lic.verify(issue("jwt"), trust(), now=NOW)
    with pytest.raises(TypeError):
        first.license.duties["report-incidents"] = {}  # type: ignore[index]
    with pytest.raises(TypeError):
        first.license.duties["report-incidents"]["within"] = "P99D"  # type: ignore[index]
    with pytest.raises(AttributeError):
        first.license.tier = "academic"  # type: ignore[misc]
    second = lic.verify(issue("jwt", jti=b"another"), trust(), now=NOW)
    assert second.license.duties["report-incidents"]["within"] == "P3D"


def test_issuer_key_outside_its_trust_window_is_refused():
    from keys import TrustEntry, TrustStore, UntrustedKeyError

    token = issue("jwt")
    for window in ({"not_after": NOW}, {"not_before": NOW + 1}):
        store = TrustStore([TrustEntry(ISSUER.public_key, "issuer", "issuer", **window)])
        with pytest.raises(UntrustedKeyError):
            lic.verify(token, store, now=NOW)
    store = TrustStore([TrustEntry(ISSUER.public_key, "issuer", "issuer", not_after=NOW + 1)])
    assert lic.verify(token, store, now=NOW).sub == "acme"

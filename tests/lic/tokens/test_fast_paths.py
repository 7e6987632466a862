"""The byte-exact readers accept only what the strict readers accept, with equal results:
every byte of real tokens is mutated, truncated and extended (and signed again), and the two
compared. (The template-route and cached split-parse tiers and their tests are gone.)"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.licenses import issue
from keys import LicError
from lic import cbor, cose
from lic.tokens import UnverifiedToken, _cwt, _cwt_fast, _jwt, _jwt_fast, token_bytes
from lic.tokens._cache import CACHE
from lic.tokens._fields import build, is_cwt

TOKENS = [issue("cwt"), issue("cwt", aud=["https://hub.example"]), issue("cwt", aud=["a", "b"])]


def forget_holders() -> None:
    """Forget the holders the JWT fast reader learned."""
    CACHE.jwt_holders.clear()


def variants(data: bytes):
    for i in range(len(data)):
        for mask in (0x01, 0x02, 0x10, 0x20, 0x80, 0xFF):
            bad = bytearray(data)
            bad[i] ^= mask
            yield bytes(bad)
        yield data[:i]
        yield data[:i] + b"\x00" + data[i:]
    yield data + b"\x00"


def generic_head(payload):
    try:
        return cbor.decode_map_split(payload, max_size=1 << 16, last_key="lic")
    except LicError:
        return None


def generic_sign1(raw):
    try:
        m = cose.parse_sign1(raw, max_size=1 << 16)
    except LicError:
        return None
    return m


def cwt_generic_token(payload):
    try:
        return build(UnverifiedToken, _cwt.fields(b"raw", payload, "kid"))
    except LicError as e:
        return (type(e), str(e))


def check_head(payload):
    fast = generic_head(payload)
    quick = _cwt_fast.claims_quick(payload)
    if quick is not None:  # the straight-line reader agrees with the strict decoder
        iss, sub, aud, exp, nbf, iat, cti, x, lic_at = quick
        try:
            [s.decode() for s in (iss, sub, aud or b"")]
        except UnicodeDecodeError:  # left to its caller, which declines
            quick = None
    if quick is not None:
        assert fast is not None
        claims, lic_head = fast
        assert payload[lic_at:] == lic_head and cti == claims[7] and x == claims[8][1][-2]
        assert (exp, nbf, iat) == (claims[4], claims[5], claims[6])
        assert (iss.decode(), sub.decode()) == (claims[1], claims[2])
        assert (aud is None and 3 not in claims) or aud.decode() == claims[3]
    token = _cwt_fast.claims(UnverifiedToken, b"raw", payload, "kid")
    if token is not None:  # the fast token equals the generic one
        assert quick is not None
        assert token == cwt_generic_token(payload)


def check_sign1(raw):
    """The fast split gives the strict parse's parts, or declines."""
    g = generic_sign1(raw)
    parts = _cwt_fast.sign1(raw)
    if parts is not None:  # verification signs raw[at:-66]: the payload as COSE encodes it
        protected, payload, signature, at = parts
        # (the shape may hold a protected header that is not valid CBOR: only headers
        # checked before are looked up, by their bytes)
        assert g is None or (protected, payload, signature) == (
            g.protected_bytes, g.payload, g.signature,
        )  # fmt: skip
        assert raw[at:-66] == cbor.encode_bstr_head(len(payload)) + payload
        assert cbor.encode(["Signature1", protected, b"", payload]) == (
            b"\x84\x6aSignature1" + cbor.encode_bstr_head(len(protected)) + protected
            + b"\x40" + raw[at:-66]
        )  # fmt: skip


@pytest.mark.parametrize("token", TOKENS)
def test_fast_paths_take_the_real_shapes(token):
    assert _cwt_fast.sign1(token) is not None
    payload = cose.parse_sign1(token, max_size=1 << 16).payload
    # our issuers' shape (no aud or one aud) takes the fast path; an aud array falls back
    fast = _cwt_fast.claims(UnverifiedToken, b"raw", payload, "kid")
    assert (fast is not None) == (token is not TOKENS[2])
    check_head(payload)
    check_sign1(token)


@pytest.mark.parametrize("token", TOKENS[:2])
def test_every_mutation_of_the_claims_agrees(token):
    payload = cose.parse_sign1(token, max_size=1 << 16).payload
    head_len = payload.index(b"\x63lic") + 4
    for bad in variants(payload[: head_len + 8]):
        check_head(bad + payload[head_len + 8 :])


@pytest.mark.parametrize("token", TOKENS[:2])
def test_every_mutation_of_the_message_agrees(token):
    # the structure around the payload: the first 60 and the last 70 bytes
    for bad in variants(token[:60]):
        check_sign1(bad + token[60:])
    for bad in variants(token[-70:]):
        check_sign1(token[:-70] + bad)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_multi_byte_mutations_agree(data):
    token = data.draw(st.sampled_from(TOKENS))
    payload = cose.parse_sign1(token, max_size=1 << 16).payload
    b = bytearray(payload)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, 120))
        b[i] = data.draw(st.integers(0, 255))
    check_head(bytes(b))


def jwt_payload(token: bytes) -> bytes:
    from keys import b64url_decode

    return b64url_decode(token.split(b".")[1])


# --- the JWT head fast path ----------------------------------------------------------------


def generic_token(p, raw=b"raw"):
    try:
        return build(UnverifiedToken, _jwt.fields(raw, p, "kid"))
    except LicError as e:
        return (type(e), str(e))


def check_head_fast_path(payload: bytes) -> bool:
    """The fast token of ``payload`` (when it gives one) equals the generic one; True if
    it gave one. The fast path declines every token the generic path refuses."""
    from keys import b64url_encode

    p = b64url_encode(payload).encode()
    raw = b"h." + p + b".s"  # the fast path reads the payload in place, between the dots
    fast = _jwt_fast.claims(UnverifiedToken, raw, 1, len(raw) - 2, "kid")
    if fast is None:
        return False
    assert fast == generic_token(p, raw)
    return True


HEAD_EDITS = [b'"', b"\\", b",", b"}", b"{", b"-", b"0", b"9", b".5", b"e1", b" ", b"\xff",
              b"\xc3", b"\xc3\xa9", b"\x1f", b'"lic":1,', b'"x":1,', b"\\u0041"]  # fmt: skip


@pytest.mark.parametrize("aud", [(), ("https://hub.example",)])
@pytest.mark.parametrize("pad", range(3))
def test_jwt_head_fast_path_agrees_on_every_head_edit(aud, pad):

    token = issue("jwt", sub="acme" + "x" * pad, aud=list(aud))
    p = token.split(b".")[1]
    _jwt_fast._learn_tail(p)  # registers the license tail
    payload = jwt_payload(token)
    cut = payload.rfind(b',"lic":')
    forget_holders()
    assert check_head_fast_path(payload)  # the real shape takes the fast path
    # ... and teaches it the holder's first 124 characters (without aud): the edits below
    # after the holder's x go the route that decodes only the rest of the head
    assert (p[: _jwt_fast._CNF_B64] in CACHE.jwt_holders) == (not aud)
    taken = 0
    for i in range(cut + 1):
        for mask in (0x01, 0x20, 0x80):
            if i < cut:
                bad = bytearray(payload)
                bad[i] ^= mask
                taken += check_head_fast_path(bytes(bad))
        for edit in HEAD_EDITS:
            taken += check_head_fast_path(payload[:i] + edit + payload[i:])
            if i < cut:
                taken += check_head_fast_path(payload[:i] + edit + payload[i + 1 :])
        taken += check_head_fast_path(payload[:i] + payload[i + 1 :])
    assert taken > 0  # edits inside strings and numbers stay on the fast path


@pytest.mark.parametrize("sub", ["acme", "acmé-ü"])
@pytest.mark.parametrize("pad", range(3))
def test_jwt_holder_route_agrees_with_the_full_head_route(pad, sub):
    """With the holder's characters known, every edit of the rest of the head gives what
    the route that decodes the whole head gives (and what the strict path gives)."""
    from keys import b64url_encode

    token = issue("jwt", sub=sub + "x" * pad)
    raw0 = b"h." + token.split(b".")[1] + b".s"
    _jwt_fast._learn_tail(token.split(b".")[1])
    forget_holders()
    for _ in range(2):  # the full route, then the holder route: the same token
        got = _jwt_fast.claims(UnverifiedToken, raw0, 1, len(raw0) - 2, "kid")
        assert got is not None and got.sub == sub + "x" * pad
        assert got == generic_token(token.split(b".")[1], raw0)
    _jwt_fast._learn_tail(token.split(b".")[1])
    payload = jwt_payload(token)
    cut = payload.rfind(b',"lic":')
    taken = 0
    for i in range(93, cut):
        for edit in (b"0", b'"', b"\\", b"\xc3", b"}", b"1"):
            bad = payload[:i] + edit + payload[i + 1 :]
            p = b64url_encode(bad).encode()
            raw = b"h." + p + b".s"
            forget_holders()
            full = _jwt_fast.claims(UnverifiedToken, raw, 1, len(raw) - 2, "kid")
            _jwt_fast.claims(UnverifiedToken, b"h." + b64url_encode(payload).encode()
                             + b".s", 1, len(raw) - 2 - len(p) + len(b64url_encode(payload)),
                             "kid")  # fmt: skip
            assert p[: _jwt_fast._CNF_B64] in CACHE.jwt_holders
            held = _jwt_fast.claims(UnverifiedToken, raw, 1, len(raw) - 2, "kid")
            assert held == full
            if held is not None:
                assert held == generic_token(p, raw)
                taken += 1
    assert taken > 50  # edits inside numbers and strings stay on the holder route


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_jwt_head_fast_path_agrees_on_random_edits(data):

    token = issue("jwt", sub="acme")
    _jwt_fast._learn_tail(token.split(b".")[1])
    payload = bytearray(jwt_payload(token))
    cut = bytes(payload).rfind(b',"lic":')
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, cut - 1))
        payload[i] = data.draw(st.sampled_from(list(b'{}[]",:\\ 0159-aZ\x00\xff')))
    check_head_fast_path(bytes(payload))


@pytest.mark.parametrize(
    ("pattern", "replacement"),
    [
        (rb'"sub":"[^"]*"', b'"sub":"' + b"x" * 1025 + b'"'),
        (rb'"iss":"[^"]*"', b'"iss":"' + "é".encode() * 1025 + b'"'),
        (rb'"jti":"[^"]*"', b'"jti":"' + b"j" * 1025 + b'"'),
        (rb'"exp":\d+', b'"exp":0'),
        (rb'"exp":\d+', b'"exp":9007199254740992'),
        (rb'"iat":\d+', b'"iat":9007199254740992'),
        (rb'"nbf":\d+', b'"nbf":9007199254740992'),
        (rb'"x":"[^"]*"', b'"x":"' + b"A" * 43 + b'"'),  # not a canonical point encoding
        (rb'"x":"[^"]*"', b'"x":"' + b"_" * 43 + b'"'),
    ],
)
def test_jwt_head_fast_path_declines_what_the_claim_checks_refuse(pattern, replacement):
    import re

    token = issue("jwt", sub="acme")
    _jwt_fast._learn_tail(token.split(b".")[1])
    payload = jwt_payload(token)
    bad = re.sub(pattern, replacement, payload, count=1)
    assert bad != payload
    assert not check_head_fast_path(bad)
    assert isinstance(generic_token(__import__("keys").b64url_encode(bad).encode()), tuple)


@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
@pytest.mark.parametrize("backend", ["cryptography", "sodium"])
def test_verification_through_the_fast_routes_equals_the_strict_one(fmt, backend):
    """The first verification teaches the fast reader the header and license tail (each
    checked strictly once); it and later ones give the strict reader's token. A token with
    one bit changed anywhere is refused."""
    import lic
    from helpers.licenses import NOW, trust

    store = trust(backend=backend)
    CACHE.reset()
    token = issue(fmt)
    first = lic.verify(token, store, now=NOW)
    assert CACHE.cose_headers or fmt == "jwt"
    assert CACHE.jwt_tails or fmt == "cwt"
    strict = _jwt.verify if fmt == "jwt" else _cwt.verify
    assert strict(token, store, NOW, 60) == first
    assert lic.verify(token, store, now=NOW) == first
    other = issue(fmt, sub="someone-else")
    fast = lic.verify(other, store, now=NOW)
    assert fast.sub == "someone-else" and fast.license == first.license
    for i in range(0, len(other), 7):
        bad = bytearray(other)
        bad[i] ^= 0x04
        with pytest.raises(LicError):
            lic.verify(bytes(bad), store, now=NOW)


def test_the_jwt_fast_reader_splits_every_token_as_the_full_split_does():
    """The fast reader looks up the header by the bytes before the first dot and takes the
    second dot from the signature's length. Every token around a valid one (a dot inserted,
    a character replaced by a dot or deleted, a part added or cut) gives the same outcome, to
    the message, with the memo primed as with it empty."""
    import lic
    from helpers.licenses import NOW, trust

    store = trust()
    token = issue("jwt")

    def outcome(t: bytes, primed: bool) -> object:
        CACHE.reset()
        if primed:
            lic.verify(token, store, now=NOW)
            assert CACHE.jwt_headers
        try:
            return lic.verify(t, store, now=NOW)
        except LicError as e:
            return (type(e), str(e))

    dot = token.index(b".")
    variants = [token + b".x", token + b".", token[:-1], b"." + token, token[: dot + 1]]
    for i in range(len(token)):
        variants += [token[:i] + b"." + token[i:], token[:i] + b"." + token[i + 1 :]]
        if i % 5 == 0 or i > len(token) - 90:
            variants.append(token[:i] + token[i + 1 :])
    for v in variants:
        assert outcome(v, True) == outcome(v, False), v
    assert outcome(token, True) == outcome(token, False) == lic.verify(token, store, now=NOW)


# --- verification through the fast readers against the strict readers ----------------------


def count_fast(monkeypatch, fmt: str) -> list[bool]:
    """Wrap the fast reader of ``fmt``: each call appends whether it accepted the token (the
    dispatcher then decides; otherwise the strict reader does), which the list collects."""
    module = _jwt_fast if fmt == "jwt" else _cwt_fast
    taken: list[bool] = []
    read = module.read

    def counting(cls, raw):
        got = read(cls, raw)
        taken.append(got is not None)
        return got

    monkeypatch.setattr(module, "read", counting)
    return taken


def _outcome(fmt: str, raw: bytes, store, primer: bytes | None) -> object:
    """With a primer: verify()'s result for ``raw`` once the memo has learned the primer (from
    empty). Without: the strict reader's result (of the format the first byte names), which
    reads no memo. (``fmt`` names the primer's format.)"""
    import lic
    from helpers.licenses import NOW

    try:
        if primer is None:
            data = token_bytes(raw)
            return (_cwt if is_cwt(data) else _jwt).verify(data, store, NOW, 60)
        CACHE.reset()
        lic.verify(primer, store, now=NOW)
        return lic.verify(raw, store, now=NOW)
    except LicError as e:
        return (type(e), str(e))


def _cwt_outcome(raw: bytes, store, primer: bytes | None) -> object:
    return _outcome("cwt", raw, store, primer)


def _jwt_outcome(raw: bytes, store, primer: bytes | None) -> object:
    return _outcome("jwt", raw, store, primer)


def test_cwt_fast_reader_agrees_with_the_strict_reader_on_every_resigned_claims_edit(monkeypatch):
    """Every edit of a CWT's claims (a bit flipped, a byte inserted or deleted), signed again
    by the issuer, gives through the fast reader what the strict reader gives: the same
    token or the same error. Edits in sub, the dates and cti stay on the fast reader."""
    from helpers.licenses import trust
    from helpers.token_attacks import sign1_raw

    store = trust()
    token = issue("cwt", sub="acme-7")
    top = cbor.decode(token, max_size=1 << 16, tags=frozenset({18})).value
    protected, payload = top[0], top[2]
    taken = count_fast(monkeypatch, "cwt")
    lic_at = payload.index(b"\x63lic") + 4
    places = [*range(lic_at + 8), *range(lic_at + 8, len(payload), 23), len(payload) - 1]
    on_fast = 0
    for i in places:
        edits = [payload[:i] + bytes([payload[i] ^ m]) + payload[i + 1 :] for m in (1, 0x20, 0x80)]
        edits += [payload[:i] + b"\x00" + payload[i:], payload[:i] + payload[i + 1 :]]
        for bad in edits:
            raw = sign1_raw(protected, b"\xa0", bad)
            taken.clear()
            primed = _cwt_outcome(raw, store, token)
            assert taken[0] is True and len(taken) == 2  # the primer, then raw
            assert primed == _cwt_outcome(raw, store, None), (i, bad[i - 2 : i + 3])
            on_fast += taken[1]
    assert on_fast > 50  # edits inside sub, the dates and cti are read by the fast reader
    taken.clear()
    assert _cwt_outcome(token, store, token) == _cwt_outcome(token, store, None)
    assert taken == [True, True]


def test_cwt_fast_reader_agrees_on_every_cut_extension_and_flip_of_a_whole_token():
    """Every prefix of a token, the token with bytes added, and every flip of its envelope
    (tag, array, header, payload head, signature head): the same outcome through the fast
    reader (memo primed) as through the strict reader."""
    from helpers.licenses import trust

    store = trust()
    token = issue("cwt", sub="acme-7")
    other = issue("cwt", sub="acme-8")
    at = token.index(b"\xa0\x59") + 1
    variants = [token[:i] for i in range(len(token))]
    variants += [token + b"\x00", token + token[-66:], token[:at] + b"\x00" + token[at:]]
    for i in [*range(at + 3), *range(len(token) - 66, len(token) - 60)]:
        for mask in (0x01, 0x20, 0x80):
            variants.append(token[:i] + bytes([token[i] ^ mask]) + token[i + 1 :])
    for v in variants:
        assert _cwt_outcome(v, store, other) == _cwt_outcome(v, store, None), v[:12]


def test_cwt_route_is_not_learned_from_another_shape_and_keeps_to_its_own():
    """A token with aud, or an iss of 24 bytes or more (whatever the length of its head),
    teaches no route; a token of another holder, license or issuer name misses the route,
    is read as the strict reader reads it, and takes the route over for its header."""
    import lic
    from helpers.licenses import COMMERCIAL, ISSUER, NOW, OPEN_RAIL, OTHER, example, trust

    store = trust()
    long_iss = ["https://" + "i" * n + ".example" for n in (8, 20, 150, 300)]
    for kw in ({"aud": ["https://hub.example"]}, *({"iss": iss} for iss in long_iss)):
        CACHE.reset()
        for _ in range(3):
            lic.verify(issue("cwt", **kw), store, now=NOW)
        assert not CACHE.cwt_routes
    token = issue("cwt")
    others = [
        issue("cwt", license=example(OPEN_RAIL)),
        issue("cwt", iss="https://other.example"),
        lic.issue(example(COMMERCIAL), ISSUER, OTHER.public_key, fmt="cwt",
                  iss="https://issuer.example", sub="acme", now=NOW - 10),
    ]  # fmt: skip
    for other in others:
        CACHE.reset()
        lic.verify(token, store, now=NOW)
        (route,) = CACHE.cwt_routes.values()
        assert route.read(UnverifiedToken, other) is None
        assert _cwt_outcome(other, store, token) == _cwt_outcome(other, store, None)
        CACHE.reset()
        lic.verify(token, store, now=NOW)
        lic.verify(other, store, now=NOW)
        assert list(CACHE.cwt_routes.values()) != [route]  # the other token's route now


def _jws(header: bytes, payload: bytes) -> bytes:
    from helpers.licenses import ISSUER
    from keys import b64url_encode

    signing_input = header + b"." + b64url_encode(payload).encode()
    return signing_input + b"." + b64url_encode(ISSUER.sign(signing_input)).encode()


@pytest.mark.parametrize("pad", range(3))
def test_jwt_fast_reader_agrees_with_the_strict_reader_on_every_resigned_payload_edit(
    pad, monkeypatch
):
    """Every edit of a JWT's claims (a bit flipped, a byte inserted or deleted, a character
    that matters to JSON put in), signed again by the issuer, gives through the fast reader
    what the strict reader gives: the same token or the same error. Each alignment of the
    license tail is taken; edits in the dates, iss, jti and sub stay on the fast reader."""
    from helpers.licenses import trust

    store = trust()
    token = issue("jwt", sub="acme" + "x" * pad)
    header = token.split(b".")[0]
    payload = jwt_payload(token)
    taken = count_fast(monkeypatch, "jwt")
    cut = payload.rfind(b',"lic":')
    places = [*range(88, cut + 8), *range(cut + 8, len(payload), 29), len(payload) - 1]
    on_fast = 0
    for i in places:
        edits = [payload[:i] + bytes([payload[i] ^ m]) + payload[i + 1 :] for m in (1, 0x20)]
        edits += [payload[:i] + e + payload[i + 1 :] for e in (b'"', b"\\", b"\x1f", b"\xc3")]
        edits += [payload[:i] + b"0" + payload[i:], payload[:i] + payload[i + 1 :]]
        for bad in edits:
            raw = _jws(header, bad)
            taken.clear()
            primed = _jwt_outcome(raw, store, token)
            assert taken[0] is True and len(taken) == 2, (i, bad[i - 3 : i + 3], primed)
            assert primed == _jwt_outcome(raw, store, None), (i, bad[i - 3 : i + 3])
            on_fast += taken[1]
    assert on_fast > 100
    taken.clear()
    assert _jwt_outcome(token, store, token) == _jwt_outcome(token, store, None)
    assert taken == [True, True]


def test_jwt_fast_reader_agrees_on_every_cut_extension_and_changed_character_of_a_token():
    """Every prefix of a token, the token with characters added, and every character of its
    header, holder, last payload characters and signature replaced: the same outcome through
    the fast reader (memo primed) as through the strict reader."""
    from helpers.licenses import trust

    store = trust()
    token = issue("jwt", sub="acme-7")
    other = issue("jwt", sub="acme-8")
    dot = token.index(b".")
    variants = [token[:i] for i in range(0, len(token), 3)] + [token[:-1], token[:-87]]
    variants += [token + b"A", token + b".", token + b"=", token[:dot] + b"A" + token[dot:]]
    for i in [*range(dot + 130), *range(len(token) - 100, len(token))]:
        for c in (b"A", b".", b"=", b"+", b"/", b"-"):
            if token[i : i + 1] != c:
                variants.append(token[:i] + c + token[i + 1 :])
    for v in variants:
        assert _jwt_outcome(v, store, other) == _jwt_outcome(v, store, None), v[:12]


@settings(max_examples=250, deadline=None)
@given(fmt=st.sampled_from(["jwt", "cwt"]), data=st.data())
def test_fast_readers_agree_with_the_strict_readers_on_random_resigned_edits(fmt, data):
    """A few random edits anywhere in the claims (bytes replaced, inserted or deleted, chosen
    among what matters to JSON and CBOR), signed again by the issuer: the fast reader and
    the strict reader give the same token or the same error."""
    from helpers.licenses import trust
    from helpers.token_attacks import sign1_raw

    store = trust()
    token = issue(fmt, sub="acme-7")
    if fmt == "jwt":
        header, payload = token.split(b".")[0], bytearray(jwt_payload(token))
    else:
        top = cbor.decode(token, max_size=1 << 16, tags=frozenset({18})).value
        protected, payload = top[0], bytearray(top[2])
    special = list(b'{}[]",:\\ 0159-aZ\x00\x01\x02\x07\x08\x1a\x40\x58\x59\x60\x78\xa8\xff')
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(payload) - 1))
        b = data.draw(st.sampled_from(special) | st.integers(0, 255))
        how = data.draw(st.sampled_from(["replace", "insert", "delete"]))
        if how == "replace":
            payload[i] = b
        elif how == "insert":
            payload.insert(i, b)
        else:
            del payload[i]
    bad = bytes(payload)
    if fmt == "jwt":
        raw, outcome = _jws(header, bad), _jwt_outcome
    else:
        raw, outcome = sign1_raw(protected, b"\xa0", bad), _cwt_outcome
    assert outcome(raw, store, token) == outcome(raw, store, None)

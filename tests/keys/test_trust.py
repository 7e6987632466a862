"""Trust store: lookup semantics, strict parsing of the file, atomic saves."""

import copy
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import (
    KeyStoreError,
    MalformedError,
    SigningKey,
    TrustEntry,
    TrustStore,
    UntrustedKeyError,
)

A = SigningKey.from_seed(bytes(32)).public_key
B = SigningKey.from_seed(bytes([1] * 32)).public_key


def _store():
    return TrustStore(
        [
            TrustEntry(A, "issuer", "a-issuer", not_before=100, not_after=200),
            TrustEntry(A, "log", "example.com/log"),
            TrustEntry(B, "witness", "w1", not_after=50),
        ]
    )


def test_lookup_by_kid_and_role():
    s = _store()
    assert s.lookup(A.thumbprint, "issuer", 150) == A
    assert s.lookup(A.thumbprint, "log", 0) == A
    assert s.lookup(B.thumbprint, "witness", 49) == B


def test_lookup_refusals_say_why():
    s = _store()
    with pytest.raises(UntrustedKeyError, match="not in the trust store"):
        s.lookup("x" * 43, "issuer", 150)
    with pytest.raises(UntrustedKeyError, match="not trusted as witness"):
        s.lookup(A.thumbprint, "witness", 150)
    with pytest.raises(UntrustedKeyError, match="not trusted as issuer"):
        s.lookup(B.thumbprint, "issuer", 0)
    with pytest.raises(MalformedError, match="unknown role"):
        s.lookup(A.thumbprint, "admin", 150)
    with pytest.raises(MalformedError):
        s.lookup(A.thumbprint, "issuer", True)


@pytest.mark.parametrize(("now", "ok"), [(99, False), (100, True), (199, True), (200, False)])
def test_window_is_half_open(now, ok):
    s = _store()
    if ok:
        assert s.lookup(A.thumbprint, "issuer", now) == A
    else:
        with pytest.raises(UntrustedKeyError, match="at time"):
            s.lookup(A.thumbprint, "issuer", now)


def test_lookup_never_matches_by_name():
    s = _store()
    with pytest.raises(UntrustedKeyError):
        s.lookup("a-issuer", "issuer", 150)


def test_add_refuses_duplicates():
    s = _store()
    with pytest.raises(KeyStoreError, match="named 'w1' already exists"):
        s.add(TrustEntry(A, "witness", "w1"))
    with pytest.raises(KeyStoreError, match="already trusted as log"):
        s.add(TrustEntry(A, "log", "other"))
    s.add(TrustEntry(A, "witness", "a-witness"))  # same key, new role: fine
    assert [e.role for e in s.by_role("witness")] == ["witness", "witness"]


def test_remove_by_name_or_kid():
    s = _store()
    assert [e.name for e in s.remove("w1")] == ["w1"]
    assert len(s) == 2
    assert sorted(e.name for e in s.remove(A.thumbprint)) == ["a-issuer", "example.com/log"]
    assert len(s) == 0
    with pytest.raises(KeyStoreError, match="no entry"):
        s.remove("w1")


def test_by_role():
    s = _store()
    assert [e.name for e in s.by_role("issuer")] == ["a-issuer"]
    assert [e.name for e in s.by_role("log")] == ["example.com/log"]
    with pytest.raises(MalformedError):
        s.by_role("root")


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"role": "admin"}, "unknown role"),
        ({"name": ""}, "name"),
        ({"name": "a b"}, "name"),
        ({"name": "a+b"}, "name"),
        ({"not_before": 5, "not_after": 5}, "earlier"),
        ({"not_before": -1}, "integer"),
        ({"not_after": True}, "integer"),
        ({"not_after": 1.5}, "integer"),
        ({"not_before": 2**63}, "integer"),
    ],
)
def test_entry_validation(kwargs, why):
    args = {"public_key": A, "role": "issuer", "name": "n"} | kwargs
    with pytest.raises(MalformedError, match=why):
        TrustEntry(**args)


def test_entry_kid_is_derived():
    assert TrustEntry(A, "issuer", "n").kid == A.thumbprint


# --- the file -------------------------------------------------------------------------------
def test_save_load_roundtrip_and_atomic(tmp_path):
    path = tmp_path / "sub" / "trust.json"
    s = _store()
    s.save(path)
    assert TrustStore.load(path).entries == s.entries
    s.remove("w1")
    s.save(path)
    assert TrustStore.load(path).entries == s.entries
    assert os.listdir(path.parent) == ["trust.json"]  # no temporary files left


def test_load_missing_file(tmp_path):
    with pytest.raises(KeyStoreError, match="does not exist"):
        TrustStore.load(tmp_path / "nope.json")


def _doc():
    return _store().to_json()


def _mutations():
    """Every member removed, an extra member, and wrongly typed values: all must be refused."""
    out = []
    doc = _doc()
    for member in doc:
        d = copy.deepcopy(doc)
        del d[member]
        out.append((f"top-level without {member}", d))
    out.append(("top-level extra", _doc() | {"extra": 1}))
    out.append(("wrong format", _doc() | {"format": "lic-ledger trust store v2"}))
    out.append(("keys not a list", _doc() | {"keys": {}}))
    out.append(("not an object", [1]))
    entry = doc["keys"][0]
    for member in entry:
        if member in ("not_before", "not_after"):
            continue  # optional
        d = copy.deepcopy(doc)
        del d["keys"][0][member]
        out.append((f"entry without {member}", d))
    for member, bad_values in {
        "name": [1, None, "", "a b", ["a"]],
        "role": [1, None, "Issuer", "root"],
        "kid": [1, None, B.thumbprint, ""],
        "public_key": ["x", None, [], B.jwk() | {"d": "AAAA"}, {"kty": "OKP", "crv": "Ed25519"}],
        "not_before": ["100", 1.0, True, -1, 2**63],
        "not_after": ["200", 2.5, False, 100],
    }.items():
        for v in bad_values:
            d = copy.deepcopy(doc)
            d["keys"][0][member] = v
            out.append((f"entry {member}={v!r}", d))
    d = copy.deepcopy(doc)
    d["keys"][0]["extra"] = 1
    out.append(("entry extra member", d))
    d = copy.deepcopy(doc)
    d["keys"].append(copy.deepcopy(d["keys"][0]))
    out.append(("duplicate entry", d))
    d = copy.deepcopy(doc)
    d["keys"][0]["public_key"]["x"] = d["keys"][0]["public_key"]["x"][:-1]
    out.append(("truncated x", d))
    return out


@pytest.mark.parametrize(
    ("what", "doc"), _mutations(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_malformed_trust_store_refused(what, doc):
    with pytest.raises(MalformedError):
        TrustStore.loads(json.dumps(doc).encode())


def test_the_unmutated_document_loads():
    # Control for the mutation test above: the base document itself is accepted.
    assert TrustStore.loads(json.dumps(_doc()).encode()).entries == _store().entries


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"{",
        b'{"format": "lic-ledger trust store v1", "keys": [], "keys": []}',
        b'{"format": "lic-ledger trust store v1", "keys": [], "n": NaN}',
        b"\xff\xfe",
        b" " * (1024 * 1024 + 1),
    ],
    ids=["empty", "truncated", "duplicate member", "NaN", "not UTF-8", "too large"],
)
def test_malformed_json_refused(data):
    with pytest.raises(MalformedError):
        TrustStore.loads(data)


def _reference_lookup(store, kid, role, now):
    """The lookup as specified, step by step (SPEC.md section 3): role, now, entry, window."""
    from keys import ROLES

    if role not in ROLES:
        raise MalformedError("unknown role")
    if type(now) is not int:
        raise MalformedError("now")
    for e in store.entries:
        if e.kid == kid and e.role == role:
            if not e.valid_at(now):
                raise UntrustedKeyError("at time")
            return e.public_key
    raise UntrustedKeyError("not trusted")


@settings(max_examples=400, deadline=None)
@given(
    kid=st.sampled_from([A.thumbprint, B.thumbprint, "x" * 43]),
    role=st.sampled_from(["issuer", "log", "witness", "admin", ""]),
    now=st.integers(-5, 260) | st.booleans() | st.just(150.0) | st.none(),
)
def test_lookup_answers_as_the_reference_does(kid, role, now):
    """The common case answered first gives exactly the reference's key or error class."""
    s = _store()
    try:
        expected = _reference_lookup(s, kid, role, now)
    except (MalformedError, UntrustedKeyError) as e:
        with pytest.raises(type(e)):
            s.lookup(kid, role, now)
    else:
        assert s.lookup(kid, role, now) == expected


def test_lookup_with_an_unhashable_role_is_refused_as_an_unknown_role():
    with pytest.raises(MalformedError, match="unknown role"):
        _store().lookup(A.thumbprint, ["issuer"], 150)  # type: ignore[arg-type]

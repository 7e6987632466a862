"""append_signed_batch: one transaction for many author-signed entries, each checked in order
against the state; refused entries take no index and do not sink the others."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from keys import MalformedError, SigningKey
from ledger.audit import audit_db
from ledger.entries import make_entry
from ledger.store import (
    Appended,
    Ledger,
    Refused,
    append_signed_batch,
    append_signed_entry,
    parse_signed_entry,
)
from lic import cbor, cose

T = 1_790_000_000


def _key(n: int) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"batch test key %d" % n).digest())


LOG, ISSUER, STRANGER = _key(0), _key(1), _key(2)


def _add_issuer() -> bytes:
    p = {"at": T, "key": ISSUER.public_key.raw, "role": "issuer", "name": "issuer"}
    return make_entry("key.add", p, LOG)


def _revoke(digest: bytes, author: SigningKey) -> bytes:
    p = {
        "at": T,
        "tokens": [digest],
        "reason": "licensee_request",
        "effective": T,
        "cascade": True,
    }
    return make_entry("revoke", p, author)


def _request(author: SigningKey, n: int) -> bytes:
    p = {
        "at": T + n,
        "applicant": hashlib.sha256(b"applicant %d" % n).digest(),
        "tier": "academic",
        "purpose": "research",
        "region": "DE",
    }
    return make_entry("access.request", p, author)


def _bad_signature(entry: bytes) -> bytes:
    return entry[:-1] + bytes([entry[-1] ^ 1])


def test_refusals_take_no_index_and_do_not_sink_the_others(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger.create(path, "example.com/log", LOG) as led:
        entries = [
            _add_issuer(),
            _request(ISSUER, 1),  # its author is registered by the entry before it
            _revoke(hashlib.sha256(b"never granted").digest(), ISSUER),  # state refusal
            _request(STRANGER, 2),  # unknown author
            _bad_signature(_request(ISSUER, 3)),  # known author, bad signature
            _request(ISSUER, 4),
        ]
        got = append_signed_batch(led, [parse_signed_entry(e) for e in entries], now=T + 10)
        kinds = [g.kind if isinstance(g, Refused) else "ok" for g in got]
        assert kinds == ["ok", "ok", "state", "author", "signature", "ok"]
        ok = [g for g in got if isinstance(g, Appended)]
        assert [a.index for a in ok] == [0, 1, 2]
        assert led.size == 3
        for a in ok:
            assert led.leaf_hash(a.index) == a.leaf_hash
            assert led.record_bytes(a.index) == a.record
        assert led.record(2).entry == entries[5]
        # the handle's state went on from the batch: a single append sees it
        one = append_signed_entry(led, "access.request", _request(ISSUER, 5), now=T + 11)
        assert one.index == 3
        led.checkpoint(LOG)
    result = audit_db(path)
    assert result.clean, result.findings
    assert result.size == 4


def test_all_refused_writes_nothing(tmp_path: Path) -> None:
    with Ledger.create(tmp_path / "l.db", "example.com/log", LOG) as led:
        got = append_signed_batch(
            led, [parse_signed_entry(_request(STRANGER, n)) for n in range(3)], now=T
        )
        assert [g.kind for g in got if isinstance(g, Refused)] == ["author"] * 3
        assert led.size == 0
        # and the state still accepts what it should, at index 0
        assert append_signed_batch(led, [parse_signed_entry(_add_issuer())], now=T)[0] == (
            Appended(0, led.leaf_hash(0), led.record_bytes(0))
        )


def test_a_batch_equals_the_same_entries_appended_one_by_one(tmp_path: Path) -> None:
    entries = [_add_issuer(), *(_request(ISSUER, n) for n in range(20))]
    with Ledger.create(tmp_path / "a.db", "example.com/log", LOG) as a:
        batch = append_signed_batch(a, [parse_signed_entry(e) for e in entries], now=T)
        root_a = a.root()
    with Ledger.create(tmp_path / "b.db", "example.com/log", LOG) as b:
        singles = [
            append_signed_entry(b, parse_signed_entry(e).entry_type, e, now=T) for e in entries
        ]
        root_b = b.root()
    assert batch == singles
    assert root_a == root_b


def _sign1(protected: dict[object, object], payload: bytes) -> bytes:
    return cose.sign1(protected, payload, ISSUER)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        b"\xd2\x84",  # truncated COSE_Sign1
        _request(ISSUER, 1) + b"\x00",  # trailing bytes
        _request(ISSUER, 1)[1:],  # untagged
        bytes(1024 * 1024 + 1),
    ],
)
def test_parse_refuses_malformed_entries(data: bytes) -> None:
    with pytest.raises(MalformedError):
        parse_signed_entry(data)


def test_parse_takes_the_type_from_the_protected_header() -> None:
    e = parse_signed_entry(_request(ISSUER, 1))
    assert e.entry_type == "access.request"
    assert e.kid == ISSUER.public_key.thumbprint
    with pytest.raises(MalformedError):
        parse_signed_entry(_request(ISSUER, 1), "grant")
    kid = ISSUER.public_key.thumbprint.encode()
    no_typ = _sign1({cose.HDR_ALG: cose.ALG_EDDSA, cose.HDR_KID: kid}, cbor.encode({"at": 1}))
    with pytest.raises(MalformedError, match="typ"):
        parse_signed_entry(no_typ)
    bad_schema = _sign1(
        {cose.HDR_ALG: cose.ALG_EDDSA, cose.HDR_KID: kid, cose.HDR_TYP: "access.request"},
        cbor.encode({"at": 1}),
    )
    with pytest.raises(MalformedError, match=r"access\.request entry refused"):
        parse_signed_entry(bad_schema)

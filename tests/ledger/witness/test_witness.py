"""Witness (SPEC 13): tlog-cosignature bytes checked against an independent construction,
every add-checkpoint status, atomic check-and-store under concurrent submitters, every
cosigned checkpoint kept, split-view evidence and proof, every single-byte change of a
cosigned note refused (the `lic witness` commands: tests/cli/test_witness.py). The logs a
witness reads live on each backend (conftest: ``new_log``, ``ledger_at``); the witness's own
store is a SQLite file on both."""

import hashlib
import json
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from helpers.backends import gone
from helpers.witnesses import (
    LOG,
    LOG_KEY,
    ORIGIN,
    WITNESS_KEYS,
    WITNESS_NAMES,
    Log,
    new_witness,
    witness_verifier,
)
from keys import (
    InvalidSignatureError,
    KeyStoreError,
    LicError,
    MalformedError,
    SigningKey,
    UntrustedKeyError,
    b64std_decode,
    b64std_encode,
)
from ledger.entries import sign_entry
from ledger.store import Ledger
from ledger.tlog import (
    CosignatureV1Verifier,
    Ed25519NoteSigner,
    Ed25519NoteVerifier,
    cosign,
    open_checkpoint,
    open_note,
    parse_note,
    sign_checkpoint,
    sign_note,
    verify_cosignature,
)
from ledger.witness import Witness, parse_add_checkpoint_request, split_view_result

NOW = 1_750_000_000


# -- cosignatures ------------------------------------------------------------------------------


def test_cosignature_bytes_match_an_independent_construction():
    """Key id, signed message and signature layout built by hand from the C2SP text."""
    key = WITNESS_KEYS[0]
    name = WITNESS_NAMES[0]
    text = f"{ORIGIN}\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    line = cosign(text, key, name, 1679315147)
    assert line.startswith(f"— {name} ") and line.endswith("\n")
    blob = b64std_decode(line.split(" ")[2].strip())
    pub = key.public_key.raw
    assert blob[:4] == hashlib.sha256(name.encode() + b"\n\x04" + pub).digest()[:4]
    assert len(blob) == 4 + 8 + 64
    assert blob[4:12] == (1679315147).to_bytes(8, "big")
    message = b"cosignature/v1\ntime 1679315147\n" + text.encode()
    Ed25519PublicKey.from_public_bytes(pub).verify(blob[12:], message)  # raises if wrong
    v = CosignatureV1Verifier(name, key.public_key)
    assert v.timestamp(text.encode(), blob[4:]) == 1679315147
    key_b64 = b64std_encode(bytes([4]) + pub)
    assert v.vkey == f"{name}+{blob[:4].hex()}+{key_b64}"
    assert CosignatureV1Verifier.from_vkey(v.vkey).key_hash == v.key_hash


def test_witness_vkeys_are_strict():
    v = witness_verifier(0)
    note_vkey = WITNESS_KEYS[0].public_key.verifier_key(WITNESS_NAMES[0])  # type 0x01
    for bad in (
        note_vkey,
        v.vkey.replace("+", "+0", 1),
        v.vkey + "A",
        v.vkey.split("+", 1)[1],
        "x+y",
        "",
    ):
        with pytest.raises(MalformedError):
            CosignatureV1Verifier.from_vkey(bad)
    with pytest.raises(MalformedError):
        Ed25519NoteVerifier.from_vkey(v.vkey)  # a witness key is not a note (0x01) key


def test_cosignature_is_not_a_note_signature_and_timestamp_is_bound(tmp_path, new_log):
    log = new_log("l")
    cp = log.grow(3)
    text = parse_note(cp.note).text
    line = cosign(text, WITNESS_KEYS[0], WITNESS_NAMES[0], NOW)
    note = cp.note + line.encode()
    _, t = verify_cosignature(note, witness_verifier(0))
    assert t == NOW
    # the same key as an Ed25519 note key (type 0x01) has another key id: not counted
    as_note_key = Ed25519NoteVerifier(WITNESS_NAMES[0], WITNESS_KEYS[0].public_key)
    with pytest.raises(UntrustedKeyError):
        open_note(note, [as_note_key])
    # changing the timestamp inside the signature breaks it
    blob = bytearray(b64std_decode(line.split(" ")[2].strip()))
    blob[11] ^= 1
    forged = f"— {WITNESS_NAMES[0]} {b64std_encode(bytes(blob))}\n"
    with pytest.raises(InvalidSignatureError):
        verify_cosignature(cp.note + forged.encode(), witness_verifier(0))
    with pytest.raises(MalformedError):
        cosign(text, WITNESS_KEYS[0], WITNESS_NAMES[0], 1 << 63)


def test_every_single_byte_change_of_a_cosigned_note_is_refused(tmp_path, pg_cluster):
    """The log signs the same note on either backend (checked): the mutations run once."""
    signed = []
    for place in (tmp_path / "l.db", pg_cluster.new_url("l")):
        log = Log(place)
        signed.append(log.grow(2))
        log.led.close()
    assert signed[0].note == signed[1].note
    cp = signed[0]
    note = cp.note + cosign(parse_note(cp.note).text, WITNESS_KEYS[0], "w", NOW).encode()
    w = CosignatureV1Verifier("w", WITNESS_KEYS[0].public_key)

    def accepted(data: bytes) -> bool:
        try:
            _, verified = open_checkpoint(data, LOG, [w])
        except LicError:
            return False
        return verified.signed_by(w)

    assert accepted(note)
    changes = 0
    for i in range(len(note)):
        for b in range(256):
            if b != note[i]:
                assert not accepted(note[:i] + bytes([b]) + note[i + 1 :]), (i, b)
                changes += 1
        assert not accepted(note[:i] + note[i + 1 :])
    assert changes == 255 * len(note)


# -- add-checkpoint semantics ------------------------------------------------------------------


@pytest.fixture
def setup(tmp_path, new_log):
    log = new_log("l")
    w = new_witness(tmp_path / "w.db")
    yield log, w, tmp_path
    w.close()
    log.led.close()


def test_200_cosigns_stores_and_keeps_every_checkpoint(setup):
    log, w, _ = setup
    sizes = []
    old = 0
    for k in (3, 2, 4):
        cp = log.grow(k)
        size = cp.checkpoint.size
        out = w.add_checkpoint(old, log.proof(old, size), cp.note, NOW + size)
        assert out.status == 200, out.reason
        (line,) = out.cosignatures
        _, t = verify_cosignature(cp.note + line.encode(), witness_verifier(0))
        assert t == NOW + size
        assert w.head(ORIGIN).size == size and w.head(ORIGIN).root == cp.checkpoint.root
        sizes.append(size)
        old = size
    kept = w.cosigned(ORIGIN)
    assert [r.size for r in kept] == sizes == [3, 5, 9]
    for r in kept:
        open_checkpoint(r.note, LOG)
        verify_cosignature(r.note + r.cosignature.encode(), witness_verifier(0))
    # the same checkpoint again is cosigned again (with a new time) but not stored again
    out = w.add_checkpoint(9, [], kept[-1].note, NOW + 100)
    assert out.status == 200 and len(w.cosigned(ORIGIN)) == 3


def test_409_when_old_size_is_not_the_stored_size(setup):
    log, w, _ = setup
    cp3 = log.grow(3)
    assert w.add_checkpoint(0, [], cp3.note, NOW).status == 200
    cp5 = log.grow(2)
    for old in (0, 2, 4):
        out = w.add_checkpoint(old, log.proof(old, 5), cp5.note, NOW)
        assert (out.status, out.stored_size, out.split_view) == (409, 3, False)
    assert w.add_checkpoint(3, log.proof(3, 5), cp5.note, NOW).status == 200
    out = w.add_checkpoint(3, [], cp3.note, NOW)  # a stale checkpoint
    assert (out.status, out.stored_size) == (409, 5)
    assert w.add_checkpoint(5, [], cp3.note, NOW).status == 400  # old size > checkpoint size
    assert w.head(ORIGIN).size == 5


def test_404_unknown_origin_and_403_bad_log_signature(setup, tmp_path, ledger_at):
    log, w, _ = setup
    cp = log.grow(3)
    other_key = SigningKey.from_seed(bytes([9]) * 32)
    other = Ledger.create(ledger_at("o"), "other.example/log", other_key)
    other.append("note", sign_entry("note", b"x", other_key), now=1)
    out = w.add_checkpoint(0, [], other.checkpoint(other_key).note, NOW)
    assert out.status == 404
    # right origin, signed by another key only: 403
    impostor = Ed25519NoteSigner(ORIGIN, other_key)
    fake = sign_checkpoint(cp.checkpoint, impostor).note
    assert w.add_checkpoint(0, [], fake, NOW).status == 403
    # right origin, the log's signature damaged: 403
    text, sig = cp.note.rsplit(b" ", 1)
    raw = bytearray(b64std_decode(sig.strip()))
    raw[-1] ^= 1
    assert (
        w.add_checkpoint(
            0, [], text + b" " + b64std_encode(bytes(raw)).encode() + b"\n", NOW
        ).status
        == 403
    )
    # malformed note text: 400
    bad = sign_note(
        f"{ORIGIN}\n03\n{b64std_encode(bytes(32))}\n", [Ed25519NoteSigner(ORIGIN, LOG_KEY)]
    )
    assert w.add_checkpoint(0, [], bad, NOW).status == 400
    assert w.head(ORIGIN).size == 0 and not w.cosigned() and not w.evidence()
    other.close()


def test_422_bad_consistency_proof_is_refused_and_recorded(setup):
    log, w, _ = setup
    cp3 = log.grow(3)
    w.add_checkpoint(0, [], cp3.note, NOW)
    cp8 = log.grow(5)
    good = log.proof(3, 8)
    assert w.add_checkpoint(0, [bytes(32)], cp3.note, NOW).status == 409  # old 0 is not 3
    for bad in ([], good[:-1], [*good, bytes(32)], [bytes(32)] * len(good), good[::-1]):
        out = w.add_checkpoint(3, bad, cp8.note, NOW)
        assert out.status == 422, bad
    assert w.head(ORIGIN).size == 3
    assert {e.kind for e in w.evidence()} == {"bad-consistency-proof"}
    assert w.add_checkpoint(3, [bytes(32)], cp3.note, NOW).status == 422  # equal sizes
    assert w.add_checkpoint(3, good, cp8.note, NOW).status == 200


def test_422_empty_proof_required_from_zero(tmp_path, new_log):
    log = new_log("l")
    w = new_witness(tmp_path / "w.db")
    cp = log.grow(3)
    assert w.add_checkpoint(0, [bytes(32)], cp.note, NOW).status == 422
    assert w.add_checkpoint(0, [], cp.note, NOW).status == 200


def test_split_view_is_refused_recorded_and_provable(setup, tmp_path, new_log):
    log, w, _ = setup
    honest = log.grow(4)
    assert w.add_checkpoint(0, [], honest.note, NOW).status == 200
    fork = new_log("fork", salt=b"fork ")
    forked = fork.grow(4)
    assert forked.checkpoint.root != honest.checkpoint.root
    out = w.add_checkpoint(4, [], forked.note, NOW + 1)
    assert (out.status, out.split_view, out.stored_size) == (409, True, 4)
    assert w.head(ORIGIN).root == honest.checkpoint.root
    (ev,) = w.evidence()
    assert ev.kind == "split-view" and ev.stored_note == honest.note and ev.note == forked.note
    res = split_view_result(ev.stored_note, ev.note, LOG)
    assert res.verdict == "split"
    text = res.explain()
    assert honest.note.decode().rstrip() in text and forked.note.decode().rstrip() in text
    # a third party refuses a "proof" whose notes are not both signed by the log key
    with pytest.raises(LicError):
        split_view_result(ev.stored_note, ev.note.replace(b"4\n", b"5\n", 1), LOG)
    fork.led.close()


def test_split_view_verdicts_for_consistent_and_undecided_pairs(setup):
    log, _, _ = setup
    a = log.grow(3)
    b = log.grow(4)
    assert split_view_result(a.note, a.note, LOG).verdict == "consistent"
    assert split_view_result(a.note, b.note, LOG).verdict == "unproven"
    assert split_view_result(b.note, a.note, LOG, log.proof(3, 7)).verdict == "consistent"
    assert split_view_result(a.note, b.note, LOG, [bytes(32)]).verdict == "unproven"


def test_concurrent_submitters_never_both_win(setup):
    """Two connections submit from the same old size at once, 15 rounds: exactly one wins
    each round and the other gets 409 naming the winner's size (check-and-store atomic)."""
    log, w, _ = setup
    cp = log.grow(2)
    assert w.add_checkpoint(0, [], cp.note, NOW).status == 200
    old = 2
    for _ in range(15):
        a = log.grow(1)
        b = log.grow(1)
        sizes = (a.checkpoint.size, b.checkpoint.size)
        reqs = [(old, log.proof(old, s), c.note) for s, c in zip(sizes, (a, b), strict=True)]
        barrier = threading.Barrier(2)
        results = [None, None]

        def submit(i, reqs=reqs, barrier=barrier, results=results):
            with Witness.open(w.path, WITNESS_KEYS[0]) as mine:
                barrier.wait()
                results[i] = mine.add_checkpoint(*reqs[i], NOW)

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        statuses = sorted(r.status for r in results)
        assert statuses == [200, 409], [r.reason for r in results]
        winner = next(r for r in results if r.status == 200)
        loser = next(r for r in results if r.status == 409)
        assert loser.stored_size == winner.checkpoint.size
        old = w.head(ORIGIN).size
        assert old == winner.checkpoint.size
    sizes = [r.size for r in w.cosigned(ORIGIN)]
    assert sizes == sorted(sizes) and len(sizes) == 16


def test_request_body_parsing_is_strict():
    note = b"o\n1\n" + b64std_encode(bytes(32)).encode() + b"\n\n\xe2\x80\x94 o AAAAAAA=\n"
    h = b64std_encode(bytes(32)).encode()
    ok = parse_add_checkpoint_request(b"old 1\n" + h + b"\n\n" + note)
    assert ok.old_size == 1 and ok.proof == (bytes(32),) and ok.note == note
    for bad in (
        b"old 01\n\n" + note,
        b"old -1\n\n" + note,
        b"old  1\n\n" + note,
        b"Old 1\n\n" + note,
        b"old 1\n" + h[:-1] + b"\n\n" + note,
        b"old 1\n" + b"\n".join([h] * 64) + b"\n\n" + note,
        b"old 1\n",
        b"old 1\n\n",
        b"old 99999999999999999999\n\n" + note,
        b"old 1\n" + b"x" * 70_000 + b"\n\n" + note,
    ):
        with pytest.raises(MalformedError):
            parse_add_checkpoint_request(bad)


def test_witness_state_refuses_a_wrong_key_and_a_bad_file(tmp_path):
    w = new_witness(tmp_path / "w.db")
    w.close()
    with pytest.raises(KeyStoreError):
        Witness.open(tmp_path / "w.db", WITNESS_KEYS[1])
    with pytest.raises(KeyStoreError):
        Witness.open(tmp_path / "w.db").add_checkpoint(0, [], b"", NOW)
    (tmp_path / "junk.db").write_bytes(b"not sqlite" * 100)
    with pytest.raises(MalformedError):
        Witness.open(tmp_path / "junk.db")
    with pytest.raises(MalformedError):
        new_witness(tmp_path / "w.db")  # exists


# -- more of the witness store -----------------------------------------------------------------


def test_witness_vkeys_round_trip_even_with_plus_in_base64():
    seen_plus = 0
    for i in range(64):
        v = CosignatureV1Verifier(
            f"w.example/{i}", SigningKey.from_seed(bytes([i]) * 32).public_key
        )
        seen_plus += "+" in v.vkey.split("+", 2)[2]
        assert CosignatureV1Verifier.from_vkey(v.vkey).key_hash == v.key_hash
    assert seen_plus  # the case that a naive split on '+' gets wrong


def test_store_keeps_one_cosignature_per_witness_and_the_newest(tmp_path, new_log):
    log = new_log("l")
    cp = log.grow(3)
    text = parse_note(cp.note).text
    lines = [cosign(text, WITNESS_KEYS[i], WITNESS_NAMES[i], NOW) for i in range(3)]
    assert log.led.add_cosignatures(3, lines) == 3
    assert log.led.add_cosignatures(3, lines) == 0  # the same lines again: nothing changes
    newer = cosign(text, WITNESS_KEYS[0], WITNESS_NAMES[0], NOW + 60)
    assert log.led.add_cosignatures(3, [newer]) == 1
    assert log.led.cosignatures(3) == [newer, *lines[1:]]
    note = log.led.cosigned_checkpoint().note
    _, verified = open_checkpoint(note, LOG, [witness_verifier(i) for i in range(3)])
    assert len(verified.verified) == 4
    assert verify_cosignature(note, witness_verifier(0))[1] == NOW + 60
    own = parse_note(cp.note).signatures[0].line()
    with pytest.raises(MalformedError):
        log.led.add_cosignatures(3, [own])
    with pytest.raises(MalformedError):
        log.led.add_cosignatures(2, lines)  # no checkpoint at size 2
    with pytest.raises(MalformedError):
        log.led.add_cosignatures(3, ["— w AAAA\n"])
    with pytest.raises(MalformedError):
        log.led.add_cosignatures(3, [lines[1] + lines[2]])
    assert log.led.cosignatures(3) == [newer, *lines[1:]]  # refusals changed nothing
    many = [
        cosign(text, SigningKey.from_seed(bytes([i]) * 32), f"w.example/{i}", NOW)
        for i in range(97)
    ]
    with pytest.raises(MalformedError):
        log.led.add_cosignatures(3, many)  # 1 + 3 + 97 > 100 signatures in the note
    assert len(log.led.cosignatures(3)) == 3
    log.led.close()


def test_only_contradicting_requests_are_recorded_as_evidence(tmp_path, new_log):
    log = new_log("l")
    w = new_witness(tmp_path / "w.db")
    cp = log.grow(3)
    assert w.add_checkpoint(0, [bytes(32)], cp.note, NOW).status == 422  # a client error
    assert w.add_checkpoint(0, [], cp.note, NOW).status == 200
    assert w.add_checkpoint(3, [bytes(32)], cp.note, NOW).status == 422  # a client error
    assert w.add_checkpoint(0, [], cp.note, NOW).status == 409  # stale client, no evidence
    assert w.evidence() == []
    cp5 = log.grow(2)
    assert w.add_checkpoint(3, [bytes(32)], cp5.note, NOW).status == 422
    (ev,) = w.evidence()
    assert (ev.kind, ev.old_size, ev.proof, ev.stored_note, ev.note) == (
        "bad-consistency-proof",
        3,
        (bytes(32),),
        cp.note,
        cp5.note,
    )
    w.close()
    log.led.close()


def test_export_carries_cosignatures_and_import_stores_them_as_they_were(
    tmp_path, new_log, ledger_at
):
    """An auditor replaying an export names the same witnesses as the operator's ledger."""
    import io

    from ledger.report import replay_report
    from ledger.store import Ledger

    log = new_log("l")
    log.grow(3)  # a checkpoint without cosignatures
    cp5 = log.grow(2)
    text = parse_note(cp5.note).text
    lines = [cosign(text, WITNESS_KEYS[i], WITNESS_NAMES[i], NOW + i) for i in range(2)]
    log.led.add_cosignatures(5, lines)
    out = io.StringIO()
    log.led.export_jsonl(out)
    exported = out.getvalue().splitlines()
    notes = [json.loads(line)["checkpoint"] for line in exported if '"checkpoint"' in line]
    assert notes[1] == cp5.note.decode() + "".join(lines)
    (tmp_path / "e.jsonl").write_text(out.getvalue())

    imported = Ledger.import_jsonl(ledger_at("i"), exported)
    assert imported.cosignatures(5) == lines and imported.cosignatures(3) == []
    assert [c.note for c in imported.checkpoints()] == [c.note for c in log.led.checkpoints()]
    assert imported.cosigned_checkpoint().note == log.led.cosigned_checkpoint().note
    imported.close()
    log.led.close()
    from_db, _ = replay_report(db=log.led.location, workers=0)
    from_export, _ = replay_report(jsonl=tmp_path / "e.jsonl", workers=0)
    assert from_db["integrity"]["witnesses"] == sorted(WITNESS_NAMES[:2])
    assert from_export == from_db

    log_line = parse_note(cp5.note).signatures[0].line()
    body = cp5.note.decode()[: -len(log_line)]
    bad_notes = [
        body + lines[0] + log_line + lines[1],  # the log's signature not first
        body + log_line + lines[0] + log_line,  # the log's signature twice
    ]
    for i, bad in enumerate(bad_notes):
        target = ledger_at(f"bad{i}")
        original = json.dumps({"checkpoint": notes[1]})
        swap = json.dumps({"checkpoint": bad})
        changed = [swap if line == original else line for line in exported]
        assert changed != exported
        with pytest.raises(MalformedError, match="log's signature first"):
            Ledger.import_jsonl(target, changed)
        assert gone(target)

"""The bounded state (ADR 0006): SpillMap against a plain dict, and a state or report that
spilled against one that did not."""

import copy
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import SigningKey
from keys.errors import MalformedError
from ledger.audit import audit_summary
from ledger.report import replay_report, report_json_bytes
from ledger.state import SpillMap, SpillStore, TypeIndex, _spill, state_of
from ledger.store import Ledger
from ledger.tlog import RevokedSet, revset_commitment

# -- SpillMap against a dict ------------------------------------------------------------------

_INT_KEYS = st.integers(-3, 12)
_BYTES_KEYS = st.binary(max_size=2)
_OPS = (
    "set",
    "get",
    "mutate",
    "mutate_back",
    "other",
    "delete",
    "contains",
    "setdefault",
    "iterate",
    "len",
    "flush",
)


def _ops(keys: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(
        st.tuples(st.sampled_from(_OPS), keys, st.integers(0, 99)), min_size=1, max_size=80
    )


def _run(key_type: type, cap: int, ops: list) -> None:
    store = SpillStore(cap)
    m: SpillMap = SpillMap(store, key_type)
    other: SpillMap = SpillMap(store, int)  # shares the budget: may evict m's entries
    ref: dict = {}
    for op, k, v in ops:
        if op == "set":
            m[k] = [v]
            ref[k] = [v]
        elif op == "get":
            assert m.get(k) == ref.get(k)
            assert (k in ref) or m.get(k, "absent") == "absent"
        elif op == "mutate":  # in place after a lookup, then stored back (the rule)
            if k in ref:
                value = m[k]
                value.append(v)
                m[k] = value
                ref[k].append(v)
        elif op == "other":  # an addition to another map of the store
            other[v] = v
        elif op == "mutate_back":  # in place, another map touched, then stored back
            if k in ref:
                value = m[k]
                other[-v] = v
                value.append(v)
                m[k] = value
                ref[k].append(v)
            else:
                with pytest.raises(KeyError):
                    m[k]
        elif op == "delete":
            if k in ref:
                del m[k]
                del ref[k]
            else:
                with pytest.raises(KeyError):
                    del m[k]
        elif op == "contains":
            assert (k in m) == (k in ref)
        elif op == "setdefault":
            got = m.setdefault(k, [v])
            got.append(-v)
            m[k] = got
            ref.setdefault(k, [v]).append(-v)
        elif op == "iterate":
            assert list(m.items()) == sorted(ref.items())
            assert list(m) == sorted(ref)
            assert list(m.values()) == [ref[k] for k in sorted(ref)]
        elif op == "len":
            assert len(m) == len(ref) and bool(m) == bool(ref)
        else:
            m.flush()
        assert store.held == len(m._mem) + len(other._mem) <= cap
    assert list(m.items()) == sorted(ref.items())
    assert m == ref and m == copy.deepcopy(m)
    store.close()


@settings(max_examples=150, deadline=None)
@given(cap=st.integers(1, 4), ops=_ops(_INT_KEYS))
def test_spill_map_with_int_keys_is_a_dict(cap, ops):
    _run(int, cap, ops)


@settings(max_examples=150, deadline=None)
@given(cap=st.integers(1, 4), ops=_ops(_BYTES_KEYS))
def test_spill_map_with_bytes_keys_is_a_dict(cap, ops):
    _run(bytes, cap, ops)


@settings(max_examples=50, deadline=None)
@given(cap=st.integers(1, 3), keys=st.lists(st.text(max_size=3), max_size=30))
def test_spill_map_with_text_keys_iterates_in_code_point_order(cap, keys):
    store = SpillStore(cap)
    m: SpillMap = SpillMap(store, str)
    for k in keys:
        m[k] = len(k)
    assert list(m.items()) == sorted({k: len(k) for k in keys}.items())
    store.close()


def _fds() -> set[str]:
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    return out


def test_spill_store_opens_only_when_its_maps_outgrow_the_budget_and_leaves_nothing():
    store = SpillStore(1000)
    m: SpillMap = SpillMap(store, int)
    for i in range(1000):
        m[i] = b"x"
    assert not store.opened and not m.spilled  # a small map never touches disk
    before = _fds()
    for i in range(1000, 30_000):  # past SQLite's page cache: the file really exists
        m[i] = bytes(400)
    assert store.opened and m.spilled and len(m) == 30_000
    spill_files = _fds() - before
    assert spill_files and all(f.endswith("(deleted)") for f in spill_files)  # unlinked at once
    store.close()
    assert not (_fds() & spill_files)


def test_type_index_is_one_byte_per_record():
    t = TypeIndex(["a", "b"])
    t[3] = "b"
    t[0] = "a"
    assert (t.get(0), t.get(1), t.get(3), t.get(4), t.get(-1), t.get("x")) == (
        "a",
        None,
        "b",
        None,
        None,
        None,
    )
    assert len(t) == 2 and 3 in t and 2 not in t and len(t._types) == 4
    with pytest.raises(KeyError):
        t[1]


# -- a state and a report that spilled against ones that did not ----------------------------

_LOG = SigningKey.from_seed(bytes(32))


@pytest.fixture(scope="module")
def synth_db(synthetic_ledger):
    return synthetic_ledger(1500, seed=3, log_seed=bytes(32), origin="synth.example/log").path


def _state(path):
    with Ledger.open(path) as led:
        return state_of(led.iter_records(0, led.size), _LOG.public_key.raw), led.size


def test_state_that_spilled_equals_the_one_in_memory(synth_db, monkeypatch):
    whole, size = _state(synth_db)
    monkeypatch.setattr(_spill, "DEFAULT_BUDGET", 3)
    spilled, _ = _state(synth_db)
    assert spilled.spilled and not whole.spilled
    assert spilled.__dict__ == whole.__dict__
    assert len(spilled.grants) > 100 and len(spilled.requests) > 100
    t = whole.last_time
    for d in list(whole.grants):
        assert spilled.status(d, t) == whole.status(d, t)
        assert spilled.descendants(d, size) == whole.descendants(d, size)
    assert spilled.revoked_digests() == whole.revoked_digests()
    assert spilled.terms_in_force(t) == whole.terms_in_force(t)
    spilled.close()


@pytest.mark.parametrize(
    "window",
    [{}, {"k": 1, "start": 1_767_225_600 + 50_000, "end": 1_767_225_600 + 200_000}],
)
def test_audit_and_report_that_spilled_equal_the_ones_in_memory(synth_db, monkeypatch, window):
    report, result = replay_report(db=synth_db, workers=0, **window)
    expected = report_json_bytes(report)
    summary = audit_summary(result)
    assert not result.state.spilled
    monkeypatch.setattr(_spill, "DEFAULT_BUDGET", 2)
    report2, result2 = replay_report(db=synth_db, workers=0, **window)
    assert result2.state.spilled and result2.clean
    assert report_json_bytes(report2) == expected
    assert audit_summary(result2) == summary
    result2.state.close()


@settings(max_examples=60, deadline=None)
@given(st.sets(st.binary(min_size=32, max_size=32), max_size=40))
def test_streamed_revset_commitment_equals_the_revoked_set_tree(digests):
    members = sorted(digests)
    rs = RevokedSet(members, presorted=True)
    assert revset_commitment(iter(members)) == (rs.size, rs.root)
    if len(members) >= 2:
        for bad in (members[::-1], [*members, members[-1]]):
            with pytest.raises(MalformedError):
                revset_commitment(bad)

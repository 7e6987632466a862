"""verify_directory: every tamper (changed, added, removed, renamed file, ignored path) is
refused naming the file; a verified file is read from the descriptor that was hashed, and a
file changed or replaced after the check is refused."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from helpers.oms_dirs import TREES, ec_key, make_tree, package_sign, statement_of
from keys.errors import MalformedError, ProofMismatchError
from lic.oms import (
    ModelMismatchError,
    Resource,
    VerifiedModel,
    manifest_of,
    resources_from_json,
    root_of,
    verify_directory,
)

FILES = {**TREES["nested"], **TREES["orderings"], "e": b""}
NAMES = [n for n in FILES if not n.endswith("/")]


@pytest.fixture
def model(tmp_path):
    return make_tree(tmp_path / "model", FILES)


def _verify(model: Path, **kw) -> VerifiedModel:
    m = manifest_of(model)
    return verify_directory(model, m.resources, m.root, **kw)


def _mismatch(model, expected, **kw) -> ModelMismatchError:
    with pytest.raises(ModelMismatchError) as e:
        verify_directory(model, expected.resources, expected.root, **kw)
    return e.value


def test_an_untouched_directory_verifies(model):
    m = manifest_of(model)
    with verify_directory(model, m.resources, m.root) as v:
        assert v.names == tuple(r.name for r in m.resources)
        assert [f.digest for f in v.files] == [r.digest for r in m.resources]
        for name in v.names:
            data = (model / name).read_bytes()
            assert v.read_bytes(name) == data
            assert v.files[v.names.index(name)].size == len(data)
            with v.open(name) as f:
                assert f.read() == data


def test_readers_have_their_own_positions(model):
    with _verify(model) as v:
        name = "weights/model-00001-of-00002.safetensors"
        data = (model / name).read_bytes()
        a, b = v.open(name), v.open(name)
        assert a.read(10) == data[:10]
        assert b.read(5) == data[:5]
        a.seek(-3, os.SEEK_END)
        assert a.read() == data[-3:]
        assert b.read(5) == data[5:10]
        a.close()
        assert v.read_bytes(name) == data  # closing a reader keeps the model's descriptor


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes() or b"\x00")
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))


def _append(path: Path) -> None:
    path.write_bytes(path.read_bytes() + b"\x00")


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-1] if path.stat().st_size else b"\x01")


@pytest.mark.parametrize("change", [_flip, _append, _truncate])
@pytest.mark.parametrize("name", NAMES)
def test_every_changed_file_is_named(model, name, change):
    expected = manifest_of(model)
    change(model / name)
    e = _mismatch(model, expected)
    assert (e.changed, e.missing, e.extra, e.ignored) == ((name,), (), (), ())
    assert f"changed: {name}" in str(e)


@pytest.mark.parametrize("name", NAMES)
def test_every_removed_file_is_named(model, name):
    expected = manifest_of(model)
    (model / name).unlink()
    e = _mismatch(model, expected)
    assert (e.changed, e.missing, e.extra) == ((), (name,), ())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("to", ["{}.bak", "moved/{}", "{}x"])
def test_every_renamed_file_is_named_missing_and_extra(model, name, to):
    expected = manifest_of(model)
    target = model / to.format(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    (model / name).rename(target)
    e = _mismatch(model, expected)
    assert (e.changed, e.missing, e.extra) == ((), (name,), (to.format(name),))


@pytest.mark.parametrize("extra", ["new.bin", "weights/new.bin", "tokenizer/x/y", ".gitmodules"])
def test_every_added_file_is_named(model, extra):
    expected = manifest_of(model)
    make_tree(model, {extra: b"added"})
    e = _mismatch(model, expected)
    assert (e.changed, e.missing, e.extra) == ((), (), (extra,))
    with verify_directory(model, expected.resources, expected.root, allow_extra=True) as v:
        assert extra not in v.names and len(v.files) == len(expected.resources)


@pytest.mark.parametrize("ignored", [".git/HEAD", ".github/x.yml", ".gitattributes"])
def test_files_under_ignored_paths_are_refused_unless_allowed(model, ignored):
    expected = manifest_of(model)
    make_tree(model, {ignored: b"x"})
    assert manifest_of(model).ignored == (ignored,)
    assert manifest_of(model).root == expected.root
    e = _mismatch(model, expected)
    assert (e.changed, e.missing, e.extra, e.ignored) == ((), (), (), (ignored,))
    assert f"ignored path present: {ignored}" in str(e)
    with verify_directory(model, expected.resources, expected.root, allow_ignored=True) as v:
        assert ignored not in v.names


def test_all_differences_are_named_at_once(model):
    expected = manifest_of(model)
    _flip(model / "config.json")
    (model / "a-b").unlink()
    (model / "z").rename(model / "zz")
    make_tree(model, {"extra/file": b"1"})
    e = _mismatch(model, expected)
    assert e.changed == ("config.json",)
    assert set(e.missing) == {"a-b", "z"}
    assert e.extra == ("extra/file", "zz")
    assert isinstance(e, ProofMismatchError)


def test_a_listed_file_under_an_ignored_path_is_checked(model):
    make_tree(model, {".gitignore": b"x\n"})
    m = manifest_of(model)
    digest = hashlib.sha256(b"x\n").hexdigest()
    listed = (*m.resources, Resource(".gitignore", "sha256", digest))
    with verify_directory(model, listed, root_of(listed)) as v:
        assert v.read_bytes(".gitignore") == b"x\n"
    (model / ".gitignore").write_bytes(b"y\n")
    with pytest.raises(ModelMismatchError, match=r"changed: \.gitignore"):
        verify_directory(model, listed, root_of(listed))


def test_the_expected_manifest_must_hash_to_its_root(model):
    m = manifest_of(model)
    with pytest.raises(ProofMismatchError, match="do not hash to the expected root"):
        verify_directory(model, m.resources, m.string_order_root)
    with pytest.raises(ProofMismatchError):
        verify_directory(model, m.resources[::-1], m.root)
    twice = (*m.resources, m.resources[0])
    with pytest.raises(MalformedError, match="listed twice"):
        verify_directory(model, twice, m.root)


def test_a_symlink_in_the_directory_is_refused(model):
    m = manifest_of(model)
    (model / "link").symlink_to(model / "config.json")
    with pytest.raises(MalformedError, match=r"^link: is a symbolic link"):
        verify_directory(model, m.resources, m.root)


def test_a_file_changed_after_the_check_is_refused(model):
    name = "config.json"
    with _verify(model) as v:
        path = model / name
        st = path.stat()
        with open(path, "r+b") as f:  # same size, same inode, mtime put back
            f.write(b"X")
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        with pytest.raises(ProofMismatchError, match="changed since it was verified"):
            v.read_bytes(name)
        with pytest.raises(ProofMismatchError, match="changed since it was verified"):
            v.open(name)
        assert v.read_bytes("a-b") == b"1"


def test_a_file_replaced_after_the_check_is_refused(model, tmp_path):
    name = "weights/sub/deep/x.bin"
    with _verify(model) as v:
        other = tmp_path / "other"
        other.write_bytes((model / name).read_bytes())  # same bytes, another file
        os.replace(other, model / name)
        with pytest.raises(ProofMismatchError, match="replaced or removed since it was verified"):
            v.open(name)
        (model / "a-b").unlink()
        with pytest.raises(ProofMismatchError, match="replaced"):
            v.read_bytes("a-b")


def test_only_verified_files_open_and_only_while_open(model):
    make_tree(model, {".gitignore": b"x"})
    v = _verify(model, allow_ignored=True)
    with pytest.raises(MalformedError, match="not a verified file"):
        v.open(".gitignore")
    with pytest.raises(MalformedError, match="not a verified file"):
        v.read_bytes("nope")
    v.close()
    with pytest.raises(MalformedError, match="closed"):
        v.read_bytes("config.json")
    v.close()


def test_no_descriptor_leaks_when_the_check_fails(model):
    before = len(os.listdir("/proc/self/fd"))
    expected = manifest_of(model)
    _flip(model / "config.json")
    for _ in range(3):
        _mismatch(model, expected)
    assert len(os.listdir("/proc/self/fd")) == before


def test_resources_from_json_round_trips_our_manifest(model):
    m = manifest_of(model)
    assert resources_from_json(m.to_json()["resources"]) == m.resources


def test_a_model_signing_signature_is_an_expected_manifest(model, tmp_path):
    key, _ = ec_key(tmp_path)
    package_sign(model, key, tmp_path / "model.sig")
    statement = statement_of(tmp_path / "model.sig")
    resources = resources_from_json(statement["predicate"]["resources"])
    root = statement["subject"][0]["digest"]["sha256"]
    verify_directory(model, resources, root).close()
    _flip(model / "tokenizer/vocab.txt")
    with pytest.raises(ModelMismatchError, match=r"changed: tokenizer/vocab\.txt"):
        verify_directory(model, resources, root)


GOOD = {"name": "a", "algorithm": "sha256", "digest": "00" * 32}


@pytest.mark.parametrize(
    "items",
    [
        {"a": 1},
        [GOOD, GOOD],
        [[GOOD]],
        [{**GOOD, "extra": 1}],
        [{k: v for k, v in GOOD.items() if k != "algorithm"}],
        [{**GOOD, "algorithm": "blake2"}],
        [{**GOOD, "digest": "00" * 31}],
        [{**GOOD, "digest": "AA" * 32}],
        [{**GOOD, "digest": 0}],
        [{**GOOD, "name": 1}],
        *[[{**GOOD, "name": n}] for n in ["", "/a", "a/", "a//b", "./a", "a/../b", "..", "a\x00"]],
    ],
)
def test_resources_from_json_refuses_bad_lists(items):
    with pytest.raises(MalformedError):
        resources_from_json(items)

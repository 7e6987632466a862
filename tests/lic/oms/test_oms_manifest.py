"""lic.oms computes the manifest model-signing 1.1 computes: same resources in the same
order, same root, same serialization; symlinks, special files and non-UTF-8 names refused."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath

import model_signing.hashing
import pytest

from helpers.oms_dirs import TREES, ec_key, make_tree, package_resources, package_sign, statement_of
from keys.errors import MalformedError
from lic.oms import (
    DEFAULT_IGNORE_PATHS,
    ModelManifest,
    Resource,
    manifest_of,
    order_resources,
    root_of,
)


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return ec_key(tmp_path_factory.mktemp("key"))[0]


def _reference(model: Path, ignore=DEFAULT_IGNORE_PATHS) -> tuple[list[str], str, str]:
    """A naive reference: every file read whole, names sorted as PurePosixPath and as
    strings, and the two roots."""
    names = []
    for dirpath, _, files in os.walk(model):
        for f in files:
            name = (Path(dirpath) / f).relative_to(model).as_posix()
            if not any(name == p or name.startswith(p + "/") for p in ignore):
                names.append(name)

    def root(order):
        digests = b"".join(hashlib.sha256((model / n).read_bytes()).digest() for n in order)
        return hashlib.sha256(digests).hexdigest()

    by_path = sorted(names, key=PurePosixPath)
    return by_path, root(by_path), root(sorted(names))


@pytest.mark.parametrize("tree", sorted(TREES))
def test_manifest_equals_model_signing(tree, tmp_path, key):
    model = make_tree(tmp_path / tree, TREES[tree])
    ours = manifest_of(model)
    assert [r.to_json() for r in ours.resources] == package_resources(model)
    package_sign(model, key, tmp_path / "model.sig")
    statement = statement_of(tmp_path / "model.sig")
    assert statement["subject"] == [{"name": tree, "digest": {"sha256": ours.root}}]
    predicate = statement["predicate"]
    assert predicate["resources"] == [r.to_json() for r in ours.resources]
    serialization = dict(predicate["serialization"])
    serialization["ignore_paths"] = sorted(serialization["ignore_paths"])
    mine = ours.serialization.to_json()
    assert mine.pop("ordering") == "path-components"
    assert serialization == mine
    names, root, string_root = _reference(model)
    assert [r.name for r in ours.resources] == names
    assert (ours.root, ours.string_order_root) == (root, string_root)
    assert ours.orderings_differ == (root != string_root)
    assert ours.digest == f"sha256:{root}"


def test_the_orderings_differ_where_expected(tmp_path):
    conflict = manifest_of(make_tree(tmp_path / "o", TREES["orderings"]))
    names = [r.name for r in conflict.resources]
    assert names.index("tokenizer/vocab.txt") < names.index("tokenizer.json")
    assert names.index("a/b") < names.index("a-b")
    assert conflict.orderings_differ
    assert conflict.to_json()["orderings_differ"] is True
    plain = manifest_of(make_tree(tmp_path / "n", TREES["nested"]))
    assert not plain.orderings_differ and plain.string_order_root == plain.root


def test_empty_files_that_reorder_keep_one_root(tmp_path):
    """Two empty files swapping places change no root: the flag compares roots, not lists."""
    m = manifest_of(make_tree(tmp_path / "m", {"x/a": b"", "x-a": b""}))
    assert [r.name for r in m.resources] == ["x/a", "x-a"]
    assert not m.orderings_differ


def test_ignored_paths_are_listed_and_left_out(tmp_path):
    m = manifest_of(make_tree(tmp_path / "g", TREES["git"]))
    names = {r.name for r in m.resources}
    assert {".gitmodules", "sub/.git/config", "sub/.gitignore"} <= names
    assert not any(n.split("/")[0] in DEFAULT_IGNORE_PATHS for n in names)
    assert m.ignored == (
        ".git/HEAD",
        ".git/objects/ab/cdef",
        ".gitattributes",
        ".github/workflows/ci.yml",
        ".gitignore",
    )


def test_more_ignored_paths_match_the_package(tmp_path, key):
    model = make_tree(tmp_path / "m", TREES["nested"])
    (model / "model.sig").write_bytes(b"{}")
    ignore = ("model.sig", "weights/sub")
    ours = manifest_of(model, ignore_paths=ignore)
    assert [r.to_json() for r in ours.resources] == package_resources(model, ignore)
    assert "model.sig" in ours.serialization.ignore_paths
    assert "model.sig" in ours.ignored and "weights/sub/deep/x.bin" in ours.ignored


@pytest.mark.parametrize("bad", ["../x", "/etc", "a/../../b", "."])
def test_ignore_paths_stay_inside(tmp_path, bad):
    with pytest.raises(MalformedError, match="inside the directory"):
        manifest_of(make_tree(tmp_path / "m", {"a": b"1"}), ignore_paths=[bad])


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_parallelism_changes_nothing(tmp_path, workers):
    files = {f"d{i % 3}/f{i:02}": bytes([i]) * (i * 1000) for i in range(20)}
    model = make_tree(tmp_path / "m", {**files, **TREES["big"]})
    assert manifest_of(model, workers=workers) == manifest_of(model, workers=1)


def test_workers_must_be_positive(tmp_path):
    with pytest.raises(MalformedError, match="workers"):
        manifest_of(make_tree(tmp_path / "m", {"a": b"1", "b": b"2"}), workers=0)


def _symlink_file(model):
    (model / "link.bin").symlink_to(model / "config.json")
    return "link.bin"


def _symlink_dir(model):
    (model / "weights" / "alias").symlink_to(model / "weights" / "sub")
    return "weights/alias"


def _symlink_dangling(model):
    (model / "gone").symlink_to(model / "nowhere")
    return "gone"


def _symlink_in_git(model):
    (model / ".git").mkdir()
    (model / ".git" / "HEAD").symlink_to(model / "config.json")
    return ".git/HEAD"


@pytest.mark.parametrize("make", [_symlink_file, _symlink_dir, _symlink_dangling, _symlink_in_git])
def test_a_symlink_is_refused_by_both(tmp_path, make):
    model = make_tree(tmp_path / "m", TREES["nested"])
    name = make(model)
    with pytest.raises(MalformedError, match=f"^{name}: is a symbolic link"):
        manifest_of(model)
    with pytest.raises(ValueError, match="symlink"):
        model_signing.hashing.Config().hash(model)


def test_a_fifo_is_refused_by_both(tmp_path):
    model = make_tree(tmp_path / "m", {"a": b"1"})
    os.mkfifo(model / "pipe")
    with pytest.raises(MalformedError, match=r"^pipe: not a regular file"):
        manifest_of(model)
    with pytest.raises(ValueError, match="special file"):
        model_signing.hashing.Config().hash(model)


def test_a_name_that_is_not_utf8_is_refused(tmp_path):
    model = make_tree(tmp_path / "m", {"a": b"1"})
    with open(os.path.join(os.fsencode(model), b"w\xffeights.bin"), "wb") as f:
        f.write(b"x")
    with pytest.raises(MalformedError, match="not valid UTF-8"):
        manifest_of(model)


def test_the_directory_itself_is_checked(tmp_path):
    with pytest.raises(MalformedError, match="no such directory"):
        manifest_of(tmp_path / "missing")
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(MalformedError, match="not a directory"):
        manifest_of(tmp_path / "file")
    make_tree(tmp_path / "real", {"a": b"1"})
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    with pytest.raises(MalformedError, match="symbolic link"):
        manifest_of(tmp_path / "alias")


def test_the_name_is_the_directory_name(tmp_path, monkeypatch):
    model = make_tree(tmp_path / "my-model", {"a": b"1"})
    monkeypatch.chdir(model)
    assert manifest_of(".").name == "my-model"
    assert manifest_of(model).name == "my-model"


def test_root_of_is_the_hash_of_the_raw_digests_in_order():
    a, b = hashlib.sha256(b"a").hexdigest(), hashlib.sha256(b"b").hexdigest()
    ra, rb = Resource("a", "sha256", a), Resource("b", "sha256", b)
    assert root_of([ra, rb]) == hashlib.sha256(bytes.fromhex(a + b)).hexdigest()
    assert root_of([rb, ra]) != root_of([ra, rb])
    assert root_of([Resource("other-name", "sha256", a), rb]) == root_of([ra, rb])
    assert root_of([]) == hashlib.sha256(b"").hexdigest()
    assert order_resources([rb, ra]) == (ra, rb)


@pytest.mark.parametrize(
    "resource",
    [
        Resource("a", "sha512", "00" * 32),
        Resource("a", "sha256", "00" * 31),
        Resource("a", "sha256", "AA" * 32),
        Resource("a", "sha256", "zz" * 32),
        Resource("a", "sha256", "00" * 33),
    ],
)
def test_root_of_refuses_bad_digests(resource):
    with pytest.raises(MalformedError):
        root_of([resource])


def test_the_manifest_json_carries_what_fixes_the_root(tmp_path):
    m = manifest_of(make_tree(tmp_path / "m", TREES["orderings"]))
    data = m.to_json()
    assert set(data) == {
        "name",
        "root",
        "digest",
        "serialization",
        "resources",
        "orderings_differ",
        "string_order_root",
        "ignored",
    }
    assert data["serialization"] == {
        "method": "files",
        "hash_type": "sha256",
        "allow_symlinks": False,
        "ignore_paths": [".git", ".gitattributes", ".github", ".gitignore"],
        "ordering": "path-components",
    }
    assert isinstance(m, ModelManifest)

"""`lic model digest DIR [--json]`: the root model-signing signs, the resource list, the
ordering note, and one `lic: error:` line with exit 2 on bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helpers.oms_dirs import TREES, ec_key, make_tree, package_sign, statement_of


@pytest.mark.parametrize("tree", ["orderings", "git", "nested"])
def test_digest_is_what_model_signing_signs(lic_cli, tmp_path, tree):
    model = make_tree(tmp_path / tree, TREES[tree])
    key, _ = ec_key(tmp_path)
    package_sign(model, key, tmp_path / "model.sig")
    statement = statement_of(tmp_path / "model.sig")
    root = statement["subject"][0]["digest"]["sha256"]

    res = lic_cli("model", "digest", model, code=0)
    assert res.stdout == f"sha256:{root}\n"

    res = lic_cli("model", "digest", model, "--json", code=0)
    assert res.stderr == ""
    data = json.loads(res.stdout)
    assert data["root"] == root and data["digest"] == f"sha256:{root}"
    assert data["name"] == tree
    assert data["resources"] == statement["predicate"]["resources"]
    assert data["serialization"]["method"] == "files"
    assert data["serialization"]["hash_type"] == "sha256"
    assert data["serialization"]["allow_symlinks"] is False
    assert data["serialization"]["ordering"] == "path-components"
    assert data["orderings_differ"] is (tree == "orderings")


def test_the_ordering_note_goes_to_stderr(lic_cli, tmp_path):
    res = lic_cli("model", "digest", make_tree(tmp_path / "m", TREES["orderings"]), code=0)
    assert res.stdout.startswith("sha256:") and res.stdout.count("\n") == 1
    assert res.stderr.startswith("lic: note: the root uses model-signing's ordering")
    res = lic_cli("model", "digest", make_tree(tmp_path / "n", TREES["nested"]), code=0)
    assert res.stderr == ""


def test_ignore_path(lic_cli, tmp_path):
    model = make_tree(tmp_path / "m", {"a": b"1", "model.sig": b"{}"})
    plain = make_tree(tmp_path / "p", {"a": b"1"})
    res = lic_cli("model", "digest", model, "--ignore-path", "model.sig")
    assert res.stdout == lic_cli("model", "digest", plain).stdout
    assert res.stdout != lic_cli("model", "digest", model).stdout


def _missing(tmp_path):
    return tmp_path / "nope", "nope: no such directory"


def _file(tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    return tmp_path / "f", "f: not a directory"


def _symlink(tmp_path):
    model = make_tree(tmp_path / "m", {"a": b"1"})
    (model / "w").symlink_to(model / "a")
    return model, "w: is a symbolic link"


def _fifo(tmp_path):
    model = make_tree(tmp_path / "m", {"a": b"1"})
    os.mkfifo(model / "p")
    return model, "p: not a regular file"


def _not_utf8(tmp_path):
    model = make_tree(tmp_path / "m", {"a": b"1"})
    (Path(os.fsdecode(os.path.join(os.fsencode(model), b"\xfe")))).write_bytes(b"x")
    return model, "not valid UTF-8"


def _plain_model(tmp_path):
    return make_tree(tmp_path / "m", {"a": b"1"}), "must stay inside the directory"


@pytest.mark.parametrize("bad", [_missing, _file, _symlink, _fifo, _not_utf8])
def test_bad_input_is_one_error_line_and_exit_2(lic_cli, tmp_path, bad):
    path, message = bad(tmp_path)
    res = lic_cli("model", "digest", path, code=2)
    assert res.stdout == ""
    assert res.stderr.startswith("lic: error: ") and res.stderr.count("\n") == 1
    assert message in res.stderr
    # under --json the one error is one JSON object on stderr (docs/cli.md, conventions)
    res = lic_cli("model", "digest", path, "--json", code=2)
    assert res.stdout == "" and res.stderr.count("\n") == 1
    err = json.loads(res.stderr)
    assert err["exit_code"] == 2 and message in err["error"]


def test_an_ignore_path_outside_is_bad_input(lic_cli, tmp_path):
    path, message = _plain_model(tmp_path)
    res = lic_cli("model", "digest", path, "--ignore-path", "../x", code=2)
    assert message in res.stderr and res.stderr.count("\n") == 1

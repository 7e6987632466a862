"""`lic guard`: a model directory checked against the license that binds it and the use, by
token (revocation not checked) or by bundle; every exit code; every tamper named; the real
model-signing package's signature as the manifest."""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest

import lic
from helpers.guard_world import USE, build
from helpers.oms_dirs import ec_key, package_sign
from helpers.paths import ROOT
from lic.oms import directory_binding, manifest_of


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build(tmp_path_factory.mktemp("guard"))


@pytest.fixture
def model(world, tmp_path):
    """A fresh copy of the bound model directory, to change."""
    return shutil.copytree(world.model, tmp_path / "llama-tiny")


def guard(lic_cli, world, directory, *extra, code):
    return lic_cli("guard", directory, "--token", world.token, "--trust", world.trust,
                   "--at", world.at, *USE, *extra, code=code)  # fmt: skip


def test_permit_names_the_files_and_says_revocation_was_not_checked(lic_cli, world):
    out = guard(lic_cli, world, world.model, code=0).output
    assert out.startswith("PERMIT\n")
    assert f"pass  model          {len(manifest_of(world.model).resources)} files" in out
    assert "revocation    NOT checked" in out
    doc = guard(lic_cli, world, world.model, "--json", code=0).json
    assert doc["effect"] == "permit" and doc["reason"] is None
    assert doc["model"]["files"] == [r.name for r in manifest_of(world.model).resources]
    assert doc["model"]["root"] == manifest_of(world.model).root
    assert doc["revocation"]["checked"] is False


def test_a_use_the_license_denies_exits_1_and_hashes_nothing(lic_cli, world):
    res = lic_cli("guard", world.model, "--token", world.token, "--trust", world.trust,
                  "--at", world.at, "--action", "host", "--purpose", "research.academic",
                  "--region", "DE", "--no-data", "--json", code=1)  # fmt: skip
    assert res.json["effect"] == "deny" and res.json["reason"] == "use"
    assert "model" not in res.json
    assert res.json["decision"]["reasons"][0]["field"] == "action"


def test_an_undecidable_use_exits_3(lic_cli, world):
    res = lic_cli("guard", world.model, "--token", world.token, "--trust", world.trust,
                  "--at", world.at, "--action", "run", code=3)  # fmt: skip
    assert res.output.startswith("INDETERMINATE")


def test_another_model_digest_in_the_use_is_denied(lic_cli, world):
    res = guard(lic_cli, world, world.model, "--model-digest", "0" * 64, "--json", code=1)
    assert res.json["decision"]["reasons"][0]["field"] == "model"


def _change(model):
    (model / "config.json").write_bytes(b'{"hidden_size": 9}')
    return {"changed": ["config.json"]}


def _add(model):
    (model / "weights" / "extra.bin").write_bytes(b"more")
    return {"extra": ["weights/extra.bin"]}


def _remove(model):
    (model / "tokenizer.json").unlink()
    return {"missing": ["tokenizer.json"]}


def _rename(model):
    os.rename(model / "tokenizer" / "vocab.txt", model / "tokenizer" / "vocab2.txt")
    return {"missing": ["tokenizer/vocab.txt"], "extra": ["tokenizer/vocab2.txt"]}


def _ignored(model):
    (model / ".git").mkdir()
    (model / ".git" / "HEAD").write_bytes(b"ref: x\n")
    return {"ignored": [".git/HEAD"]}


TAMPERS = {"changed": _change, "added": _add, "removed": _remove, "renamed": _rename,
           "ignored path": _ignored}  # fmt: skip


@pytest.mark.parametrize("what", sorted(TAMPERS))
def test_a_tampered_directory_is_refused_naming_the_file(lic_cli, world, model, what):
    expected = TAMPERS[what](model)
    res = guard(lic_cli, world, model, "--manifest", world.manifest, "--json", code=1)
    assert res.json["effect"] == "deny" and res.json["reason"] == "model"
    got = {k: v for k, v in res.json["model"].items() if k not in ("detail",) and v}
    assert got == expected
    text = guard(lic_cli, world, model, "--manifest", world.manifest, code=1).output
    assert text.startswith("DENY (model directory does not match the license)")
    for names in expected.values():
        for name in names:
            assert name in text
    # without the list the guard still refuses, and says how to learn the names
    if what != "ignored path":
        out = guard(lic_cli, world, model, code=1).output
        assert "not the ones the license binds" in out and "--manifest" in out
    else:
        out = guard(lic_cli, world, model, code=1).output
        assert "ignored path present: .git/HEAD" in out


def test_extra_and_ignored_files_pass_only_when_allowed(lic_cli, world, model):
    _add(model)
    _ignored(model)
    guard(lic_cli, world, model, "--manifest", world.manifest, "--allow-extra", code=1)
    guard(lic_cli, world, model, "--manifest", world.manifest, "--allow-ignored", code=1)
    doc = guard(lic_cli, world, model, "--manifest", world.manifest, "--allow-extra",
                "--allow-ignored", "--json", code=0).json  # fmt: skip
    assert "weights/extra.bin" not in doc["model"]["files"]
    (model / "weights" / "extra.bin").unlink()
    guard(lic_cli, world, model, "--allow-ignored", code=0)
    guard(lic_cli, world, model, "--ignore-path", ".git", code=1)  # still ignored, not allowed


def test_a_license_that_binds_no_directory_is_refused(lic_cli, world):
    res = lic_cli("guard", world.model, "--token", world.unbound, "--trust", world.trust,
                  "--at", world.at, *USE, code=1)  # fmt: skip
    assert "not a model directory" in res.output and "--model-dir" in res.output


def test_a_manifest_that_is_not_the_bound_one_is_refused(lic_cli, world, model, tmp_path):
    _change(model)
    (tmp_path / "theirs.json").write_text(json.dumps(manifest_of(model).to_json()))
    out = guard(lic_cli, world, model, "--manifest", tmp_path / "theirs.json", code=1).output
    assert "not the one the license binds" in out


BAD_INPUT = {
    "no license": [],
    "both": ["--token", "T", "--bundle", "B", "--policy", "P"],
    "bundle alone": ["--bundle", "B"],
}


@pytest.mark.parametrize("what", sorted(BAD_INPUT))
def test_usage_errors_exit_2(lic_cli, world, what):
    args = [a.replace("T", str(world.token)) if a == "T" else a for a in BAD_INPUT[what]]
    res = lic_cli("guard", world.model, *args, *USE, code=2)
    assert "lic: error:" in res.output


def test_bad_files_exit_2(lic_cli, world, model, tmp_path):
    out = guard(lic_cli, world, model, "--allow-extra", code=2).output
    assert "--allow-extra needs --manifest" in out
    (tmp_path / "bad.json").write_text('{"resources": [{"name": "../x"}]}')
    guard(lic_cli, world, model, "--manifest", tmp_path / "bad.json", code=2)
    (tmp_path / "dup.json").write_text('{"resources": [], "resources": []}')
    guard(lic_cli, world, model, "--manifest", tmp_path / "dup.json", code=2)
    guard(lic_cli, world, tmp_path / "absent", code=2)
    (model / "link").symlink_to(model / "config.json")
    assert "symbolic link" in guard(lic_cli, world, model, code=2).output
    res = guard(lic_cli, world, model, "--json", code=2)
    assert json.loads(res.stderr)["exit_code"] == 2
    (tmp_path / "bad.jwt").write_text("not.a.token")
    lic_cli("guard", world.model, "--token", tmp_path / "bad.jwt", "--trust", world.trust,
            *USE, code=2)  # fmt: skip
    (tmp_path / "bad-policy.json").write_text("{}")
    lic_cli("guard", world.model, "--bundle", world.bundle, "--policy",
            tmp_path / "bad-policy.json", *USE, code=2)  # fmt: skip
    (tmp_path / "bad.bundle").write_bytes(b"garbage")
    lic_cli("guard", world.model, "--bundle", tmp_path / "bad.bundle", "--policy",
            world.policy, *USE, code=2)  # fmt: skip


def test_an_oms_signature_from_model_signing_serves_as_the_manifest(lic_cli, world, model,
                                                                      tmp_path):  # fmt: skip
    key, _public = ec_key(tmp_path)
    signature = tmp_path / "model.sig"
    package_sign(model, key, signature)
    doc = guard(lic_cli, world, model, "--manifest", signature, "--json", code=0).json
    assert doc["model"]["files"] == [r.name for r in manifest_of(model).resources]
    _rename(model)
    doc = guard(lic_cli, world, model, "--manifest", signature, "--json", code=1).json
    assert doc["model"]["missing"] == ["tokenizer/vocab.txt"]
    assert doc["model"]["extra"] == ["tokenizer/vocab2.txt"]


def test_a_bundle_checks_the_chain_revocation_and_the_directory(lic_cli, world, model):
    base = ["guard", model, "--bundle", world.bundle, "--policy", world.policy,
            "--at", world.bundle_at, *USE]  # fmt: skip
    out = lic_cli(*base, code=0).output
    assert out.startswith("PERMIT") and "pass  witnesses" in out and "pass  model" in out
    assert "NOT checked" not in out
    doc = lic_cli(*base, "--json", code=0).json
    assert doc["effect"] == "permit" and doc["status"] == "active"
    _remove(model)
    doc = lic_cli(*base, "--manifest", world.manifest, "--json", code=1).json
    assert (doc["effect"], doc["model"]["missing"]) == ("deny", ["tokenizer.json"])
    lic_cli("guard", model, "--bundle", world.bundle, "--policy", world.policy,
            "--at", world.bundle_at, "--action", "run", code=3)  # fmt: skip
    stale = lic_cli(*base[: -len(USE)], "--at", world.bundle_at + 86400, *USE, code=1)
    assert stale.output.startswith("INVALID (stale)")
    expired = lic_cli(*base[:-len(USE)], "--at", world.bundle_at + 31 * 86400, *USE, "--json",
                      code=1).json  # fmt: skip
    assert expired["effect"] == "invalid" and expired["reason"] == "expired"
    assert "model" not in expired


@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
def test_token_issue_model_dir_binds_inspect_shows_and_delegate_keeps(
    lic_cli, world, tmp_path, monkeypatch, fmt
):
    monkeypatch.chdir(tmp_path)
    run = lic_cli.with_env(LIC_HOME=tmp_path / "home")
    for name in ("issuer", "holder", "contractor"):
        run("keys", "new", name)
        run("keys", "export", name, "--format", "pem", "-o", f"{name}.pub")
    run("trust", "add", "issuer.pub", "--role", "issuer", "--name", "issuer")
    academic = ROOT / "examples" / "academic-research.toml"
    res = run("token", "issue", "--key", "issuer", "--holder", "holder.pub", "--license",
              academic, "--model-dir", world.model, "--format", fmt, "-o", "t.tok")  # fmt: skip
    manifest = manifest_of(world.model)
    assert f"replaced by the root of {world.model}" in res.stderr
    doc = run("token", "inspect", "t.tok", "--json").json
    assert doc["lic"]["model"] == {
        "name": "example-lm-7b", "sha256": manifest.root,
        "manifest": directory_binding(manifest).to_claim(),
    }  # fmt: skip
    text = run("token", "inspect", "t.tok").stdout
    assert f"manifest root sha256:{manifest.root}" in text
    assert f"resources sha256:{directory_binding(manifest).resources}" in text
    run("guard", world.model, "--token", "t.tok", *USE, code=0)
    # a sublicense file naming the same model keeps the binding; the chain guards the model
    child = tmp_path / "child.toml"
    child.write_text(academic.read_text().replace("allowed = true\nmax_depth = 1",
                                                  "allowed = false\nmax_depth = 0")
                     .replace("3f0a6c1e9b7d2a4c5e8f1b3d6a9c2e4f7b0d3a6c9e2f5b8d1a4c7e0f3b6d9a2c",
                              manifest.root))  # fmt: skip
    run("token", "delegate", "--parent", "t.tok", "--key", "holder", "--holder",
        "contractor.pub", "--license", child, "-o", "c.tok")  # fmt: skip
    assert lic.decode_unverified(Path("c.tok").read_bytes()).license.model.manifest is not None
    run("guard", world.model, "--token", "t.tok", "--token", "c.tok", *USE, code=0)
    # one naming other weights is refused as a widening
    other = tmp_path / "other.toml"
    other.write_text(child.read_text().replace(manifest.root, "1" * 64))
    res = run("token", "delegate", "--parent", "t.tok", "--key", "holder", "--holder",
              "contractor.pub", "--license", other, "-o", "o.tok", code=1)  # fmt: skip
    assert "model" in res.output


def _signed(model, tmp_path, name="k", ignore=()):
    where = tmp_path / name
    where.mkdir()
    key, public = ec_key(where)
    signature = model / "model.sig" if ignore else tmp_path / f"{name}.sig"
    package_sign(model, key, signature, ignore=ignore)
    return signature, public


def test_require_signature_by_a_trusted_publisher(lic_cli, world, model, tmp_path):
    signature, public = _signed(model, tmp_path)
    sig = ["--require-signature", signature, "--publisher-key", public]
    out = guard(lic_cli, world, model, *sig, code=0).output
    assert "pass  signature      llama-tiny sha256:" in out and "pass  model" in out
    doc = guard(lic_cli, world, model, *sig, "--json", code=0).json
    assert doc["signature"]["root"] == doc["model"]["root"] == manifest_of(model).root
    assert len(doc["signature"]["key_hint"]) == 64
    # the signed list names the files of a mismatch, with no --manifest
    _rename(model)
    doc = guard(lic_cli, world, model, *sig, "--json", code=1).json
    assert (doc["model"]["missing"], doc["model"]["extra"]) == (
        ["tokenizer/vocab.txt"], ["tokenizer/vocab2.txt"])  # fmt: skip


def test_a_signature_by_another_key_or_edited_is_refused(lic_cli, world, model, tmp_path):
    signature, _public = _signed(model, tmp_path, "a")
    _other_sig, other_public = _signed(model, tmp_path, "b")
    out = guard(lic_cli, world, model, "--require-signature", signature, "--publisher-key",
                other_public, code=1).output  # fmt: skip
    assert "lic: error:" in out
    bundle = json.loads(signature.read_text())
    envelope = bundle["dsseEnvelope"]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["subject"][0]["name"] = "another-model"
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    edited = tmp_path / "edited.sig"
    edited.write_text(json.dumps(bundle))
    out = guard(lic_cli, world, model, "--require-signature", edited, "--publisher-key",
                _public, code=1).output  # fmt: skip
    assert "lic: error:" in out
    guard(lic_cli, world, model, "--require-signature", signature, code=2)
    guard(lic_cli, world, model, "--publisher-key", _public, code=2)
    (tmp_path / "garbage.sig").write_text("{}")
    guard(lic_cli, world, model, "--require-signature", tmp_path / "garbage.sig",
          "--publisher-key", _public, code=2)  # fmt: skip


def test_a_signature_over_another_directory_is_refused(lic_cli, world, model, tmp_path):
    _change(model)
    signature, public = _signed(model, tmp_path)  # signs the changed directory
    out = guard(lic_cli, world, model, "--require-signature", signature, "--publisher-key",
                public, code=1).output  # fmt: skip
    assert "the OMS signature is over another model" in out


def test_a_signature_kept_inside_the_directory_is_an_ignored_path(lic_cli, world, model,
                                                                  tmp_path):  # fmt: skip
    signature, public = _signed(model, tmp_path, ignore=("model.sig",))
    sig = ["--require-signature", signature, "--publisher-key", public]
    doc = guard(lic_cli, world, model, *sig, "--json", code=1).json
    assert doc["model"]["ignored"] == ["model.sig"]
    doc = guard(lic_cli, world, model, *sig, "--allow-ignored", "--json", code=0).json
    assert "model.sig" not in doc["model"]["files"]

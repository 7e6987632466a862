"""An OMS signature made by model-signing with an EC key: the root in its in-toto subject is
the root lic.oms computes, and its resource list is ours, name for name."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from helpers.oms_dirs import TREES, ec_key, make_tree, package_sign, package_verify, statement_of
from lic.oms import manifest_of, resources_from_json, verify_directory

FILES = {**TREES["orderings"], **TREES["git"], **TREES["nested"]}


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1()], ids=["P-256", "P-384"])
def test_the_signed_subject_is_our_root(tmp_path, curve):
    model = make_tree(tmp_path / "llama-tiny", FILES)
    key, public = ec_key(tmp_path, curve)
    signature = tmp_path / "model.sig"
    package_sign(model, key, signature)
    package_verify(model, public, signature)
    statement = statement_of(signature)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://model_signing/signature/v1.0"
    ours = manifest_of(model)
    assert ours.orderings_differ  # tokenizer/ beside tokenizer.json: the package's order wins
    assert statement["subject"] == [{"name": "llama-tiny", "digest": {"sha256": ours.root}}]
    signed = resources_from_json(statement["predicate"]["resources"])
    assert signed == ours.resources


def test_a_signature_inside_the_directory_is_an_ignored_path(tmp_path):
    model = make_tree(tmp_path / "m", FILES)
    key, public = ec_key(tmp_path)
    signature = model / "model.sig"
    package_sign(model, key, signature, ignore=("model.sig",))
    package_verify(model, public, signature, ignore=("model.sig",))
    statement = statement_of(signature)
    ours = manifest_of(model, ignore_paths=["model.sig"])
    assert statement["subject"][0]["digest"]["sha256"] == ours.root
    assert sorted(statement["predicate"]["serialization"]["ignore_paths"]) == list(
        ours.serialization.ignore_paths
    )
    verified = verify_directory(
        model,
        resources_from_json(statement["predicate"]["resources"]),
        ours.root,
        ignore_paths=["model.sig"],
        allow_ignored=True,
    )
    with verified:
        assert "model.sig" not in verified.names

"""The model host's API: ``open_bound_directory`` and ``guard_model`` (SPEC 15.7)."""

from __future__ import annotations

import pytest

import lic
from helpers.guard_world import ACADEMIC, FILES, bound
from helpers.licenses import HOLDER, ISSUER, LIFETIME, NOW, T0, trust
from helpers.oms_dirs import make_tree
from keys import DeniedError, ProofMismatchError, SigningKey
from lic.oms import (
    ModelMismatchError,
    guard_model,
    manifest_of,
    open_bound_directory,
    resources_digest,
)

CONTRACTOR = SigningKey.from_seed(bytes(range(32)))
OK = lic.Use(action="run", purpose="research.academic", region="DE", data=frozenset(), time=NOW)


@pytest.fixture
def model(tmp_path):
    return make_tree(tmp_path / "m", FILES)


def _token(license: lic.License) -> bytes:
    return lic.issue(license, ISSUER, HOLDER.public_key, iss="i", sub="h", now=T0,
                     lifetime=LIFETIME)  # fmt: skip


def test_the_resource_digest_binds_names_order_and_digests(model):
    resources = manifest_of(model).resources
    base = resources_digest(resources)
    renamed = (lic.oms.Resource("other", "sha256", resources[0].digest), *resources[1:])
    assert resources_digest(renamed) != base
    assert resources_digest(tuple(reversed(resources))) != base
    assert resources_digest(resources[:-1]) != base
    assert resources_digest([]) == resources_digest(())


def test_permitted_files_are_the_hashed_ones(model):
    result = guard_model(model, [_token(bound(ACADEMIC, model))], trust(), OK, now=NOW)
    assert result.effect == "permit" and result.decision.permitted
    with result.model() as files:
        assert files.names == tuple(r.name for r in manifest_of(model).resources)
        assert files.read_bytes("config.json") == FILES["config.json"]
        (model / "config.json").write_bytes(b"swapped after the check")
        with pytest.raises(ProofMismatchError):
            files.read_bytes("config.json")


@pytest.mark.parametrize(
    ("use", "effect"),
    [(lic.Use(action="host", purpose="research.academic", region="DE", data=frozenset()), "deny"),
     (lic.Use(action="run"), "indeterminate")],
)  # fmt: skip
def test_a_use_not_permitted_gives_no_files(model, use, effect):
    result = guard_model(model, [_token(bound(ACADEMIC, model))], trust(), use, now=NOW)
    assert result.effect == effect and result.files is None
    with pytest.raises(DeniedError, match=effect):
        result.model()


def test_a_sublicense_chain_guards_the_same_directory(model):
    root = _token(bound(ACADEMIC, model))
    claim = ACADEMIC.to_claim()
    claim["sublicense"] = {"allowed": False, "max_depth": 0}
    child_license = bound(lic.License.from_mapping(claim, known_codes=True), model)
    child = lic.delegate(root, child_license, HOLDER, CONTRACTOR.public_key, sub="c", now=T0)
    result = guard_model(model, [root, child], trust(), OK, now=NOW)
    assert result.effect == "permit" and len(result.chain.links) == 2
    result.model().close()


def test_a_changed_directory_is_refused_with_or_without_the_list(model):
    license = bound(ACADEMIC, model)
    resources = manifest_of(model).resources
    (model / "generation_config.json").write_bytes(b'{"x": 1}')
    with pytest.raises(ProofMismatchError, match="not the ones the license binds"):
        open_bound_directory(model, license)
    with pytest.raises(ModelMismatchError) as info:
        open_bound_directory(model, license, manifest=resources)
    assert info.value.changed == ("generation_config.json",)


def test_an_unbound_license_is_refused(model):
    with pytest.raises(ProofMismatchError, match="sha256 only"):
        guard_model(model, [_token(ACADEMIC)], trust(), OK, now=NOW)


def _mutations(names):
    """(label, change(directory) -> the ModelMismatchError fields expected), for every file."""
    out = []
    for name in names:

        def flip(m, name=name, at=0):
            data = bytearray((m / name).read_bytes())
            data[at] ^= 1
            (m / name).write_bytes(bytes(data))
            return {"changed": (name,)}

        def flip_last(m, name=name):
            return flip(m, name, at=-1)

        def truncate(m, name=name):
            (m / name).write_bytes((m / name).read_bytes()[:-1])
            return {"changed": (name,)}

        def append(m, name=name):
            (m / name).write_bytes((m / name).read_bytes() + b"\0")
            return {"changed": (name,)}

        def remove(m, name=name):
            (m / name).unlink()
            return {"missing": (name,)}

        def rename(m, name=name):
            (m / name).rename(m / (name + ".old"))
            return {"missing": (name,), "extra": (name + ".old",)}

        def sibling(m, name=name):
            (m / (name + "-2")).write_bytes(b"new")
            return {"extra": (name + "-2",)}

        for f in (flip, flip_last, truncate, append, remove, rename, sibling):
            out.append((f"{name}:{f.__name__}", f))
    return out


def test_every_mutation_of_every_file_is_refused_naming_it(tmp_path):
    files = {k: v for k, v in FILES.items() if v}  # the non-empty files (flip needs a byte)
    base = make_tree(tmp_path / "base", files)
    license = bound(ACADEMIC, base)
    resources = manifest_of(base).resources
    for i, (label, change) in enumerate(_mutations(sorted(files))):
        model = make_tree(tmp_path / f"m{i}", files)
        expected = change(model)
        with pytest.raises(ModelMismatchError) as info:
            open_bound_directory(model, license, manifest=resources)
        got = {k: getattr(info.value, k) for k in ("changed", "missing", "extra", "ignored")}
        assert {k: v for k, v in got.items() if v} == expected, label
        with pytest.raises(ProofMismatchError):
            open_bound_directory(model, license)


def test_a_publishers_signature_must_sign_the_bound_directory(model, tmp_path):
    from helpers.oms_dirs import ec_key, package_sign
    from lic.oms import check_signature, verify_signature_bundle

    key, public = ec_key(tmp_path)
    package_sign(model, key, tmp_path / "model.sig")
    signature = verify_signature_bundle((tmp_path / "model.sig").read_bytes(),
                                        [public.read_bytes()])  # fmt: skip
    license = bound(ACADEMIC, model)
    check_signature(signature, license)
    result = guard_model(model, [_token(license)], trust(), OK, now=NOW, signature=signature)
    result.model().close()
    (model / "tokenizer.json").unlink()
    with pytest.raises(ModelMismatchError) as info:  # the signed list names the file
        open_bound_directory(model, license, signature=signature)
    assert info.value.missing == ("tokenizer.json",)
    other = bound(ACADEMIC, model)  # a license for the changed directory
    with pytest.raises(ProofMismatchError, match="over another model"):
        check_signature(signature, other)

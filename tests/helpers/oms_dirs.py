"""Model directories for the OMS tests, and what the real model-signing package makes of them.

model-signing is a test dependency (``pip install -e '.[test]'``): without it these tests
fail at import with the message below, they never skip.
"""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

try:
    import model_signing
    import model_signing.hashing
    import model_signing.signing
    import model_signing.verifying
except ImportError as e:  # the tests must fail, not skip, without the package
    raise ImportError(
        "the OMS tests need model-signing 1.1 and pyopenssl: pip install -e '.[test]'"
    ) from e

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def _bytes(seed: str, n: int) -> bytes:
    return random.Random(seed).randbytes(n)


# name -> content; a name ending in "/" is an empty directory
TREES: dict[str, dict[str, bytes]] = {
    "nested": {
        "config.json": b'{"hidden_size": 8}',
        "weights/model-00001-of-00002.safetensors": _bytes("w1", 70_000),
        "weights/model-00002-of-00002.safetensors": _bytes("w2", 50_000),
        "weights/sub/deep/x.bin": _bytes("x", 300),
        "generation_config.json": b"{}",
        "empty-dir/": b"",
    },
    "orderings": {
        "tokenizer.json": b'{"v": 1}',
        "tokenizer/vocab.txt": b"a\nb\n",
        "tokenizer/merges.txt": b"a b\n",
        "a-b": b"1",
        "a/b": b"2",
        "a.b": b"3",
        "a0": b"4",
        "A": b"5",
        "z": b"6",
    },
    "empties": {"e1": b"", "d/e2": b"", "d-e3": b"", "d/e/e4": b"", "one": b"1"},
    "big": {
        "model.bin": _bytes("big", 3 * 1024 * 1024 + 17),
        "tiny.txt": b"t",
        "half/block.bin": _bytes("half", 4 * 1024 * 1024),
    },
    "git": {
        ".git/HEAD": b"ref: refs/heads/main\n",
        ".git/objects/ab/cdef": b"blob",
        ".gitattributes": b"*.bin filter=lfs\n",
        ".github/workflows/ci.yml": b"on: push\n",
        ".gitignore": b"*.tmp\n",
        ".gitmodules": b"[submodule]\n",
        "sub/.git/config": b"[core]\n",
        "sub/.gitignore": b"x\n",
        "model.safetensors": _bytes("m", 1000),
    },
    "unicode": {"données/é.txt": "é".encode(), "日本語.bin": b"\x00\x01", "ß": b"s"},
    "empty": {},
}


def make_tree(root: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` under ``root`` (created) and return it."""
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def ec_key(directory: Path, curve: ec.EllipticCurve | None = None) -> tuple[Path, Path]:
    """A fresh EC private key (P-256 by default) and its public key, as PEM files."""
    key = ec.generate_private_key(curve or ec.SECP256R1())
    private, public = directory / "oms-key.pem", directory / "oms-key.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def package_resources(model: Path, ignore: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """The resource list model-signing's public hashing API builds for ``model``."""
    config = model_signing.hashing.Config()
    if ignore:
        config.set_ignored_paths(paths=list(ignore), ignore_git_paths=True)
    manifest = config.hash(model)
    return [
        {"name": d.identifier, "algorithm": d.digest.algorithm, "digest": d.digest.digest_hex}
        for d in manifest.resource_descriptors()
    ]


def package_sign(model: Path, key: Path, signature: Path, ignore: tuple[str, ...] = ()) -> None:
    """Sign ``model`` with model-signing's elliptic-key signer, writing ``signature``."""
    config = model_signing.signing.Config().use_elliptic_key_signer(private_key=key)
    if ignore:
        config.set_hashing_config(
            model_signing.hashing.Config().set_ignored_paths(paths=list(ignore))
        )
    config.sign(model, signature)


def package_verify(model: Path, public: Path, signature: Path, ignore: tuple[str, ...] = ()):
    """model-signing's own verification of ``signature`` over ``model``."""
    config = model_signing.verifying.Config().use_elliptic_key_verifier(public_key=public)
    if ignore:
        config.set_hashing_config(
            model_signing.hashing.Config().set_ignored_paths(paths=list(ignore))
        )
    config.verify(model, signature)


def statement_of(signature: Path) -> dict:
    """The in-toto Statement inside an OMS signature file (a Sigstore bundle with DSSE)."""
    bundle = json.loads(signature.read_text())
    envelope = bundle["dsseEnvelope"]
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    return json.loads(base64.b64decode(envelope["payload"]))

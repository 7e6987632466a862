"""OMS signature files for the signature tests: one made by the real model-signing package,
and bundles re-signed with the same EC key over an edited payload (to reach the statement
checks behind a valid signature), or re-encoded around a changed member."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from helpers.oms_dirs import TREES, ec_key, make_tree, package_sign

FILES = {**TREES["nested"], **TREES["orderings"]}
_HASH = {"secp256r1": hashes.SHA256(), "secp384r1": hashes.SHA384(), "secp521r1": hashes.SHA512()}


@dataclass
class Signed:
    """A model directory signed by model-signing: its signature file's bytes, the EC private
    key (for re-signing) and the public key's PEM bytes."""

    model: Path
    data: bytes
    private: ec.EllipticCurvePrivateKey
    public_pem: bytes

    def bundle(self) -> dict[str, Any]:
        """The signature file as JSON."""
        return json.loads(self.data)

    def statement(self) -> dict[str, Any]:
        """The signed in-toto statement as JSON."""
        return json.loads(base64.b64decode(self.bundle()["dsseEnvelope"]["payload"]))


def sign_with_package(
    tmp: Path, name: str = "llama-tiny", curve: ec.EllipticCurve | None = None, files=None
) -> Signed:
    """Sign a fresh model directory ``tmp/name`` with model-signing's EC key signer."""
    tmp.mkdir(parents=True, exist_ok=True)
    model = make_tree(tmp / name, FILES if files is None else files)
    key_path, public_path = ec_key(tmp, curve)
    signature = tmp / f"{name}.sig"
    package_sign(model, key_path, signature)
    private = serialization.load_pem_private_key(key_path.read_bytes(), None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    return Signed(model, signature.read_bytes(), private, public_path.read_bytes())


def pae(payload: bytes) -> bytes:
    """DSSE v1 PAE for an in-toto payload, written out from the DSSE protocol text."""
    kind = b"application/vnd.in-toto+json"
    return (
        b"DSSEv1 "
        + str(len(kind)).encode()
        + b" "
        + kind
        + b" "
        + str(len(payload)).encode()
        + b" "
        + payload
    )


def resign(
    signed: Signed, edit: Callable[[dict[str, Any]], Any], raw: bytes | None = None
) -> bytes:
    """The signature file with its statement edited by ``edit`` (in place, or returning a
    replacement) and signed again with the same key; ``raw`` replaces the payload bytes."""
    bundle = signed.bundle()
    if raw is None:
        statement = signed.statement()
        statement = edit(statement) or statement
        raw = json.dumps(statement, indent=2).encode()
    sig = signed.private.sign(pae(raw), ec.ECDSA(_HASH[signed.private.curve.name]))
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(raw).decode()
    bundle["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(sig).decode()
    return json.dumps(bundle).encode()


def reencode(signed: Signed, edit: Callable[[dict[str, Any]], Any]) -> bytes:
    """The signature file's JSON with ``edit`` applied (in place, or returning a
    replacement), not signed again."""
    bundle = signed.bundle()
    bundle = edit(bundle) or bundle
    return json.dumps(bundle).encode()

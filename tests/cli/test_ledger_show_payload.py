"""`lic ledger show` decodes the entry's payload (issue 14 item 18): text shows it as indented
JSON, --json as a JSON value, byte strings as {"hex": ...} in both and labelled so; --raw keeps
the payload's CBOR bytes in base64."""

from __future__ import annotations

import base64
import json

import pytest

from lic import cbor

TERMS_SHA256 = "b482939f1adaa07fef5c8d9711e740a8de9577cb80975994fa08ec81c7a9e223"


@pytest.fixture
def demo(demo_dir, lic_cli, monkeypatch):
    d = demo_dir("ledger-show")
    monkeypatch.chdir(d)
    return lic_cli.with_env(LIC_HOME=d / "keys")


def _terms_index(demo) -> int:
    for i in range(20):
        if demo("ledger", "show", "--index", i, "--json").json["type"] == "terms.publish":
            return i
    raise AssertionError("the demo ledger publishes its terms")


def test_text_shows_the_decoded_payload_labelled(demo):
    out = demo("ledger", "show", "--index", _terms_index(demo)).stdout
    head, label, body = out.partition('payload (decoded CBOR; byte strings as {"hex": ...}):\n')
    assert label and "payload_size: " in head
    payload = json.loads(body)
    assert payload["id"] == "example-research-license" and payload["version"] == "1.0"
    assert payload["sha256"] == {"hex": TERMS_SHA256}


def test_json_has_the_decoded_payload(demo):
    shown = demo("ledger", "show", "--index", _terms_index(demo), "--json").json
    assert shown["payload"]["sha256"] == {"hex": TERMS_SHA256}
    assert shown["payload"]["change"] == "initial"


def test_raw_keeps_the_cbor_bytes_in_base64(demo):
    i = _terms_index(demo)
    shown = demo("ledger", "show", "--index", i, "--raw", "--json").json
    raw = base64.b64decode(shown["payload"], validate=True)
    assert len(raw) == shown["payload_size"]
    assert cbor.decode(raw, max_size=len(raw))["sha256"] == bytes.fromhex(TERMS_SHA256)
    text = demo("ledger", "show", "--index", i, "--raw").stdout
    assert f"payload (CBOR, base64): {shown['payload']}\n" in text

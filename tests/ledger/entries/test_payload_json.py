"""ledger.entries.payload_json: a decoded payload as plain JSON, byte strings as {"hex": ...}."""

from __future__ import annotations

import json

from ledger.entries import payload_json
from lic import cbor


def test_bytes_tags_and_keys_become_plain_json():
    value = {"a": b"\x00\xff", "n": [1, True, None, "x"], 5: cbor.Tag(24, b"\x01"), b"\x0a": {}}
    assert payload_json(value) == {
        "a": {"hex": "00ff"},
        "n": [1, True, None, "x"],
        "5": {"tag": 24, "value": {"hex": "01"}},
        "0a": {},
    }
    json.dumps(payload_json(value))

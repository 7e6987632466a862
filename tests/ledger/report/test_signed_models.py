"""The report counts models with signed (OMS) provenance apart from datasets (SPEC 11.3):
each verified subject root once, however many signature files name it; an OMS-signed model
is no dataset; an SLSA model version that is also signed counts in both figures. The ledger
lives on each backend (a SQLite file, a PostgreSQL schema)."""

from __future__ import annotations

import pytest

from helpers.backends import BACKENDS, location
from helpers.oms_bundles import sign_with_package
from helpers.oms_dirs import TREES
from helpers.oms_ledger import ATTESTER, Led
from ledger.entries import PUBLISHER_ROLE
from ledger.report import render_html, replay_report
from lic.oms import manifest_of


def _attest(led: Led, name: str, digest: bytes, ptype: str, predicate=None) -> int:
    p = {
        "subjects": [{"name": name, "sha256": digest}],
        "predicate_type": ptype,
        "predicate": predicate or {"x": 1},
    }
    return led.add("attest", p, ATTESTER)


@pytest.fixture(scope="module", params=BACKENDS)
def ledger(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    a = sign_with_package(d / "a", "model-a")
    b = sign_with_package(d / "b", "model-b", files=TREES["empties"])
    led = Led(location(request, "signed"), a.public_pem)
    # b's publisher registers too: two publishers on one ledger
    led.add("key.add", {"key": b.public_pem, "role": PUBLISHER_ROLE, "name": "b"})
    dataset = bytes([7]) * 32
    _attest(led, "corpus", dataset, "https://example.org/dataset/v1")
    led.cut = led.t + 5  # nothing signed before this time
    root_a = bytes.fromhex(manifest_of(a.model).root)
    led.attest(a.data)
    led.attest(a.data)  # the same file twice
    led.attest(b.data)
    slsa = {"buildDefinition": {"resolvedDependencies": [{"digest": {"sha256": dataset.hex()}}]}}
    _attest(led, "model-a", root_a, "https://slsa.dev/provenance/v1", slsa)
    _attest(led, "model-m", bytes([9]) * 32, "https://slsa.dev/provenance/v1", slsa)
    # a fine-tune built from model-a: its input is a signed model, not a dataset
    base = {"buildDefinition": {"resolvedDependencies": [{"digest": {"sha256": root_a.hex()}}]}}
    _attest(led, "model-n", bytes([8]) * 32, "https://slsa.dev/provenance/v1", base)
    return led


def test_signed_models_are_counted_apart_from_datasets(ledger):
    report, result = replay_report(db=ledger.path, k=1)
    assert result.clean, result.findings
    prov = report["provenance"]
    assert prov["signed_models"] == 2  # model-a (attested twice) and model-b
    assert prov["datasets"] == 1  # the corpus only: a signed model is no dataset
    assert prov["model_versions"] == 3  # model-a (also signed), model-m and model-n, by SLSA
    assert prov["dataset_attestations"]["yes"]["count"] == 2  # a and m name the corpus
    assert prov["dataset_attestations"]["no"]["count"] == 1  # n names a signed model only


def test_the_figure_is_a_stock_before_the_cutoff(ledger):
    report, _ = replay_report(db=ledger.path, k=1, end=ledger.cut)
    prov = report["provenance"]
    assert (prov["signed_models"], prov["datasets"], prov["model_versions"]) == (0, 1, 0)


def test_the_page_shows_the_figure(ledger):
    report, _ = replay_report(db=ledger.path, k=1)
    page = render_html(report)
    assert '<span id="signed-models">2</span>' in page
    assert "Models signed by their publisher" in page

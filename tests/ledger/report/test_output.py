"""report.json is byte-identical across replays; the HTML page is self-contained; files are
written atomically."""

import json
import random
import re

import pytest

from helpers.report_scenario import busy, replay_events, scenario
from ledger.report import ReportBuilder, render_html, report_json_bytes, write_report


def shuffled(value, rnd):
    """The same value with every dict's insertion order shuffled (recursively)."""
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: shuffled(v, rnd) for k, v in items}
    if isinstance(value, list):
        return [shuffled(v, rnd) for v in value]
    return value


@pytest.fixture(scope="module")
def busy_replay():
    return busy()


def test_two_replays_give_identical_bytes(busy_replay):
    events = busy_replay.events
    first = report_json_bytes(replay_events(events, ReportBuilder()))
    second = report_json_bytes(replay_events(events, ReportBuilder()))
    assert first == second
    assert first == report_json_bytes(busy_replay.finish())


def test_payload_key_order_does_not_matter(busy_replay):
    rnd = random.Random(1)
    events = [(i, t, ty, shuffled(p, rnd), a) for i, t, ty, p, a in busy_replay.events]
    assert [list(p) for *_, p, _ in events] != [list(p) for *_, p, _ in busy_replay.events]
    rebuilt = report_json_bytes(replay_events(events, ReportBuilder()))
    assert rebuilt == report_json_bytes(replay_events(busy_replay.events, ReportBuilder()))


def test_json_form(busy_replay):
    data = report_json_bytes(busy_replay.finish())
    assert data.endswith(b"\n") and data.isascii()
    text = data.decode()
    assert "NaN" not in text and "Infinity" not in text
    parsed = json.loads(text)
    # Sorted keys at every level, and re-serializing gives the same bytes.
    assert report_json_bytes(parsed) == data
    floats = [float(m) for m in re.findall(r"\": (-?\d+\.\d+(?:e-?\d+)?)", text)]
    assert floats and all(round(f, 4) == f and 0 <= f <= 1 for f in floats)  # rates only


@pytest.mark.parametrize(
    "bad",
    [float("nan"), float("inf"), 0.123456, {1: 2}, b"bytes", object()],
)
def test_json_refuses_values_outside_the_report_model(bad):
    with pytest.raises(ValueError):
        report_json_bytes({"x": bad})


def test_suppression_is_reported(busy_replay):
    rep = busy_replay.finish()
    sup = rep["suppression"]
    assert sup["k"] == 5 and sup["suppressed_cells"] > 0
    nulls = report_json_bytes(rep).count(b'"suppressed": true')
    assert nulls >= 1


URL_ATTR = re.compile(r"""(?:src|href|action|srcset|poster|data)\s*=\s*["']?\s*[a-z]+:""", re.I)


def test_html_is_self_contained(busy_replay):
    page = render_html(busy_replay.finish())
    low = page.lower()
    assert "http://" not in low and "https://" not in low
    assert "<link" not in low and "<script" not in low and "<iframe" not in low
    assert "@import" not in low and "url(" not in low
    assert not URL_ATTR.search(page)
    assert low.startswith("<!doctype html>") and "<svg" in low and "<style>" in low


def test_html_escapes_ledger_text():
    r = scenario()
    from helpers.report_scenario import RESPONDER, T0, incident

    i = incident(r, T0 + 10**7, "low", ["privacy"])
    r.add(
        "incident.close",
        RESPONDER,
        T0 + 10**7 + 5,
        incident=i,
        outcome="referred",
        summary='<script src="https://evil.example/x.js"></script><img src=x onerror=alert(1)>',
    )
    page = render_html(r.finish())
    assert "<script" not in page and "<img" not in page
    assert "&lt;script src=&quot;https://evil.example/x.js&quot;&gt;" in page
    assert not URL_ATTR.search(page)


def test_headline_ids_carry_report_values(busy_replay):
    rep = busy_replay.finish()
    page = render_html(rep)
    for name, value in rep["headline"].items():
        hid = "headline-" + name.replace("_", "-")
        m = re.search(rf'id="{hid}" data-value="([^"]*)"', page)
        assert m, hid
        assert json.loads(m.group(1).replace("&quot;", '"')) == value


def test_write_report_atomic(tmp_path, busy_replay, monkeypatch):
    rep = busy_replay.finish()
    out = tmp_path / "out"
    write_report(rep, out)
    assert (out / "report.json").read_bytes() == report_json_bytes(rep)
    assert (out / "index.html").read_text(encoding="utf-8") == render_html(rep)
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "report.json"]
    # A failure while writing leaves the previous files whole and no temporary file behind.
    before = (out / "report.json").read_bytes()
    import os

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_report(scenario().finish(), out)
    assert (out / "report.json").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "report.json"]
    # A report that cannot be serialized writes nothing at all.
    monkeypatch.undo()
    fresh = tmp_path / "fresh"
    with pytest.raises(ValueError):
        write_report({"bad": float("nan")}, fresh)
    assert not fresh.exists() or not any(fresh.iterdir())

"""The report page in headless Chromium: no console error, no network request beyond the page
itself, headline numbers equal to report.json, and a screenshot saved.

Needs the Debian packages chromium and chromium-driver (.ci/run installs them). Without them this
test FAILS, on purpose: a report nobody checked in a browser is not done. The screenshot is saved
as report.png in the test's tmp directory, and also copied into $LIC_REPORT_SCREENSHOT_DIR when
that is set.
"""

import base64
import json
import os
import shutil
from pathlib import Path

import pytest

from helpers.cdp import Browser, find_chromium
from helpers.report_scenario import busy
from ledger.report import write_report


def expected_text(name, value):
    """How the page prints a headline value (independent of the renderer's code)."""
    if value is None:
        return "—" if name == "size" else "suppressed"
    if name.endswith("_rate") or name == "provenance_coverage":
        return f"{value * 100:.1f}%"
    if name.startswith("median_"):
        return None  # a duration in words; its data-value is compared instead
    return str(value)


@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        pytest.fail(
            "chromium is not installed: the browser test needs it. Install the Debian packages: "
            "apt-get update && apt-get install -y chromium chromium-driver (.ci/run does this)"
        )
    return path


def test_report_page_in_headless_chromium(chromium, tmp_path):
    report = busy().finish()
    out = tmp_path / "report"
    write_report(report, out)
    on_disk = json.loads((out / "report.json").read_text())
    url = (out / "index.html").resolve().as_uri()

    browser = Browser(chromium, tmp_path / "profile")
    try:
        targets = browser.send("Target.getTargets")["targetInfos"]
        pages = [t for t in targets if t["type"] == "page"]
        target = (
            pages[0]["targetId"]
            if pages
            else browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        )
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Runtime", "Log", "Network", "Page"):
            browser.send(f"{domain}.enable", session=session)
        browser.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        browser.events.clear()
        nav = browser.send("Page.navigate", {"url": url}, session=session)
        assert "errorText" not in nav, nav
        browser.wait_event("Page.loadEventFired")
        browser.drain(1.0)
        probe = (
            "JSON.stringify(Array.from(document.querySelectorAll('[id^=\"headline-\"]'))"
            ".map(e => [e.id, e.dataset.value, e.textContent.trim(),"
            " e.getBoundingClientRect().width > 0]))"
        )
        got = browser.send(
            "Runtime.evaluate", {"expression": probe, "returnByValue": True}, session=session
        )
        headline = json.loads(got["result"]["value"])
        title = browser.send(
            "Runtime.evaluate", {"expression": "document.title", "returnByValue": True}, session
        )["result"]["value"]
        shot = browser.send(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True},
            session=session,
        )
    finally:
        browser.close()

    png = base64.b64decode(shot["data"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    path = tmp_path / "report.png"
    path.write_bytes(png)
    if os.environ.get("LIC_REPORT_SCREENSHOT_DIR"):
        keep = Path(os.environ["LIC_REPORT_SCREENSHOT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, keep / "report.png")
    print(f"screenshot: {path}")

    assert title == "Ledger transparency report"
    methods = [e.get("method") for e in browser.events]
    errors = [
        e
        for e in browser.events
        if (
            e.get("method") == "Runtime.consoleAPICalled"
            and e["params"]["type"] in ("error", "assert", "warning")
        )
        or e.get("method") == "Runtime.exceptionThrown"
        or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
    ]
    assert errors == [], errors
    requested = [
        e["params"]["request"]["url"]
        for e in browser.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert requested == [url], requested  # the page itself and nothing else
    assert "Network.loadingFailed" not in methods

    # Headline numbers on the rendered page equal report.json.
    shown = {hid: (value, text, visible) for hid, value, text, visible in headline}
    expected_ids = {"headline-" + k.replace("_", "-") for k in on_disk["headline"]}
    assert set(shown) == expected_ids
    for name, value in on_disk["headline"].items():
        raw, text, visible = shown["headline-" + name.replace("_", "-")]
        assert visible, name
        assert json.loads(raw) == value, name
        want = expected_text(name, value)
        if want is not None:
            assert text == want, (name, text, want)
    assert shown["headline-size"][1] == str(on_disk["integrity"]["size"])
    open_count = on_disk["incidents"]["open"]["count"]  # a total is suppressed when it must be
    assert shown["headline-open-incidents"][1] == expected_text("open_incidents", open_count)

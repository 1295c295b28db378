"""`camdiag report` as support uses it: a healthy camera and two faulty ones, each a folder
with report.json (checked against its schema) and report.html (offline, three plots), the
verdict and the first fix on stdout, and no Wi-Fi password anywhere."""

import json
import shutil
import subprocess
import sys

import pytest

from camdiag_host import support
from camdiag_host.netserver import NetServer
from camdiag_host.simboard import SIM_PASSWORD

pytestmark = pytest.mark.sim
CAMDIAG = [sys.executable, "-m", "camdiag_host.cli"]


@pytest.mark.parametrize("fault,outcome,verdict,fix", [
    ("", "pass", "healthy", ""),
    ("speaker_silent", "fail", "speaker_silent", "speaker plug"),
    ("muffled", "fail", "muffled", "clean the speaker"),
])
def test_report_for_a_camera(tmp_path, fault, outcome, verdict, fix):
    out = tmp_path / "report"
    port = "sim://?ssid=HomeNet&realtime=0&seed=3" + (f"&fault={fault}" if fault else "")
    with NetServer(bind="127.0.0.1", port=0) as srv:
        res = subprocess.run(CAMDIAG + ["report", "--port", port, "--out", str(out),
                                        "--server", f"127.0.0.1:{srv.port}"],
                             capture_output=True, text=True, timeout=180)
    assert res.returncode == (0 if outcome == "pass" else 1), res.stdout + res.stderr
    assert f"VERDICT: {outcome.upper()} - {verdict}" in res.stdout
    if fix:
        assert "FIX TO TRY FIRST:" in res.stdout and fix in res.stdout
    rep = json.loads((out / "report.json").read_text())
    support.validate(rep)  # the schema: every key, its type, every finding complete
    assert rep["selftest"]["verdict"] == verdict and rep["netcheck"]["outcome"] == "pass"
    assert rep["wifi"]["kind"] == "wifi" and rep["scan"]["kind"] == "scan"
    assert rep["log"] and rep["log"][-1]["kind"] in ("netcheck", "wifi", "selftest")
    page = (out / "report.html").read_text()
    assert page.count("<svg") == 3
    for ref in ('src="http', 'href="http', "url(http", "@import"):
        assert ref not in page, ref  # offline: no external resource
    for t in (500, 1031, 3150):
        assert f"{t} Hz" in page  # the test tones marked on the spectrum
    spec = rep["spectrum"]
    peak = spec["hz"][spec["dbfs"].index(max(spec["dbfs"]))]
    if verdict == "healthy":
        assert any(abs(peak - t) < 70 for t in (500, 1031)), peak  # a tone dominates
    for f in (out / "report.json", out / "report.html"):
        assert SIM_PASSWORD not in f.read_text()
    assert SIM_PASSWORD not in res.stdout + res.stderr
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json"]
    # every section of the JSON, in words a support engineer reads: no internal names
    for section in ("Every level against its limits", "Loopback self-test", "Wi-Fi signal",
                    "Wi-Fi channels and neighbours", "Talk path", "Device", "Results log",
                    "Speaker to mic: tone above the noise", "Wi-Fi signal: mean signal",
                    "neighbour-a", "Upload: upload", "heap", "flash"):
        assert section in page, section
    assert "speaker_to_mic." not in page and "tone_above_bin_noise" not in page
    keys = [(f["check"], f["fault"]) for f in rep["findings"]]
    assert len(keys) == len(set(keys)), keys  # (wifi_signal was listed twice)
    for width in (390, 1280):  # a phone, a desk
        _screenshot_shows_the_plots(out / "report.html", tmp_path, width)


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def _pixels_near(img, rgb, tol=40):
    import numpy as np

    a = np.asarray(img.convert("RGB")).astype(int)
    return int((np.abs(a - np.array(rgb)).sum(axis=2) < tol).sum())


def _screenshot_shows_the_plots(page, tmp_path, width):
    """Open the page in headless Chromium (Debian's, installed by `make browser`) and look
    at the picture: the spectrum and history lines (blue), the tone markers (orange) and
    the level dots are drawn."""
    from PIL import Image

    chromium = shutil.which("chromium")
    assert chromium, "headless Chromium missing: run `make browser` (apt-get install chromium)"
    shot = tmp_path / f"shot{width}.png"
    res = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--window-size={width},5000",
                          f"--user-data-dir={tmp_path / 'chr'}",
                          f"--screenshot={shot}", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert shot.exists(), res.stderr[-500:]
    img = Image.open(shot)
    assert img.size == (width, 5000)
    k = min(1.0, width / 760)  # (the plots scale down to a phone's width)
    # spectrum and history lines (seen: 740-950 at 390 px, 3500-4250 at 1280 px; with
    # 1.2 pt lines 194 at 390 px, anti-aliased into lighter blues)
    assert _pixels_near(img, (21, 101, 192), tol=60) > 400 * k
    assert _pixels_near(img, (230, 81, 0), tol=60) > 40 * k  # the tone markers (dashed)
    dots = _pixels_near(img, (46, 125, 50)) + _pixels_near(img, (198, 40, 40))
    assert dots > 200 * k  # levels against their limits
    # nothing runs off the screen's edge: its last pixels are the page's white margin
    import numpy as np

    edge = np.asarray(img.convert("L"))[:, -4:]
    assert (edge > 245).mean() > 0.995, f"content at the right edge at {width} px"


def test_findings_are_ordered_cheapest_fix_first():
    recs = {"selftest": {"outcome": "fail", "checks": [
        {"name": "a", "outcome": "fail", "fault": "x", "advice": "Replace the speaker."},
        {"name": "b", "outcome": "fail", "fault": "y",
         "advice": "Unplug the camera for 15 s and plug it back in."}]},
        "wifi": {"outcome": "warn", "checks": [
            {"name": "c", "outcome": "warn", "note": "move closer"}]}}
    f = support.findings(recs)
    assert [x["check"] for x in f] == ["b", "a", "c"]
    assert support.redact({"wifi": {"password": "p", "password_set": True}}) == \
        {"wifi": {"password": "<redacted>", "password_set": True}}

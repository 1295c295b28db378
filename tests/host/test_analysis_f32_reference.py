"""numpy's reference figures for tests/firmware/test_fw_analysis_f32.py, computed afresh.

That test runs the firmware's analysis on the ESP32 port's single-precision floats (QEMU)
and compares it with EXPECTED; here the same synthetic captures are measured by numpy
least-squares sine fits (the method of test_analysis_reference.py), so EXPECTED can neither
go stale nor come from the code it checks. To regenerate after a plan change:
    python -m pytest tests/host/test_analysis_f32_reference.py -s
prints the dict to paste."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "firmware"))
import test_fw_analysis_f32 as f32  # noqa: E402
from camdiag import plan as P  # noqa: E402
from test_analysis_reference import PLAN, sine_fit  # noqa: E402  (the same method)


def reference(case):
    gain_db, delay, snr_db, a2, a3, seed = case
    y = []
    f32.make_case(PLAN, *case, keep=y)
    y = np.array(y)
    lag = PLAN.dma_lead + delay
    tones = []
    for f, start, _inc in PLAN.tones:
        a = sine_fit(y, start + P.TONE_GUARD + lag, P.TONE_WINDOW, f)
        tones.append(round(float(20 * np.log10(a / 32768)), 2))
    first = PLAN.burst_start + lag
    seg = y[first - P.NOISE_FRAMES:first]
    noise = round(float(20 * np.log10(np.std(seg) * np.sqrt(2) / 32768)), 2)
    f, start, _ = PLAN.tones[P.REF_TONE]
    w0 = start + P.TONE_GUARD + lag
    a1 = sine_fit(y, w0, P.TONE_WINDOW, f)
    harm = [sine_fit(y, w0, P.TONE_WINDOW, h * f) for h in PLAN.harmonics]
    thd = 100 * np.sqrt(np.sum(np.square(harm))) / a1
    # measurable only well above what the noise puts in the harmonic bins (as the float64
    # reference test decides it)
    floor = 100 * np.sqrt(len(PLAN.harmonics)) * np.std(seg) * np.sqrt(6 / P.TONE_WINDOW) / a1
    return {"tone_dbfs": tones, "noise_dbfs": noise,
            "thd_pct": round(float(thd), 2) if thd >= 8 * floor and thd >= 0.1 else None}


def test_expected_is_numpys_reference():
    fresh = {n: reference(case) for n, case in enumerate(f32.CASES, 1)}
    print("EXPECTED =", fresh)
    for n, want in fresh.items():
        got = f32.EXPECTED[n]
        assert np.allclose(got["tone_dbfs"], want["tone_dbfs"], atol=0.02), (n, fresh)
        assert abs(got["noise_dbfs"] - want["noise_dbfs"]) <= 0.02, (n, fresh)
        assert (got["thd_pct"] is None) == (want["thd_pct"] is None), (n, fresh)
        if want["thd_pct"] is not None:
            assert abs(got["thd_pct"] - want["thd_pct"]) <= 0.02, (n, fresh)

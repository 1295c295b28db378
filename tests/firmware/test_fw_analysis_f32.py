# The loopback analysis at its stated accuracy on every float it may run with: CPython and
# the unix port (float64) and the ESP32 port in QEMU (tests/test_on_qemu.py), whose floats
# are single precision (MICROPY_FLOAT_IMPL_FLOAT). Captures are synthesised in integers
# the same way everywhere (the real stimulus, a gain, a delay, a polynomial distortion,
# Irwin-Hall noise from a 16-bit LCG, 24-bit words), deinterleaved block by block as the
# capture loop does. EXPECTED holds numpy's least-squares reference for each case
# (tests/host/test_analysis_f32_reference.py computes it afresh and fails if it differs).
# Tolerances, as for the float64 reference test: levels +-0.5 dB, latency +-1 frame,
# noise floor +-0.5 dB, THD +-1 dB.
import math

from camdiag import kernels
from camdiag import kernels_portable as kp
from camdiag.analysis import Analyzer
from camdiag.kernels import Kernels
from camdiag.plan import Plan
from fwtest import profile

# (gain dB, acoustic delay frames, SNR dB, a2, a3, seed)
CASES = ((-6.0, 120, 40.0, 0.0, 0.0, 1), (-30.0, 300, 25.0, 0.0, 0.0, 2),
         (-3.0, 40, 45.0, 0.3, 0.5, 3), (-18.0, 200, 35.0, 0.0, 0.2, 4))

# numpy's figures for CASES (regenerate: tests/host/test_analysis_f32_reference.py says how)
EXPECTED = {
    1: {"tone_dbfs": [-12.02, -12.02, -12.02], "noise_dbfs": -51.82, "thd_pct": None},
    2: {"tone_dbfs": [-36.05, -36.09, -36.03], "noise_dbfs": -60.72, "thd_pct": None},
    3: {"tone_dbfs": [-8.62, -8.62, -8.62], "noise_dbfs": -54.0, "thd_pct": 5.31},
    4: {"tone_dbfs": [-24.02, -23.99, -24.01], "noise_dbfs": -58.75, "thd_pct": None},
}


def _noise(state):
    """Irwin-Hall N(0, 1) from 12 draws of a 16-bit LCG (small ints on every port)."""
    s = state[0]
    acc = 0
    for _ in range(12):
        s = (s * 75 + 74) % 65537
        acc += s
    state[0] = s
    return (acc - 12 * 32768) / 65536.0


def make_case(plan, gain_db, delay, snr_db, a2, a3, seed, keep=None):
    """(cap, stats, frames) of a device capture of the case; keep: a list that receives
    every RX frame's value in 16-bit units (the host's numpy reference reads it)."""
    stim = plan.stimulus(Kernels(viper=False))
    lag = plan.dma_lead + delay
    g = 10 ** (gain_db / 20)
    sigma = plan.amplitude_q15 * g / 1.4142135 / 10 ** (snr_db / 20)
    state = [seed * 7919 % 65537]
    b = plan.block
    body = plan.total - plan.warmup
    cap = kernels.samples(body)
    stats = kernels.new_stats()
    blk = bytearray(8 * b)
    for start in range(0, plan.total, b):
        for j in range(b):
            i = start + j
            u = kernels.get16(stim, i - lag) * g / 32768.0 if i >= lag else 0.0
            y = (u + a2 * u * u + a3 * u * u * u) * 32768.0 + sigma * _noise(state)
            y24 = int(y * 256 + (0.5 if y >= 0 else -0.5))
            y24 = max(-(1 << 23), min((1 << 23) - 1, y24))
            if keep is not None:
                keep.append(y24 / 256.0)
            w = (y24 << 8) & 0xFFFFFFFF
            k = 8 * j + 4 * plan.slot
            blk[k] = w & 0xFF
            blk[k + 1] = (w >> 8) & 0xFF
            blk[k + 2] = (w >> 16) & 0xFF
            blk[k + 3] = (w >> 24) & 0xFF
        if start >= plan.warmup:
            kp.deinterleave(blk, b, plan.slot, plan.shift, cap, start - plan.warmup, stats)
    return cap, stats, body


def _db(ratio):
    return 20 * math.log(ratio) / math.log(10)


def test_the_analysis_keeps_its_accuracy_in_this_ports_floats():
    plan = Plan(profile("sim"))
    an = Analyzer(plan, Kernels(viper=False))
    for n, case in enumerate(CASES, 1):
        cap, stats, body = make_case(plan, *case)
        m = an.analyze(cap, stats, body)
        want = EXPECTED[n]
        assert m["burst_found"], n
        assert abs(m["latency_frames"] - case[1]) <= 1.0, (n, m["latency_frames"])
        for got, ref in zip(m["tone_dbfs"], want["tone_dbfs"]):
            assert abs(got - ref) <= 0.5, (n, m["tone_dbfs"], want["tone_dbfs"])
        assert abs(m["noise_dbfs"] - want["noise_dbfs"]) <= 0.5, (n, m["noise_dbfs"])
        if want["thd_pct"] is not None:
            assert abs(_db(m["thd_pct"] / want["thd_pct"])) <= 1.0, (n, m["thd_pct"])
        cap = stats = None

# Signal kernels on CPython and the MicroPython unix port: accuracy, 32-bit bounds at full
# scale, viper == portable, and no allocation in the capture and analysis loops.
import math
from array import array

from camdiag import kernels
from camdiag import kernels_portable as kp
from camdiag.capture import LoopbackCapture
from camdiag.kernels import Kernels
from camdiag.plan import Plan
from fwtest import FakeRx, FakeTx, is_micropython, profile, skip

INT32_MAX = 2147483647


def _tone_buf(n, freq, rate, amp):
    buf = kernels.samples(n)
    st = array("i", [0])
    kp.synth_tone(buf, 0, n, st, kernels.phase_inc(freq, rate), amp)
    return buf


def test_synth_then_demod_recovers_level_and_frequency():
    for freq in (500, 1031, 3150):
        buf = _tone_buf(1024, freq, 16000, 16384)  # -6 dBFS
        out = array("i", [0, 0])
        kp.demod(buf, 0, 1024, kernels.phase_inc(freq, 16000), out)
        scale = 4.0 / (1024 * kernels.DEMOD_GAIN)
        amp = scale * math.sqrt(out[0] ** 2 + out[1] ** 2)
        assert abs(20 * math.log(amp / 16384) / math.log(10)) < 0.05, (freq, amp)
        # off-frequency bins see (almost) nothing
        kp.demod(buf, 0, 1024, kernels.phase_inc(freq * 2, 16000), out)
        leak = scale * math.sqrt(out[0] ** 2 + out[1] ** 2)
        assert leak < 16384 * 0.002, (freq, leak)


def test_level_stats_worst_case_full_scale_stays_in_32_bits():
    # The longest capture a plan may have (plan.MAX_CAPTURE), where the heap holds its
    # 128 KB (the unix port); an ESP32 gets the largest buffer it has room for, which
    # still carries the sum of squares from lo into hi (each square is 2**30).
    n = 65535
    buf = None
    while buf is None:
        try:
            buf = bytearray(2 * n)
        except MemoryError:
            n //= 2
    for i in range(n):
        buf[2 * i + 1] = 0x80  # -32768 everywhere: the largest square, 2**30
    out = array("i", [0] * 6)
    kp.level_stats(buf, 0, n, out)
    assert out[kernels.ST_SUM] == -32768 * n
    assert out[kernels.ST_SQ_HI] * (1 << 30) + out[kernels.ST_SQ_LO] == n * (1 << 30)
    for v in out:
        assert -INT32_MAX - 1 <= v <= INT32_MAX
    assert 0 <= out[kernels.ST_SQ_LO] < (1 << 30)
    assert out[kernels.ST_CLIP] == n


def test_demod_and_xcorr_worst_case_stay_in_32_bits():
    n = kernels.DEMOD_MAX_N
    buf = kernels.samples(4096)
    for i in range(4096):
        kernels.put16(buf, i, 32767 if (i // 4) % 2 == 0 else -32768)
    out = array("i", [0, 0, 0, 0])
    kp.demod(buf, 0, n, kernels.phase_inc(2000, 16000), out)  # in phase with the square
    assert abs(out[0]) <= (1 << 30) and abs(out[1]) <= (1 << 30)
    assert abs(out[0]) + abs(out[1]) > (1 << 28)  # really near the bound's order
    tmpl = kernels.samples(64)
    for i in range(64):
        kernels.put16(tmpl, i, 32767 if (i // 4) % 2 == 0 else -32768)
    kp.xcorr_max(buf, 0, 256, tmpl, 64, out)
    assert 64 * 32000 < out[0] <= INT32_MAX


def test_deinterleave_slots_shift_and_masks():
    rx = bytearray(8 * 4)
    words = [(0x12345600, 0x0), (0xFFFFFF00, 0x0), (0x7FFFFF00, 0x01000000), (0x80000000, 0x0)]
    for i, (left, right) in enumerate(words):
        for k in range(4):
            rx[8 * i + k] = (left >> (8 * k)) & 0xFF
            rx[8 * i + 4 + k] = (right >> (8 * k)) & 0xFF
    cap = kernels.samples(4)
    stats = kernels.new_stats()
    kp.deinterleave(rx, 4, 0, 0, cap, 0, stats)
    assert [kernels.get16(cap, i) for i in range(4)] == [0x1234, -1, 0x7FFF, -32768]
    assert stats[kernels.DI_FRAMES] == 4
    assert stats[kernels.DI_ABS_OTHER] == 256  # 0x01000000 >> 16
    # SPH0645: data one bit late -> shift left by one
    stats = kernels.new_stats()
    kp.deinterleave(rx, 1, 0, 1, cap, 0, stats)
    assert kernels.get16(cap, 0) == 0x2468


def _random_buf(n, seed, full_scale=False):
    buf = kernels.samples(n)
    x = seed or 1
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        v = ((x >> 8) & 0xFFFF) - 32768
        if full_scale:
            v = 32767 if v >= 0 else -32768
        kernels.put16(buf, i, v)
    return buf


def test_viper_twins_agree_with_portable():
    if not is_micropython():
        skip("viper kernels exist only on MicroPython")
    from camdiag import kernels_viper as kv

    for seed, fs in ((1, False), (2, True), (3, False)):
        x = _random_buf(2048, seed, fs)
        t = _random_buf(64, seed + 10, fs)
        for fn in ("level_stats", "demod", "xcorr_max", "xcorr_first"):
            a = array("i", [0] * 6)
            b = array("i", [0] * 6)
            if fn == "level_stats":
                kp.level_stats(x, 5, 2000, a)
                kv.level_stats(x, 5, 2000, b)
            elif fn == "demod":
                inc = kernels.phase_inc(1031, 16000)
                kp.demod(x, 3, 1024, inc, a)
                kv.demod(x, 3, 1024, inc, b)
            elif fn == "xcorr_max":
                kp.xcorr_max(x, 7, 300, t, 64, a)
                kv.xcorr_max(x, 7, 300, t, 64, b)
            else:
                kp.xcorr_first(x, 7, 300, t, 64, 1000, a)
                kv.xcorr_first(x, 7, 300, t, 64, 1000, b)
            assert list(a) == list(b), (fn, seed, list(a), list(b))
        # synth
        s1 = kernels.samples(300)
        s2 = kernels.samples(300)
        st1 = array("i", [123])
        st2 = array("i", [123])
        kp.synth_tone(s1, 10, 280, st1, kernels.phase_inc(857, 16000), 32767)
        kv.synth_tone(s2, 10, 280, st2, kernels.phase_inc(857, 16000), 32767)
        assert s1 == s2 and st1[0] == st2[0]
        # deinterleave, both slots, with shift
        rx = bytearray(8 * 256)
        for i in range(len(rx)):
            rx[i] = x[i % len(x)]
        for slot in (0, 1):
            for shift in (0, 1):
                c1 = kernels.samples(256)
                c2 = kernels.samples(256)
                a = kernels.new_stats()
                b = kernels.new_stats()
                kp.deinterleave(rx, 256, slot, shift, c1, 0, a)
                kv.deinterleave(rx, 256, slot, shift, c2, 0, b)
                assert c1 == c2 and list(a) == list(b), (slot, shift, list(a), list(b))


def _run_capture_and_kernels(kern):
    plan = Plan(profile())
    cap = LoopbackCapture(plan, kern)
    tx = FakeTx()
    rx = FakeRx()
    out = array("i", [0] * 6)
    inc = plan.tones[1][2]
    import micropython

    micropython.heap_lock()
    try:
        cap.run(tx, rx)
        kern.level_stats(cap.cap, 0, 1024, out)
        kern.demod(cap.cap, 100, 1024, inc, out)
        kern.xcorr_max(cap.cap, 1024, 768, plan.burst_template, 64, out)
        kern.xcorr_first(cap.cap, 1024, 768, plan.burst_template, 64, 1000, out)
    finally:
        micropython.heap_unlock()
    assert tx.blocks == plan.total // plan.block
    assert cap.stats[kernels.DI_FRAMES] == plan.capture_frames


def test_capture_and_analysis_loops_allocate_nothing():
    if not is_micropython():
        skip("micropython.heap_lock() exists only on MicroPython")
    _run_capture_and_kernels(Kernels(viper=True))
    _run_capture_and_kernels(Kernels(viper=False))


def test_plan_fits_budget_and_rejects_overlong():
    plan = Plan(profile())
    assert plan.audio_ms <= 1000  # issue: at most 1.0 s of audio
    assert plan.warmup * 1000 // plan.rate >= 300  # INMP441 start-up
    assert plan.capture_frames <= 65535
    p = profile()
    p["audio"]["rate"] = 48000
    p["limits"]["latency_max_ms"] = 5000  # beyond what validation allows: the guard holds
    try:
        Plan(p)
        raised = False
    except ValueError:
        raised = True
    assert raised


def test_stimulus_has_the_planned_segments():
    plan = Plan(profile())
    kern = Kernels(viper=False)
    buf = kernels.samples(plan.block)
    phase = array("i", [0])
    energy = {}
    for t in range(0, plan.total, plan.block):
        plan.fill_tx(kern, buf, t, plan.block, phase)
        e = 0
        for i in range(plan.block):
            v = kernels.get16(buf, i)
            e += v * v
        energy[t] = e
    assert all(energy[t] == 0 for t in energy if t + plan.block <= plan.burst_start)
    assert energy[(plan.tone_start // plan.block) * plan.block] > 0
    assert all(energy[t] == 0 for t in energy if t >= plan.tx_end)


def test_the_sine_table_outlives_an_unload():
    # The self-test unloads the kernels after each run; reloading them must not build the
    # 2 KB table again (two fresh 2 KB blocks, which a fragmented heap may not have).
    import sys

    import camdiag

    table = kernels.SIN
    assert table is camdiag.KEPT["sin"] and len(table) == kernels.SIN_SIZE + 1
    camdiag.unload(["camdiag.kernels"])
    again = __import__("camdiag.kernels").kernels
    try:
        assert again is not kernels  # (a fresh module object: the unload happened)
        assert again.SIN is table
    finally:
        sys.modules["camdiag.kernels"] = kernels  # the rest of this module's imports
        camdiag.kernels = kernels

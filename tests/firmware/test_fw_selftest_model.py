# The whole loopback self-test (capture loop, kernels, analysis, diagnosis) on the acoustic
# model running on the same port: the QEMU board's I2S (boards/esp32-qemu/acoustic_i2s.py,
# which takes the virtual board's model, boards/sim/acoustic.py). On the ESP32 port in QEMU
# that is 32-bit viper for the model and the firmware alike, float32 analysis and the real
# heap; on the unix port the same code at 64 bits. MicroPython only (viper).
from fwtest import is_micropython, profile, skip

_BUFFERS = []  # the capture's buffers, reserved first as the app does at boot (app._reserve)


def _reserved():
    if not _BUFFERS:
        import acoustic_i2s  # noqa: F401  (first, as the app builds it at boot)
        import camdiag
        from camdiag import capture, plan

        prof = profile("esp32-qemu")  # validated once, as store.load_profile keeps it
        camdiag.unload(("camdiag.profile",))  # (and drops the loader)
        _BUFFERS.append(capture.Buffers(256, plan.Plan(prof).capture_frames))
        _BUFFERS.append(prof)
    return _BUFFERS


def _selftest(faults):
    """(faults found, acoustic latency in ms, what it should be in ms) of one self-test's
    measurement and diagnosis (selftest.run less the record, whose device identity the
    unix port lacks), loading
    and unloading modules as run() does: on the ESP32 port this runs in its real heap."""
    if not is_micropython():
        skip("the acoustic model is MicroPython (viper)")
    buffers, prof = _reserved()
    import acoustic_i2s
    import camdiag
    from camdiag import selftest

    selftest.reserved_buffers = lambda: buffers
    acoustic_i2s.set_faults(faults)
    try:
        m, error, _plan, _kern, _dma = selftest._measure(prof, None, None, False,
                                                         selftest.HeapProbe(False))
    finally:
        acoustic_i2s.set_faults([])
    selftest.unload(selftest._CAPTURE_MODULES)
    from camdiag import diagnosis

    _checks, found = diagnosis.diagnose(m, prof["limits"], error)
    latency = m.get("latency_ms") if m else None
    # What that latency should be: the model's delay, give or take how far the measured
    # I2S start skew (ticks_us after each constructor) is off the model's own, which a
    # host descheduling this process between a constructor's return and ticks_us moves
    air = acoustic_i2s._AIR
    import acoustic

    true_skew = acoustic.us_to_frames(air.rx_ring.t0 - air.tx_ring.t0, air.rate)
    expected = (air.delay + _dma[1] - true_skew) * 1000.0 / air.rate
    m = _checks = None
    camdiag.unload(("camdiag.diagnosis", "camdiag.record"))
    assert error is None or found, error
    return found, latency, expected


def test_a_healthy_board_passes_on_the_model():
    found, latency, expected = _selftest([])
    assert found == [], found
    # the model's speaker-to-mic path (0.5-3.5 ms) to a frame (62.5 us), the DMA rings'
    # share taken out
    assert abs(latency - expected) < 0.0625, (latency, expected)


def test_a_silent_speaker_is_named():
    found, _latency, _expected = _selftest(["speaker_silent"])
    assert found[:1] == ["speaker_silent"], found


def test_a_muffled_port_is_named():
    found, _latency, _expected = _selftest(["muffled"])
    assert found[:1] == ["muffled"], found


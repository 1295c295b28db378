"""The loopback self-test: plan -> capture -> analysis -> diagnosis -> record."""

import gc
import sys
import time

import camdiag
from camdiag import hw, store

# Modules a self-test loads, dropped again as soon as they are done so the heap peak stays
# low and returns to idle afterwards (on a board with frozen firmware they cost no RAM).
# kernels_viper stays: each import relocates its native code anew, and MicroPython keeps
# relocated native code alive for good (a leak per self-test if it were reloaded).
_CAPTURE_MODULES = ("camdiag.analysis", "camdiag.capture", "camdiag.plan", "camdiag.kernels",
                    "camdiag.kernels_portable")
_MODULES = _CAPTURE_MODULES + ("camdiag.diagnosis", "camdiag.record", "camdiag.wifi_check")

# The last capture, kept only when asked for (camdiag capture reads it in chunks). It lives
# in the package, not here: this module is dropped after every call (service._TRANSIENT).
LAST = camdiag.KEPT


def reserved_buffers():
    """The capture buffers the app reserved at boot (see capture.Buffers), if any."""
    app = sys.modules.get("camdiag.app")
    return (app.STATE.get("buffers") or None) if app is not None else None


class HeapProbe:
    """Live heap (after collect) at each phase, to report the peak above idle."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.idle = 0
        self.peak = 0
        self.phases = []
        self.before = ()
        if enabled:
            self.before = tuple(sys.modules)
            gc.collect()
            self.idle = gc.mem_alloc()

    def mark(self, phase):
        if self.enabled:
            loaded = [m for m in sys.modules if m not in self.before]
            gc.collect()
            used = gc.mem_alloc() - self.idle
            self.phases.append((phase, used, loaded))
            self.peak = max(self.peak, used)


def _measure(prof, viper, feed, keep_capture, probe):
    """Capture and analyse. Returns (measurements or None, error text or None,
    plan description, kernel set name, (DMA latency frames, I2S start skew frames)).

    Its own function so that every reference to the capture buffers and to the capture and
    analysis code is gone when it returns, and unloading them really frees the heap.
    """
    gc.collect()
    from camdiag.capture import CaptureError, LoopbackCapture
    from camdiag.kernels import Kernels
    from camdiag.plan import SKEW_MAX, Plan

    plan = Plan(prof)
    kern = Kernels(viper)
    cap = LoopbackCapture(plan, kern, reserved_buffers())
    probe.mark("setup")
    error = None
    tx = rx = None
    skew = 0
    try:
        # Each constructor ends in i2s_channel_enable() (machine_i2s.c), so the time
        # between the two returns is the RX start relative to TX, to a few microseconds.
        if plan.rx_first:
            rx = hw.i2s_rx(prof)
            t_rx = time.ticks_us()
            tx = hw.i2s_tx(prof)
            t_tx = time.ticks_us()
        else:
            tx = hw.i2s_tx(prof)
            t_tx = time.ticks_us()
            rx = hw.i2s_rx(prof)
            t_rx = time.ticks_us()
        skew = time.ticks_diff(t_rx, t_tx) * plan.rate // 1000000
        if skew > SKEW_MAX or skew < -SKEW_MAX:
            raise CaptureError("I2S RX started %d frames from TX (at most %d)"
                               % (skew, SKEW_MAX))
        cap.run(tx, rx, feed)
    except (OSError, ValueError, CaptureError) as e:
        error = "%s: %s" % (type(e).__name__, e)
    finally:
        for dev in (tx, rx):
            if dev is not None:
                dev.deinit()
    cap.release_blocks()
    capture_frames = plan.capture_frames
    samples, stats = cap.cap, cap.stats
    cap = None
    LoopbackCapture = CaptureError = None  # noqa: F841 - lets unload() free the module
    unload(("camdiag.capture",))
    probe.mark("capture")
    m = None
    if error is None:
        from camdiag.analysis import Analyzer

        m = Analyzer(plan, kern).analyze(samples, stats, capture_frames,
                                         origin=plan.origin(skew))
    probe.mark("analysis")
    if keep_capture and error is None:
        LAST["capture"] = samples
        LAST["frames"] = capture_frames
        LAST["rate"] = plan.rate
    # (the DMA share and the skew stay out of m: a key more can make its table grow, and
    # the heap then needs a fresh block for it in the middle of the self-test)
    return m, error, plan.describe(), kern.name, (plan.dma_lead - skew, skew)


def run(profile=None, keep_capture=False, measure_heap=False, viper=None, feed=None,
        keep_modules=False, wifi=True, trigger="host"):
    """Run the loopback self-test on the board's I2S and return the full record."""
    probe = HeapProbe(measure_heap)
    prof = profile or store.load_profile()
    if prof is None:
        raise ValueError("no valid board profile: " + "; ".join(store.PROBLEMS))
    LAST["capture"] = None
    # A marker while the audio runs: should a read hang and the watchdog reset the board,
    # the next boot finds it and reports i2s_fault instead of hanging again (hung_record).
    store.mark(store.SELFTEST_RUNNING)
    try:
        m, error, plan_info, kern_name, (dma, skew) = _measure(prof, viper, feed, keep_capture,
                                                              probe)
    finally:  # also when a host's Ctrl-C cuts it short: that was no reset
        store.take_mark(store.SELFTEST_RUNNING)
    if not keep_modules:
        unload(_CAPTURE_MODULES)  # the capture and analysis code is done: free it first
    from camdiag import diagnosis, record

    checks, faults = diagnosis.diagnose(m, prof["limits"], error)
    diagnosis = None  # noqa: F841 - done with it
    extra = {"plan": plan_info, "kernels": kern_name}
    if m is not None:
        # The acoustic latency (speaker, air, mic filter) and the DMA rings' share apart:
        # only the first says anything about the hardware.
        found = m.get("burst_found")
        dma_ms = dma * 1000.0 / plan_info["rate"]
        extra["latency_ms"] = round(m.get("latency_ms", 0.0), 2) if found else None
        extra["dma_latency_ms"] = round(dma_ms, 2)
        extra["i2s_start_skew_ms"] = round(skew * 1000.0 / plan_info["rate"], 2)
        extra["total_latency_ms"] = round(m["latency_ms"] + dma_ms, 2) if found else None
    m = None
    extra["trigger"] = trigger
    ssid = store.wifi_ssid() if wifi else ""
    if ssid:  # a camera with Wi-Fi configured: its link is part of the talk path
        unload(("camdiag.diagnosis",))
        from camdiag import wifi_check

        wchecks, wfaults, extra["wifi"] = wifi_check.selftest_checks(prof, hw.wlan(), ssid)
        wifi_check = None  # noqa: F841
        unload(("camdiag.wifi_check",))
        checks += wchecks
        faults += wfaults  # after the audio faults: the speaker/mic verdict comes first
    rec = record.make("selftest", record.device(prof), checks, faults,
                      record.outcome(checks, faults), extra)
    probe.mark("record")
    if measure_heap:
        rec["heap_peak_above_idle"] = probe.peak
        rec["heap_phases"] = probe.phases
    return rec


def hung_record(prof, cause="watchdog"):
    """After a reset that cut a self-test short: the record it could not write."""
    from camdiag import diagnosis, record

    how = ("the I2S read hung until the watchdog reset the board (no clock or DMA stall)"
           if cause == "watchdog" else
           "the board reset (cause %s) while the self-test played and recorded" % cause)
    checks, faults = diagnosis.diagnose(None, prof["limits"], how)
    return record.make("selftest", record.device(prof), checks, faults,
                       record.outcome(checks, faults), {"trigger": "boot"})


def unload(names=_MODULES):
    import camdiag

    camdiag.unload(names)


def service_selftest(log=True, keep_capture=False, measure_heap=False, viper=None,
                     wifi=True, trigger="host", feed=None):
    """measure_heap: the heap above idle at each phase, with the camdiag modules loaded
    then (their code's share: `camdiag bench` takes it out for the data-only peak).
    wifi: include the Wi-Fi checks when Wi-Fi is configured (not at boot: the link is not
    up yet). trigger: host, button or boot, kept in the record."""
    try:
        rec = run(keep_capture=keep_capture, measure_heap=measure_heap, viper=viper,
                  wifi=wifi, trigger=trigger, feed=feed)
        if log:
            from camdiag import record

            store.append_record(record.compact(rec))
    finally:
        unload()
    return rec


def service_capture_read(offset, count):
    """A chunk of the kept capture as hex (int16 LE), for `camdiag capture`."""
    import binascii

    buf = LAST["capture"]
    if buf is None:
        raise ValueError("no capture kept: run selftest with keep_capture first")
    a = 2 * offset
    b = min(len(buf), 2 * (offset + count))
    out = {"frames": LAST["frames"], "rate": LAST["rate"], "offset": offset,
           "data": binascii.hexlify(buf[a:b]).decode()}
    if b >= len(buf):
        LAST["capture"] = None  # all read: give the heap back
    return out



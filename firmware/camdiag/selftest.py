"""The loopback self-test: plan -> capture -> analysis -> diagnosis -> record."""

import gc
import sys

from camdiag import hw, store

# Modules a self-test loads; dropped again afterwards so the app's heap returns to idle
# (on a board with frozen firmware they cost no RAM at all).
_MODULES = ("camdiag.analysis", "camdiag.diagnosis", "camdiag.record", "camdiag.capture",
            "camdiag.plan", "camdiag.kernels", "camdiag.kernels_viper")

# The last capture, kept only when asked for (camdiag capture reads it in chunks).
LAST = {"capture": None, "frames": 0, "rate": 0}


class HeapProbe:
    """Live heap (after collect) at each phase, to report the peak above idle."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.idle = 0
        self.peak = 0
        if enabled:
            gc.collect()
            self.idle = gc.mem_alloc()

    def mark(self):
        if self.enabled:
            gc.collect()
            self.peak = max(self.peak, gc.mem_alloc() - self.idle)


def run(profile=None, keep_capture=False, measure_heap=False, viper=None, feed=None):
    """Run the loopback self-test on the board's I2S and return the full record."""
    probe = HeapProbe(measure_heap)
    prof = profile or store.load_profile()
    if prof is None:
        raise ValueError("no valid board profile: " + "; ".join(store.PROBLEMS))
    LAST["capture"] = None
    gc.collect()
    from camdiag.capture import CaptureError, Kernels, LoopbackCapture
    from camdiag.plan import Plan

    plan = Plan(prof)
    kern = Kernels(viper)
    cap = LoopbackCapture(plan, kern)  # the big buffers first, while the heap is whole
    probe.mark()
    error = None
    tx = rx = None
    try:
        tx = hw.i2s_tx(prof)
        rx = hw.i2s_rx(prof)
        cap.run(tx, rx, feed)
    except (OSError, ValueError, CaptureError) as e:
        error = "%s: %s" % (type(e).__name__, e)
    finally:
        for dev in (tx, rx):
            if dev is not None:
                dev.deinit()
    probe.mark()
    m = None
    if error is None:
        from camdiag.analysis import Analyzer

        m = Analyzer(plan, kern).analyze(cap.cap, cap.stats, plan.capture_frames)
    probe.mark()
    if keep_capture and error is None:
        LAST["capture"] = cap.cap
        LAST["frames"] = plan.capture_frames
        LAST["rate"] = plan.rate
    cap = None
    gc.collect()
    from camdiag import diagnosis, record

    checks, faults = diagnosis.diagnose(m, prof["limits"], error)
    extra = {"plan": plan.describe(), "kernels": kern.name}
    if m is not None:
        extra["latency_ms"] = round(m.get("latency_ms", 0.0), 2) if m.get("burst_found") else None
    rec = record.make("selftest", record.device(prof), checks, faults,
                      diagnosis.outcome(checks, faults), extra)
    probe.mark()
    if measure_heap:
        rec["heap_peak_above_idle"] = probe.peak
    return rec


def unload():
    import camdiag

    for name in _MODULES:
        if name in sys.modules:
            del sys.modules[name]
        short = name.split(".")[1]
        if short in camdiag.__dict__:
            delattr(camdiag, short)
    gc.collect()


def service_selftest(log=True, keep_capture=False, measure_heap=False, viper=None):
    try:
        rec = run(keep_capture=keep_capture, measure_heap=measure_heap, viper=viper)
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


def _register():
    from camdiag import service

    service.register("selftest", service_selftest)
    service.register("capture_read", service_capture_read)


_register()

"""Loopback capture: play the plan on I2S TX while recording I2S RX, block by block.

TX and RX are passed in (any objects with the machine.I2S write/readinto methods).
Buffers are allocated once in __init__; run() allocates nothing per block.
"""

from array import array

from camdiag import kernels


class CaptureError(Exception):
    pass


class Buffers:
    """The capture's memory: TX block, RX block (32-bit stereo) and the capture itself.

    The app reserves one set at boot (app._reserve) and reuses it: a 10 KB block
    allocated later, in a heap fragmented by hours of app activity, may not be found.
    """

    def __init__(self, block, capture_frames):
        self.tx = kernels.samples(block)
        self.rx = bytearray(8 * block)
        self.cap = kernels.samples(capture_frames)

    def fits(self, plan):
        return len(self.tx) >= 2 * plan.block and len(self.rx) == 8 * plan.block and \
            len(self.cap) >= 2 * plan.capture_frames


class LoopbackCapture:
    def __init__(self, plan, kern, buffers=None):
        self.plan = plan
        self.kern = kern
        if buffers is None or not buffers.fits(plan):
            buffers = Buffers(plan.block, plan.capture_frames)
        self.txbuf = buffers.tx
        self.rxbuf = buffers.rx  # 32-bit stereo frames
        self.cap = buffers.cap
        self.stats = kernels.new_stats()
        self.phase = array("i", [0])

    def run(self, tx, rx, feed=None):
        """Play and record the whole plan. feed(): called each block (watchdog)."""
        plan = self.plan
        kern = self.kern
        b = plan.block
        txbuf = self.txbuf
        rxbuf = self.rxbuf
        want = len(rxbuf)
        t = 0
        while t < plan.total:
            plan.fill_tx(kern, txbuf, t, b, self.phase)
            tx.write(txbuf)
            got = rx.readinto(rxbuf)
            if got != want:
                raise CaptureError("short RX read: %d of %d bytes" % (got, want))
            if t >= plan.warmup:
                kern.deinterleave(rxbuf, b, plan.slot, plan.shift, self.cap, t - plan.warmup,
                                  self.stats)
            if feed is not None:
                feed()
            t += b

    def release_blocks(self):
        """Drop the TX/RX block buffers once the capture is done (the analysis needs only
        the capture and its statistics)."""
        self.txbuf = None
        self.rxbuf = None

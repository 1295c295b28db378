"""Signal kernel shared pieces: buffer formats, the sine table, result slots, helpers.

The hot kernels come in two twins with identical arguments and results:
`kernels_portable` (any Python; the reference) and `kernels_viper` (MicroPython), chosen by
`Kernels` below. They work on preallocated buffers with (offset, count) arguments instead
of slices and write results into preallocated int arrays, so the capture and analysis
loops allocate nothing. Fixed point is sized for 32-bit integers (the ESP32's viper word);
each accumulator's bound is stated beside it.

Sample buffers are bytearrays of int16 little-endian samples (MicroPython cannot size an
array('h') without a second, temporary copy; viper's ptr16 reads bytearrays directly).
RX blocks are bytearrays of 32-bit stereo frames as the ESP32 I2S RX reads them.
"""

import math
from array import array

from camdiag import KEPT
from camdiag.compat import const

FS16 = const(32768)
CLIP_LEVEL = const(32440)  # 0.99 FS: a sample at or above is clipped
SIN_SIZE = const(1024)
PHASE_BITS = const(26)  # phase accumulators: 10 table bits + 16 fraction bits
PHASE_MASK = const(0x3FFFFFF)

# Q15 sine table with one guard entry for interpolation (2 KB). Built once and kept in the
# package: this module is unloaded after every self-test, and rebuilt at each import the
# table took two fresh 2 KB blocks per self-test (the bytes and the array), which a heap
# fragmented by a long session may not have (CI: "MemoryError: memory allocation failed,
# allocating 2050 bytes" after a factory reset finished at boot). The app's warm-up at boot
# builds it while the heap is whole.
SIN = KEPT["sin"]
if SIN is None:
    SIN = KEPT["sin"] = array("h", bytes(2 * (SIN_SIZE + 1)))  # no list: 8 bytes a slot on x64
    for _i in range(SIN_SIZE + 1):
        SIN[_i] = int(round(32767 * math.sin(2 * math.pi * _i / SIN_SIZE)))
    del _i

# Output slots of level_stats
ST_SUM = const(0)  # sum of samples: |sum| <= n * 2**15 < 2**31 for n <= 65535
ST_SQ_HI = const(1)  # sum of squares = hi * 2**30 + lo; each square <= 2**30
ST_SQ_LO = const(2)
ST_MIN = const(3)
ST_MAX = const(4)
ST_CLIP = const(5)

# Slots of the deinterleave statistics (accumulated over the whole capture)
DI_OR = const(0)  # OR of the active slot's 24 data bits
DI_AND = const(1)  # AND of the same
DI_ABS_ACTIVE = const(2)  # sum |sample| of the active slot, <= 65535 * 2**15 < 2**31
DI_ABS_OTHER = const(3)  # the same for the other slot
DI_FRAMES = const(4)
# The other slot's sum of |x[n] - x[n-1]| / 2 (<= 65535 * 2**15 < 2**31) and its last sample:
# a slot the mic drives carries band-limited audio (mean |dx| well below mean |x|), a
# floating SD line in the undriven slot gives random bits (mean |dx| ~ 1.33 mean |x|).
DI_DIFF_OTHER = const(5)
DI_PREV_OTHER = const(6)
DI_DIFF_ACTIVE = const(7)  # the same for the active slot (a mic on the other slot, its own
DI_PREV_ACTIVE = const(8)  # slot floating, gives random bits here)


def new_stats():
    """A zeroed deinterleave statistics array (AND starts with all 24 data bits set)."""
    return array("i", [0, 0xFFFFFF, 0, 0, 0, 0, 0, 0, 0])


def get16(buf, i):
    v = buf[2 * i] | (buf[2 * i + 1] << 8)
    return v - 0x10000 if v & 0x8000 else v


def put16(buf, i, v):
    buf[2 * i] = v & 0xFF
    buf[2 * i + 1] = (v >> 8) & 0xFF


def samples(n):
    """A zeroed int16 sample buffer of n samples."""
    return bytearray(2 * n)


def phase_inc(freq, rate):
    """Phase increment per sample for `freq` at `rate` (26-bit phase)."""
    return int(round(freq * (1 << PHASE_BITS) / rate))


def fill_zero(out, start, n):
    for i in range(2 * start, 2 * (start + n)):
        out[i] = 0


def copy_samples(out, start, src, src_start, n):
    for i in range(2 * n):
        out[2 * start + i] = src[2 * src_start + i]


DEMOD_SHIFT = const(9)
DEMOD_MAX_N = const(1024)
DEMOD_GAIN = 64  # out = 2**(15 - DEMOD_SHIFT) * sum(x * w * cos): amplitude = 4|out| / (n * 64)


class Kernels:
    """The kernel set in use: viper twins where available, else portable."""

    def __init__(self, viper=None):
        from camdiag.compat import has_viper

        if viper is None:
            viper = has_viper()
        self.name = "viper" if viper else "portable"
        self.fill_zero = fill_zero
        self.copy_samples = copy_samples
        if viper:
            from camdiag import kernels_viper as src
        else:
            from camdiag import kernels_portable as src
        self.synth_tone = src.synth_tone
        self.deinterleave = src.deinterleave
        self.level_stats = src.level_stats
        self.demod = src.demod
        self.xcorr_max = src.xcorr_max
        self.xcorr_first = src.xcorr_first

"""Portable twins of the hot kernels (any Python): the reference the viper kernels are
held equal to, and what runs where viper is missing (CPython on the host).

Fixed-point bounds are stated per kernel; see `kernels` for buffer formats.
"""

from camdiag.kernels import (  # noqa: F401
    CLIP_LEVEL,
    DI_ABS_ACTIVE,
    DI_ABS_OTHER,
    DI_AND,
    DI_FRAMES,
    DI_DIFF_ACTIVE,
    DI_DIFF_OTHER,
    DI_PREV_ACTIVE,
    DI_PREV_OTHER,
    DI_OR,
    PHASE_BITS,
    PHASE_MASK,
    SIN,
    SIN_SIZE,
    ST_CLIP,
    ST_MAX,
    ST_MIN,
    ST_SQ_HI,
    ST_SQ_LO,
    ST_SUM,
    get16,
    put16,
)


def synth_tone(out, start, n, state, inc, amp_q15):
    """Write n samples of a sine into out[start:]: linear-interpolated table lookup.

    state[0] holds the phase (< 2**26). Products: (s1 - s0) * frac < 2**8 * 2**16;
    s * amp_q15 < 2**30.
    """
    phase = state[0]
    for i in range(start, start + n):
        idx = phase >> 16
        frac = phase & 0xFFFF
        s0 = SIN[idx]
        s = s0 + (((SIN[idx + 1] - s0) * frac) >> 16)
        put16(out, i, (s * amp_q15) >> 15)
        phase = (phase + inc) & PHASE_MASK
    state[0] = phase


def deinterleave(rx, nframes, slot, shift, cap, cap_start, stats):
    """Take the mic's slot out of 32-bit stereo RX frames.

    The 16-bit sample is bits [16-shift, 31-shift] of the slot word, i.e. the top 16 bits
    after a left shift (0 for INMP441, 1 for SPH0645's late data). Built from bytes so no
    intermediate exceeds 2**24. cap may be None (warm-up: statistics only).
    Accumulates into stats: OR/AND of the active slot's 24 data bits, sum |x| of both slots.
    """
    orm = stats[DI_OR]
    andm = stats[DI_AND]
    sa = stats[DI_ABS_ACTIVE]
    so = stats[DI_ABS_OTHER]
    sd = stats[DI_DIFF_OTHER]
    prev = stats[DI_PREV_OTHER]
    ad = stats[DI_DIFF_ACTIVE]
    aprev = stats[DI_PREV_ACTIVE]
    a = slot * 4
    o = 4 - a
    for f in range(nframes):
        base = f * 8
        d = rx[base + a + 1] | (rx[base + a + 2] << 8) | (rx[base + a + 3] << 16)
        orm |= d
        andm &= d
        v = ((d << shift) >> 8) & 0xFFFF
        if v & 0x8000:
            v -= 0x10000
        if cap is not None:
            put16(cap, cap_start + f, v)
        sa += v if v >= 0 else -v
        dd = v - aprev
        ad += (dd if dd >= 0 else -dd) >> 1
        aprev = v
        do = rx[base + o + 1] | (rx[base + o + 2] << 8) | (rx[base + o + 3] << 16)
        dv = ((do << shift) >> 8) & 0xFFFF
        if dv & 0x8000:
            dv -= 0x10000
        so += dv if dv >= 0 else -dv
        dd = dv - prev
        sd += (dd if dd >= 0 else -dd) >> 1
        prev = dv
    stats[DI_OR] = orm
    stats[DI_AND] = andm
    stats[DI_ABS_ACTIVE] = sa
    stats[DI_ABS_OTHER] = so
    stats[DI_DIFF_OTHER] = sd
    stats[DI_PREV_OTHER] = prev
    stats[DI_DIFF_ACTIVE] = ad
    stats[DI_PREV_ACTIVE] = aprev
    stats[DI_FRAMES] += nframes


def level_stats(x, start, n, out):
    """Sum, sum of squares (hi/lo split at 2**30), min, max, clipped count of x[start:+n].

    Allocation-free where small ints have 31 bits (the ESP32 port: 2**30 is already a
    heap integer, found on the real port in QEMU): lo and each square stay below 2**30,
    and lo + sq is never formed when it would reach it.
    """
    s = 0
    hi = 0
    lo = 0
    mn = 32767
    mx = -32768
    clips = 0
    for i in range(start, start + n):
        v = get16(x, i)
        s += v
        if v == -32768:  # the one square of 2**30
            hi += 1
        else:
            sq = v * v
            room = 0x3FFFFFFF - lo
            if sq > room:  # lo + sq >= 2**30
                hi += 1
                lo = sq - room - 1
            else:
                lo += sq
        if v < mn:
            mn = v
        if v > mx:
            mx = v
        if v >= CLIP_LEVEL or v <= -CLIP_LEVEL:
            clips += 1
    out[ST_SUM] = s
    out[ST_SQ_HI] = hi
    out[ST_SQ_LO] = lo
    out[ST_MIN] = mn
    out[ST_MAX] = mx
    out[ST_CLIP] = clips


def demod(x, start, n, inc, out):
    """Hann-windowed quadrature demodulation of x[start:+n] at phase increment inc.

    out[0] = sum(x * wc) >> 9, out[1] = sum(x * ws) >> 9 (rounded per term), where the
    windowed oscillator wc = w*cos is formed in Q15 first and interpolated from the table,
    so out = DEMOD_GAIN * sum(x*w*cos). Rounding x*w to whole LSBs, or a plain table
    lookup, would put spurious harmonics of a few LSB into the result.
    Bound: |x*wc| <= 2**30 and sum(w) = n/2, so |out| <= 2**30 for n <= 1024.
    n must be a power of two (the window's phase step is exact).
    """
    winc = (1 << PHASE_BITS) // n
    wphase = 0
    phase = 0
    acc_i = 0
    acc_q = 0
    quarter = SIN_SIZE >> 2
    for k in range(start, start + n):
        widx = ((wphase >> 16) + quarter) & (SIN_SIZE - 1)
        w = (32767 - SIN[widx]) >> 1  # Hann in Q15
        # Interpolated oscillator: plain table lookup has phase-truncation spurs near
        # -60 dBc that would mix the fundamental into the harmonic bins.
        idx = phase >> 16
        frac = phase & 0xFFFF
        s0 = SIN[idx]
        s = s0 + (((SIN[idx + 1] - s0) * frac) >> 16)
        ci = (idx + quarter) & (SIN_SIZE - 1)
        c0 = SIN[ci]
        c = c0 + (((SIN[ci + 1] - c0) * frac) >> 16)
        wc = (w * c + 16384) >> 15
        ws = (w * s + 16384) >> 15
        v = get16(x, k)
        acc_i += (v * wc + 256) >> 9
        acc_q += (v * ws + 256) >> 9
        phase = (phase + inc) & PHASE_MASK
        wphase += winc
    out[0] = acc_i
    out[1] = acc_q


def xcorr_max(x, start, nlags, tmpl, tlen, out):
    """Cross-correlate tmpl with x at lags 0..nlags-1 from start: largest value and lag.

    Each term (x * t) >> 15 <= 2**15; a sum over tlen <= 4096 terms < 2**27.
    out[0] = max value, out[1] = its lag.
    """
    best = -(1 << 30)
    best_lag = 0
    for lag in range(nlags):
        acc = 0
        b = start + lag
        for k in range(tlen):
            acc += (get16(x, b + k) * get16(tmpl, k)) >> 15
        if acc > best:
            best = acc
            best_lag = lag
    out[0] = best
    out[1] = best_lag


def xcorr_first(x, start, nlags, tmpl, tlen, thresh, out):
    """First lag whose correlation reaches thresh, then climb to that peak's top.

    out[0] = lag of the peak (-1 if none), out[1..3] = values at lag-1, lag, lag+1
    (for sub-sample interpolation).
    """
    prev = 0
    found = -1
    lag = 0
    cur = 0
    while lag < nlags:
        acc = 0
        b = start + lag
        for k in range(tlen):
            acc += (get16(x, b + k) * get16(tmpl, k)) >> 15
        if found < 0:
            if acc >= thresh:
                found = lag
        if found >= 0:
            if lag > found and acc < cur:
                out[0] = lag - 1
                out[1] = prev
                out[2] = cur
                out[3] = acc
                return
            prev = cur
            cur = acc
        lag += 1
    out[0] = -1 if found < 0 else nlags - 1
    out[1] = prev
    out[2] = cur
    out[3] = 0

"""Viper twins of the hot kernels in `kernels` (MicroPython only).

Same arguments and results as the portable versions; tests run both on the unix port
and require equal outputs. Integer bounds are those stated in `kernels`: every value fits
a 32-bit word, the ESP32's viper integer. Loads through ptr16/ptr32 are zero-extended on
the 64-bit unix port, so signed values are sign-extended with (v ^ sb) - sb, which is the
identity in 32-bit arithmetic. Constants >= 2**30 are built at run time (`one << 30`):
they are not small ints on a 32-bit port.
"""

import micropython

from camdiag.kernels import SIN


@micropython.viper
def synth_tone(out, start: int, n: int, state, inc: int, amp_q15: int):
    o = ptr16(out)
    st = ptr32(state)
    tab = ptr16(SIN)
    phase = st[0]
    mask = 0x3FFFFFF
    i = start
    end = start + n
    while i < end:
        idx = phase >> 16
        frac = phase & 0xFFFF
        s0 = (tab[idx] ^ 0x8000) - 0x8000
        s1 = (tab[idx + 1] ^ 0x8000) - 0x8000
        s = s0 + (((s1 - s0) * frac) >> 16)
        o[i] = (s * amp_q15) >> 15
        phase = (phase + inc) & mask
        i += 1
    st[0] = phase


@micropython.viper
def deinterleave(rx, nframes: int, slot: int, shift: int, cap, cap_start: int, stats):
    r = ptr8(rx)
    c = ptr16(cap)
    st = ptr32(stats)
    one = 1
    sb = one << 31
    orm = st[0]
    andm = st[1]
    sa = st[2]
    so = st[3]
    sd = st[5]
    prev = (st[6] ^ sb) - sb
    ad = st[7]
    aprev = (st[8] ^ sb) - sb
    a = slot * 4
    o = 4 - a
    f = 0
    while f < nframes:
        base = f * 8
        d = r[base + a + 1] | (r[base + a + 2] << 8) | (r[base + a + 3] << 16)
        orm |= d
        andm &= d
        v = (((d << shift) >> 8) & 0xFFFF) ^ 0x8000
        v -= 0x8000
        c[cap_start + f] = v
        if v < 0:
            sa -= v
        else:
            sa += v
        dd = v - aprev
        if dd < 0:
            dd = 0 - dd
        ad += dd >> 1
        aprev = v
        do = r[base + o + 1] | (r[base + o + 2] << 8) | (r[base + o + 3] << 16)
        w = ((((do << shift) >> 8) & 0xFFFF) ^ 0x8000) - 0x8000
        if w < 0:
            so -= w
        else:
            so += w
        dd = w - prev
        if dd < 0:
            dd = 0 - dd
        sd += dd >> 1
        prev = w
        f += 1
    st[0] = orm
    st[1] = andm
    st[2] = sa
    st[3] = so
    st[4] = ((st[4] ^ sb) - sb) + nframes
    st[5] = sd
    st[6] = prev
    st[7] = ad
    st[8] = aprev


@micropython.viper
def level_stats(x, start: int, n: int, out):
    p = ptr16(x)
    o = ptr32(out)
    one = 1
    lim = one << 30
    s = 0
    hi = 0
    lo = 0
    mn = 32767
    mx = -32768
    clips = 0
    i = start
    end = start + n
    while i < end:
        v = (p[i] ^ 0x8000) - 0x8000
        s += v
        lo += v * v
        if lo >= lim:
            hi += 1
            lo -= lim
        if v < mn:
            mn = v
        if v > mx:
            mx = v
        if v >= 32440 or v <= -32440:
            clips += 1
        i += 1
    o[0] = s
    o[1] = hi
    o[2] = lo
    o[3] = mn
    o[4] = mx
    o[5] = clips


@micropython.viper
def demod(x, start: int, n: int, inc: int, out):
    p = ptr16(x)
    tab = ptr16(SIN)
    o = ptr32(out)
    one = 1
    winc = (one << 26) // n
    mask = 0x3FFFFFF
    wphase = 0
    phase = 0
    acc_i = 0
    acc_q = 0
    k = start
    end = start + n
    while k < end:
        widx = ((wphase >> 16) + 256) & 1023
        w = (32767 - ((tab[widx] ^ 0x8000) - 0x8000)) >> 1
        idx = phase >> 16
        frac = phase & 0xFFFF
        s0 = (tab[idx] ^ 0x8000) - 0x8000
        s = s0 + (((((tab[idx + 1] ^ 0x8000) - 0x8000) - s0) * frac) >> 16)
        ci = (idx + 256) & 1023
        c0 = (tab[ci] ^ 0x8000) - 0x8000
        c = c0 + (((((tab[ci + 1] ^ 0x8000) - 0x8000) - c0) * frac) >> 16)
        wc = (w * c + 16384) >> 15
        ws = (w * s + 16384) >> 15
        v = (p[k] ^ 0x8000) - 0x8000
        acc_i += (v * wc + 256) >> 9
        acc_q += (v * ws + 256) >> 9
        phase = (phase + inc) & mask
        wphase += winc
        k += 1
    o[0] = acc_i
    o[1] = acc_q


@micropython.viper
def xcorr_max(x, start: int, nlags: int, tmpl, tlen: int, out):
    p = ptr16(x)
    t = ptr16(tmpl)
    o = ptr32(out)
    one = 1
    best = 0 - (one << 30)
    best_lag = 0
    lag = 0
    while lag < nlags:
        acc = 0
        b = start + lag
        k = 0
        while k < tlen:
            acc += (((p[b + k] ^ 0x8000) - 0x8000) * ((t[k] ^ 0x8000) - 0x8000)) >> 15
            k += 1
        if acc > best:
            best = acc
            best_lag = lag
        lag += 1
    o[0] = best
    o[1] = best_lag


@micropython.viper
def xcorr_first(x, start: int, nlags: int, tmpl, tlen: int, thresh: int, out):
    p = ptr16(x)
    t = ptr16(tmpl)
    o = ptr32(out)
    prev = 0
    found = -1
    cur = 0
    lag = 0
    while lag < nlags:
        acc = 0
        b = start + lag
        k = 0
        while k < tlen:
            acc += (((p[b + k] ^ 0x8000) - 0x8000) * ((t[k] ^ 0x8000) - 0x8000)) >> 15
            k += 1
        if found < 0:
            if acc >= thresh:
                found = lag
        if found >= 0:
            if lag > found and acc < cur:
                o[0] = lag - 1
                o[1] = prev
                o[2] = cur
                o[3] = acc
                return
            prev = cur
            cur = acc
        lag += 1
    if found < 0:
        o[0] = -1
    else:
        o[0] = nlags - 1
    o[1] = prev
    o[2] = cur
    o[3] = 0

"""Loopback analysis: measurements from a capture (pure logic, same code on board and host).

Everything is anchored on the first burst found in the capture, so the analysis works on a
device capture (search within latency_max) and on any recording of the stimulus (wide
search). Kernel passes allocate nothing; the float arithmetic after them runs a few dozen
times per self-test.
"""

import math
from array import array

from camdiag import kernels
from camdiag import plan as P

NO_LEVEL_DBFS = -140.0
# The burst may arrive this much before the expected acoustic latency of zero: the skew
# between the I2S enables is measured to about a frame, and the TX FIFO prefetches a few.
SEARCH_EARLY = 16
# Every measurement analyze() reports (the ones it does not reach stay None).
_KEYS = ("burst_found", "burst_spacing_error_max", "burst_spacing_errors", "bursts_missing",
         "clipped_samples", "data_bits_toggling", "data_constant", "data_lsb_stuck",
         "data_sign_stuck", "data_zero", "dc_fs", "envelope_max_ratio", "envelope_min_ratio",
         "frames", "glitch_phase_pi", "high_minus_ref_db", "latency_confidence",
         "latency_frames", "latency_ms", "low_minus_ref_db", "mic_stuck", "noise_dbfs",
         "noise_rms", "other_slot_floating", "other_slot_mean_abs", "ref_dbfs", "rms_dbfs",
         "slot_floating", "slot_mean_abs", "slot_ratio", "snr_db", "thd_floor_pct", "thd_pct",
         "tone_dbfs", "tone_detect_db", "tone_hz")
FLOATING_MEAN_ABS = 8192  # -12 dBFS
FLOATING_SMOOTHNESS = 1.1  # random bits 1.33; a driven slot's tones 0.2-1.2, weighted < 0.8


def dbfs(amplitude):
    """Sine peak amplitude (int16 units) in dBFS: a full-scale sine is 0 dBFS (AES17)."""
    if amplitude <= 0:
        return NO_LEVEL_DBFS
    return max(NO_LEVEL_DBFS, 20 * math.log(amplitude / 32768.0) / math.log(10))


def _floating(half_diff_sum, abs_sum, frames):
    """Random bits on a slot: near full scale (mean |x| above FLOATING_MEAN_ABS; random
    16-bit words average 16384, a mic that loud would be clipping) and white (mean |dx| /
    mean |x| above FLOATING_SMOOTHNESS; the kernel sums |dx| / 2)."""
    return bool(frames) and abs_sum > FLOATING_MEAN_ABS * frames and \
        2.0 * half_diff_sum > FLOATING_SMOOTHNESS * abs_sum


def _popcount(v):
    n = 0
    while v:
        n += v & 1
        v >>= 1
    return n


class Analyzer:
    def __init__(self, plan, kern):
        self.plan = plan
        self.kern = kern
        self.out = array("i", [0] * 6)

    # -- kernel wrappers -----------------------------------------------------------
    def _rms_mean(self, cap, start, n):
        o = self.out
        self.kern.level_stats(cap, start, n, o)
        total_sq = o[kernels.ST_SQ_HI] * 1073741824.0 + o[kernels.ST_SQ_LO]
        mean = o[kernels.ST_SUM] / n
        var = total_sq / n - mean * mean
        return math.sqrt(var if var > 0 else 0.0), mean, o[kernels.ST_CLIP]

    def _tone(self, cap, start, n, inc):
        """(amplitude in int16 units, phase in radians) of the tone at inc."""
        o = self.out
        self.kern.demod(cap, start, n, inc, o)
        i_part = o[0]
        q_part = o[1]
        # Hann coherent gain is 1/2 and demod yields half the amplitude: A = 4|IQ|/n
        # (the kernel's sums carry a fixed gain, DEMOD_GAIN)
        scale = 4.0 / (n * kernels.DEMOD_GAIN)
        return scale * math.sqrt(i_part * i_part + q_part * q_part), math.atan2(-q_part, i_part)

    def _peak(self, cap, start, nlags):
        """Sub-sample position of the strongest burst correlation in [start, start+nlags)."""
        o = self.out
        p = self.plan
        self.kern.xcorr_max(cap, start, nlags, p.burst_template, P.BURST_FRAMES, o)
        best = o[0]
        lag = o[1]
        if 0 < lag < nlags - 1:
            ym = self._corr_at(cap, start + lag - 1)
            yp = self._corr_at(cap, start + lag + 1)
            den = ym - 2 * best + yp
            frac = 0.5 * (ym - yp) / den if den != 0 else 0.0
        else:
            frac = 0.0
        return start + lag + frac, best

    def _corr_at(self, cap, pos):
        o = self.out
        self.kern.xcorr_max(cap, pos, 1, self.plan.burst_template, P.BURST_FRAMES, o)
        return o[0]

    # -- the analysis --------------------------------------------------------------
    def analyze(self, cap, stats, frames, search=None, origin=None):
        """Measurements dict. frames: captured frames in cap. origin: the TX frame at
        capture index 0 for zero acoustic latency (default: a device capture with no
        skew, plan.origin()). search: (first, last) capture index range for the first
        burst; default: the device's acoustic latency window. latency_* measure from
        origin: the acoustic latency, the DMA's share already taken out."""
        p = self.plan
        if origin is None:
            origin = p.origin()
        m = dict.fromkeys(_KEYS)  # sized once: grown key by key, its table was reallocated
        m["frames"] = frames  # mid-self-test and needed a fresh block each time
        self._data_checks(stats, m)
        rms, mean, clips = self._rms_mean(cap, 0, frames)
        m["dc_fs"] = mean / 32768.0
        m["clipped_samples"] = clips
        m["rms_dbfs"] = dbfs(rms * 1.4142135)

        # First burst: expected at capture index burst_start - origin + latency.
        expect0 = p.burst_start - origin
        body = p.tx_end - p.burst_start + P.BURST_FRAMES
        if search is None:
            search = (expect0 - SEARCH_EARLY, expect0 + p.latency_max)
        lo = max(search[0], P.NOISE_FRAMES)
        hi = min(search[1], frames - body)
        m["burst_found"] = False
        if hi <= lo or m["mic_stuck"]:
            return m
        o = self.out
        self.kern.xcorr_max(cap, lo, hi - lo + 1, p.burst_template, P.BURST_FRAMES, o)
        peak = o[0]
        if peak <= 0:
            return m
        self.kern.xcorr_first(cap, lo, hi - lo + 1, p.burst_template, P.BURST_FRAMES,
                              peak // 2, o)
        lag = o[0]
        if lag < 0:
            return m
        # Refine exactly as the later bursts are located, so spacings compare like with like.
        pos0, y0 = self._peak(cap, max(lo, lo + lag - 8), 17)
        first = int(pos0 + 0.5)
        e_x = self._energy(cap, first, P.BURST_FRAMES)
        conf = 0.0
        if e_x > 0:
            conf = y0 * 32768.0 / math.sqrt(p.burst_energy * e_x)
        m["burst_found"] = True
        m["latency_frames"] = pos0 - expect0
        m["latency_ms"] = m["latency_frames"] * 1000.0 / p.rate
        m["latency_confidence"] = min(1.0, max(0.0, conf))

        # Noise floor: the 1024 frames just before the first burst arrives (TX silent).
        nstart = first - P.NOISE_FRAMES
        noise_rms, _, _ = self._rms_mean(cap, nstart, P.NOISE_FRAMES)
        m["noise_rms"] = noise_rms
        m["noise_dbfs"] = dbfs(noise_rms * 1.4142135)

        # Burst spacing: each later burst within +-8 frames of where it should be.
        positions = [pos0]
        peaks = [y0]
        for k in range(1, P.BURST_COUNT):
            pos, val = self._peak(cap, first + k * P.BURST_SPACING - 8, 17)
            positions.append(pos)
            peaks.append(val)
        errors = []
        for k in range(1, P.BURST_COUNT):
            errors.append(positions[k] - positions[k - 1] - P.BURST_SPACING)
        m["burst_spacing_errors"] = [round(e, 2) for e in errors]
        m["burst_spacing_error_max"] = max(abs(e) for e in errors)
        m["bursts_missing"] = sum(1 for v in peaks[1:] if v < y0 // 3)

        # Tones, anchored on the first burst.
        shift = first - expect0
        levels = []
        n = P.TONE_WINDOW
        for _f, tx_start, inc in p.tones:
            w0 = tx_start - origin + P.TONE_GUARD + shift
            amp, _ = self._tone(cap, w0, n, inc)
            levels.append(dbfs(amp))
        m["tone_hz"] = list(P.TONES)
        m["tone_dbfs"] = [round(v, 2) for v in levels]
        ref = levels[P.REF_TONE]
        m["ref_dbfs"] = ref
        m["snr_db"] = ref - m["noise_dbfs"]
        # Tone detection compares with the noise inside the demodulator's bandwidth: white
        # noise of rms s gives an amplitude estimate of s * sqrt(6 / n) (Hann window).
        bin_noise = noise_rms * math.sqrt(6.0 / n)
        m["tone_detect_db"] = ref - dbfs(bin_noise) if bin_noise > 0 else 140.0
        m["low_minus_ref_db"] = levels[0] - ref
        m["high_minus_ref_db"] = levels[-1] - ref

        # THD on the reference tone, with the noise's share of the harmonic bins.
        f_ref, tx_ref, inc_ref = p.tones[P.REF_TONE]
        w_ref = tx_ref - origin + P.TONE_GUARD + shift
        a1, _ = self._tone(cap, w_ref, n, inc_ref)
        harm_sq = 0.0
        for h in p.harmonics:
            ah, _ = self._tone(cap, w_ref, n, kernels.phase_inc(h * f_ref, p.rate))
            harm_sq += ah * ah
        m["thd_pct"] = 100.0 * math.sqrt(harm_sq) / a1 if a1 > 0 else 0.0
        floor = math.sqrt(len(p.harmonics)) * noise_rms * math.sqrt(6.0 / n)
        m["thd_floor_pct"] = 100.0 * floor / a1 if a1 > 0 else 100.0

        # Glitches: phase continuity and envelope over 4 sub-windows of the reference.
        sub = n // P.GLITCH_SUBWINDOWS
        step = 2 * math.pi * f_ref * sub / p.rate
        amps = []
        phases = []
        for k in range(P.GLITCH_SUBWINDOWS):
            a, ph = self._tone(cap, w_ref + k * sub, sub, inc_ref)
            amps.append(a)
            phases.append(ph)
        worst = 0.0
        for k in range(1, len(phases)):
            d = phases[k] - phases[k - 1] - step
            d = (d + math.pi) % (2 * math.pi) - math.pi
            worst = max(worst, abs(d))
        m["glitch_phase_pi"] = worst / math.pi
        med = sorted(amps)[len(amps) // 2]
        m["envelope_min_ratio"] = min(amps) / med if med > 0 else 0.0
        m["envelope_max_ratio"] = max(amps) / med if med > 0 else 0.0
        return m

    def _energy(self, cap, start, n):
        o = self.out
        self.kern.level_stats(cap, start, n, o)
        return o[kernels.ST_SQ_HI] * 1073741824.0 + o[kernels.ST_SQ_LO]

    def _data_checks(self, stats, m):
        p = self.plan
        frames = stats[kernels.DI_FRAMES]
        orm = stats[kernels.DI_OR] & 0xFFFFFF
        andm = stats[kernels.DI_AND] & 0xFFFFFF
        toggled = orm ^ andm
        lsb = 3 << (24 - p.data_bits)  # the mic's two lowest data bits
        m["data_zero"] = orm == 0
        m["data_constant"] = toggled == 0
        m["data_lsb_stuck"] = (toggled & lsb) == 0
        m["data_sign_stuck"] = (toggled & 0x800000) == 0
        m["data_bits_toggling"] = _popcount(toggled)
        m["mic_stuck"] = (m["data_zero"] or m["data_constant"] or m["data_lsb_stuck"]
                          or m["data_sign_stuck"])
        act = stats[kernels.DI_ABS_ACTIVE] / frames if frames else 0.0
        oth = stats[kernels.DI_ABS_OTHER] / frames if frames else 0.0
        m["slot_mean_abs"] = act
        m["other_slot_mean_abs"] = oth
        m["slot_ratio"] = oth / act if act > 0 else (0.0 if oth == 0 else 1e9)
        # An undriven slot of a mic without a pull-down on SD floats: random bits, white
        # (mean |dx| ~ 1.33 mean |x|), or the last bit held (|x| <= 1). Audio the mic
        # drives is band-limited: mean |dx| well below mean |x|.
        m["slot_floating"] = _floating(stats[kernels.DI_DIFF_ACTIVE],
                                       stats[kernels.DI_ABS_ACTIVE], frames)
        m["other_slot_floating"] = _floating(stats[kernels.DI_DIFF_OTHER],
                                             stats[kernels.DI_ABS_OTHER], frames)

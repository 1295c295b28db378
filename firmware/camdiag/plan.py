"""The loopback test plan: what the speaker plays, sample by sample, and where to look."""

# (Notes as comments, not a docstring: from .py sources the lexer would hold the whole
# text in one buffer while compiling on the board.)
# TX timeline (frames at the board's rate; at 16 kHz 1 frame = 62.5 us):
#
#   silence   TX is silent while the mic warms up and the TX DMA ring fills.
#   bursts    4 bursts of a 64-frame chirp, 320 frames apart (80 ms). The first burst gives
#             the latency; each spacing must come back within +-1 frame, so 3 spacings
#             catch a dropped or inserted sample anywhere in the train. 320 frames (20 ms)
#             is longer than a camera's acoustic ring-down, so bursts do not overlap.
#   tones     3 x (256 guard + 512 window) frames (3 x 48 ms): 500 Hz (low band),
#             1031 Hz (reference level, THD and glitches: 1031 divides no block size and its
#             harmonics up to the 5th stay under 8 kHz), 3150 Hz (high band: muffled).
#             The 512-frame Hann window resolves 31 Hz and keeps the noise in a tone's bin
#             25 dB below the broadband floor (at SNR 20 dB the THD noise floor is ~1.5 %,
#             a third of the 5 % limit); the guard (16 ms) lets the speaker settle.
#   tail      silence covering the largest latency, so the last window is captured.
#
# DMA latency (ports/esp32/machine_i2s.c, ESP-IDF esp_driver_i2s/i2s_common.c): TX gets
# max(2, ibuf // 512) buffers of 256 frames. At enable the ring plays zeros; the first
# write() blocks until buffer 0 has played, and what it writes plays when the ring comes
# round to buffer 0 again: TX frame t leaves the amp `dma_lead` = buffers x 256 frames after
# TX was enabled (128 ms for ibuf=4096 at 16 kHz). RX frames count from the RX enable, so TX
# frame t is heard at RX frame t + dma_lead - skew + acoustic latency, where skew = RX enable
# - TX enable (measured by the capture, at most SKEW_MAX either way).
#
# RX frames [0, warmup) are discarded: at least the mic's warm-up (INMP441 needs 2**18 SCK
# cycles, 262 ms at 16 kHz x 64 bit clocks), and later when the DMA lead is longer. The
# bursts are scheduled dma_lead earlier in TX so that they arrive just after NOISE_FRAMES of
# captured silence (the noise floor): the DMA lead costs the self-test SKEW_MAX of audio, not
# the whole ring. Capture index c holds TX frame c + origin(skew) - acoustic latency.
#
# At 16 kHz with defaults (tx ibuf 4096): 3392 frames of silence + 1280 + 2304, a tail of
# 2048 + 64 + 768 + 64 -> 9984 frames (whole blocks) = 624 ms, 5120 frames (10 KB) kept;
# with tx ibuf 16384 (512 ms of ring) 800 ms.


import math

from camdiag import kernels

NOISE_FRAMES = 512
BURST_COUNT = 4
BURST_SPACING = 320
BURST_FRAMES = 64
BURST_F0 = 1000
BURST_F1 = 5000
TONE_GUARD = 256
TONE_WINDOW = 512
TONES = (500, 1031, 3150)
REF_TONE = 1  # index of the reference tone in TONES
GLITCH_SUBWINDOWS = 4  # the reference window is also cut in 4 for phase continuity
DMA_BUF_FRAMES = 256  # ports/esp32/machine_i2s.c DMA_BUF_LEN_IN_I2S_FRAMES
TX_FRAME_BYTES = 2  # the capture plays 16-bit mono
SKEW_MAX = 64  # frames the two I2S enables may be apart (4 ms at 16 kHz; measured: < 2 ms)
MAX_CAPTURE = 65535  # accumulator bound in kernels (sum |x| over the capture < 2**31)


class PlanError(ValueError):
    pass


def dma_buffers(ibuf, frame_bytes):
    """DMA buffers the ESP32 port gives a channel: machine_i2s.c get_dma_buf_count()
    (MAX(.., 2) since v1.24; v1.23 has no floor, the profile's minimum keeps it >= 2)."""
    return max(2, ibuf // (DMA_BUF_FRAMES * frame_bytes))


class Plan:
    def __init__(self, profile):
        audio = profile["audio"]
        limits = profile["limits"]
        self.rate = audio["rate"]
        self.block = audio["block_frames"]
        self.amplitude_q15 = int(audio["tone_amplitude"] * 32767)
        self.slot = 1 if audio["rx"]["slot"] == "right" else 0
        self.shift = audio["rx"]["shift"]
        self.data_bits = {"sph0645": 18}.get(audio["rx"]["mic"], 24)
        b = self.block
        self.tx_dma_buffers = dma_buffers(audio["tx"]["ibuf"], TX_FRAME_BYTES)
        self.rx_dma_buffers = dma_buffers(audio["rx"]["ibuf"], 8)
        self.dma_lead = self.tx_dma_buffers * DMA_BUF_FRAMES
        self.rx_first = audio.get("start") == "rx_first"
        warm = (limits["warmup_ms"] * self.rate + 999) // 1000
        warm = ((warm + b - 1) // b) * b
        self.latency_max = (limits["latency_max_ms"] * self.rate + 999) // 1000
        # The first burst arrives NOISE_FRAMES + SKEW_MAX after the capture starts (at
        # zero skew); with a DMA lead longer than the warm-up the capture starts later.
        ahead = NOISE_FRAMES + SKEW_MAX
        self.burst_start = max(0, warm + ahead - self.dma_lead)
        self.warmup = max(warm, ((self.burst_start + self.dma_lead - ahead) // b) * b)
        self.tone_start = self.burst_start + BURST_COUNT * BURST_SPACING
        seg = TONE_GUARD + TONE_WINDOW
        self.tx_end = self.tone_start + len(TONES) * seg
        total = self.tx_end + self.dma_lead + SKEW_MAX + self.latency_max + BURST_FRAMES
        self.total = ((total + b - 1) // b) * b
        self.capture_frames = self.total - self.warmup
        if self.capture_frames > MAX_CAPTURE:
            raise PlanError("plan too long: %d frames captured (max %d)"
                            % (self.capture_frames, MAX_CAPTURE))
        nyquist = self.rate // 2
        self.tones = []
        for i, f in enumerate(TONES):
            if f >= nyquist:
                raise PlanError("tone %d Hz is above Nyquist at %d Hz" % (f, self.rate))
            start = self.tone_start + i * seg
            self.tones.append((f, start, kernels.phase_inc(f, self.rate)))
        # Harmonics measured for THD: 2nd..5th, those below Nyquist - 100 Hz.
        ref = TONES[REF_TONE]
        self.harmonics = [h for h in range(2, 6) if h * ref < nyquist - 100]
        self.burst_template = self._chirp()
        self.burst_energy = sum(
            kernels.get16(self.burst_template, k) ** 2 for k in range(BURST_FRAMES))
        # Segments: (start, end, kind, arg): kind 0 silence, 1 tone (arg: index), 2 bursts.
        self.segments = [(0, self.burst_start, 0, 0),
                         (self.burst_start, self.tone_start, 2, 0)]
        for i, (_f, start, _inc) in enumerate(self.tones):
            self.segments.append((start, start + seg, 1, i))
        self.segments.append((self.tx_end, self.total, 0, 0))

    def origin(self, skew=0):
        """The TX frame that capture index 0 holds at zero acoustic latency, when RX was
        enabled `skew` frames after TX."""
        return self.warmup - self.dma_lead + skew

    def _chirp(self):
        # Linear chirp BURST_F0 -> BURST_F1 under a Hann window: its autocorrelation has a
        # single sharp peak, so noise cannot move the latency by a carrier period.
        buf = kernels.samples(BURST_FRAMES)
        n = BURST_FRAMES
        T = n / self.rate
        k_rate = (BURST_F1 - BURST_F0) / T
        for k in range(n):
            t = k / self.rate
            w = 0.5 - 0.5 * math.cos(2 * math.pi * k / (n - 1))
            v = math.sin(2 * math.pi * (BURST_F0 * t + 0.5 * k_rate * t * t))
            kernels.put16(buf, k, int(self.amplitude_q15 * w * v))
        return buf

    def stimulus(self, kern):
        """The whole TX signal in one int16 buffer (host tools and benchmarks; the board
        synthesizes it block by block instead)."""
        from array import array

        out = kernels.samples(self.total)
        block = kernels.samples(self.block)
        phase = array("i", [0])
        for t in range(0, self.total, self.block):
            self.fill_tx(kern, block, t, self.block, phase)
            out[2 * t:2 * (t + self.block)] = block
        return out

    @property
    def audio_ms(self):
        return self.total * 1000 // self.rate

    def describe(self):
        return {
            "rate": self.rate,
            "block_frames": self.block,
            "audio_ms": self.audio_ms,
            "warmup_ms": self.warmup * 1000 // self.rate,
            "tx_dma_buffers": self.tx_dma_buffers,
            "rx_dma_buffers": self.rx_dma_buffers,
            "tones_hz": list(TONES),
            "bursts": BURST_COUNT,
            "burst_spacing": BURST_SPACING,
        }

    def fill_tx(self, kern, buf, tx_index, n, phase_state):
        """Synthesize TX frames [tx_index, tx_index + n) into buf (int16 LE). No allocation.

        phase_state: array('i', [phase]) kept across blocks, reset at each tone's start.
        """
        end = tx_index + n
        for seg in self.segments:
            s0 = seg[0]
            s1 = seg[1]
            if s1 <= tx_index or s0 >= end:
                continue
            a = s0 if s0 > tx_index else tx_index
            z = s1 if s1 < end else end
            kind = seg[2]
            if kind == 0:
                kern.fill_zero(buf, a - tx_index, z - a)
            elif kind == 1:
                if a == s0:
                    phase_state[0] = 0
                kern.synth_tone(buf, a - tx_index, z - a, phase_state,
                                self.tones[seg[3]][2], self.amplitude_q15)
            else:
                kern.fill_zero(buf, a - tx_index, z - a)
                # copy the parts of bursts that fall inside [a, z)
                for i in range(BURST_COUNT):
                    b0 = s0 + i * BURST_SPACING
                    b1 = b0 + BURST_FRAMES
                    if b1 <= a or b0 >= z:
                        continue
                    c0 = b0 if b0 > a else a
                    c1 = b1 if b1 < z else z
                    kern.copy_samples(buf, c0 - tx_index, self.burst_template, c0 - b0, c1 - c0)

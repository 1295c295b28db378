# Acoustic model of the virtual board: speaker (I2S TX) -> air -> mic (I2S RX).
#
# TX and RX share one sample clock (as on the ESP32-S3, both derived from the same APLL),
# but start at different moments: the RX stream begins `start_offset` samples after TX.
# What TX plays reaches RX `delay` samples later, through a small speaker's band-pass
# (2nd-order high-pass at 400 Hz, 1st-order low-pass at 5 kHz), scaled by the
# speaker-to-mic coupling, with room noise and the mic's self-noise (-87 dBFS, INMP441).
# RX words are 24-bit data left-justified in the 32-bit slot the mic drives.
# An RX read before TX has played returns the room's noise, as on a board; TX underrun
# plays zeros. Faults cut or corrupt one stage each (FAULTS below); several may combine.
#
# The per-sample kernel is viper and allocation-free. It runs only on the 64-bit unix
# port, so its fixed-point products use 64-bit integers without further bounding.
import math
import time
import array
import micropython

FAULTS = (
    "speaker_silent",  # amp dead or speaker wire cut: coupling 0
    "mic_dead",  # mic data line stuck: zeros, a constant, or frozen bits
    "i2s_fault",  # RX never delivers (no clock / DMA stall): readinto times out
    "wrong_slot",  # mic's L/R pin on the other level: data in the other slot
    "muffled",  # blocked or dirty sound port: extra 2-pole low-pass at 900 Hz
    "distorted",  # loose or rattling speaker, overdrive: cubic soft clip
    "noisy",  # loud room / electrical noise: SNR about 6 dB
    "dropouts",  # RX DMA overruns: blocks of samples lost or repeated
    "dc",  # mic DC offset of 0.05 FS
    "i2s_hang",  # RX DMA stalls with no timeout: readinto never returns (the watchdog's case)
)

RING = 4096  # TX history kept for the air path (> delay + TX lead)
_MASK = RING - 1
MIC_START_FRAMES = 4096  # INMP441: 2**18 SCK cycles of zeros at 16 kHz x 64 bits

# Parameter and state slots in the int arrays shared with the viper kernel.
_P_B0, _P_B1, _P_B2, _P_A1, _P_A2, _P_LPF, _P_MUF, _P_COUPLE = 0, 1, 2, 3, 4, 5, 6, 7
_P_NOISE, _P_SELF, _P_DC, _P_DIST, _P_SLOT, _P_DELAY = 8, 9, 10, 11, 12, 13
_P_STUCK, _P_STUCKVAL = 14, 15
_S_X1, _S_X2, _S_H1, _S_H2, _S_L, _S_M1, _S_M2, _S_RNG = 0, 1, 2, 3, 4, 5, 6, 7
_S_TXCOUNT, _S_RXSRC, _S_MICAGE = 8, 9, 10


@micropython.viper
def _rx_kernel(out, nframes: int, ring, par, st):
    # out: bytearray of nframes stereo 32-bit frames; ring: int16 TX history
    o = ptr32(out)
    # ptr32 loads zero-extend on the 64-bit unix port: (w ^ sb) - sb sign-extends there
    # and is the identity in 32-bit arithmetic.
    one = 1
    sb = one << 31
    m32 = (one << 32) - 1
    r = ptr16(ring)
    p = ptr32(par)
    s = ptr32(st)
    b0 = ((p[0] ^ sb) - sb)
    b1 = ((p[1] ^ sb) - sb)
    b2 = ((p[2] ^ sb) - sb)
    a1 = ((p[3] ^ sb) - sb)
    a2 = ((p[4] ^ sb) - sb)
    lpf = p[5]
    muf = p[6]
    couple = p[7]
    noise = p[8]
    selfn = p[9]
    dc = ((p[10] ^ sb) - sb)
    dist = p[11]
    slot = p[12]
    delay = p[13]
    stuck = p[14]
    stuckval = p[15]
    x1 = ((s[0] ^ sb) - sb)
    x2 = ((s[1] ^ sb) - sb)
    h1 = ((s[2] ^ sb) - sb)
    h2 = ((s[3] ^ sb) - sb)
    lp = ((s[4] ^ sb) - sb)
    m1 = ((s[5] ^ sb) - sb)
    m2 = ((s[6] ^ sb) - sb)
    rng = s[7]
    txcount = s[8]
    src = ((s[9] ^ sb) - sb)
    age = s[10]
    i = 0
    while i < nframes:
        k = src - delay
        x = 0
        if k >= 0 and k < txcount and k >= txcount - 4096:
            x = r[k & 4095]
            if x & 0x8000:
                x -= 0x10000
        x = (x * couple) >> 6  # 16-bit * Q14 coupling -> 24-bit domain (<<8 >>14)
        h = (b0 * x + b1 * x1 + b2 * x2 - a1 * h1 - a2 * h2) >> 14
        x2 = x1
        x1 = x
        h2 = h1
        h1 = h
        lp = lp + (((h - lp) * lpf) >> 14)
        y = lp
        if muf:
            m1 = m1 + (((y - m1) * muf) >> 14)
            m2 = m2 + (((m1 - m2) * muf) >> 14)
            y = m2
        if dist:
            # overdriven amp / rattling speaker: the waveform clips at +-dist
            if y > dist:
                y = dist
            elif y < -dist:
                y = -dist
        # noise: Irwin-Hall sum of 4 uniforms from xorshift32, std ~ 37837
        g = 0
        j = 0
        while j < 4:
            rng ^= (rng << 13) & m32
            rng ^= rng >> 17
            rng ^= (rng << 5) & m32
            g += (rng & 0xFFFF) - 0x8000
            j += 1
        y += (g * noise) >> 16
        rng ^= (rng << 13) & m32
        rng ^= rng >> 17
        rng ^= (rng << 5) & m32
        y += ((((rng & 0xFFFF) - 0x8000) * 2) * selfn) >> 16
        y += dc
        if age < 4096:
            y = 0  # mic start-up: no data for 2**18 clocks
        if y > 8388607:
            y = 8388607
        if y < -8388608:
            y = -8388608
        word = (y << 8) & m32
        if stuck == 1:
            word = 0
        elif stuck == 2:
            word = stuckval
        elif stuck == 3:
            word = (word & (m32 ^ 0xFFFFFF)) | stuckval
        if slot:
            o[2 * i] = 0
            o[2 * i + 1] = word
        else:
            o[2 * i] = word
            o[2 * i + 1] = 0
        src += 1
        age += 1
        i += 1
    s[0] = x1
    s[1] = x2
    s[2] = h1
    s[3] = h2
    s[4] = lp
    s[5] = m1
    s[6] = m2
    s[7] = rng
    s[9] = src
    s[10] = age


@micropython.viper
def _tx_copy(ring, buf, nframes: int, start: int):
    r = ptr16(ring)
    b = ptr16(buf)
    i = 0
    while i < nframes:
        r[(start + i) & 4095] = b[i]
        i += 1


def _q14(v):
    return int(round(v * 16384))


class Air:
    """The shared speaker-mic path. One per virtual board."""

    def __init__(self, opts, rate):
        self.rate = rate
        seed = int(opts.get("seed", 1))
        self.faults = set(f for f in str(opts.get("fault", "")).split(",") if f)
        self.realtime = bool(int(opts.get("realtime", 1)))
        snr = float(opts.get("snr", 40))
        if "noisy" in self.faults:
            snr = 6.0
        self.ring = array.array("h", bytes(2 * RING))
        self.par = array.array("i", [0] * 16)
        self.st = array.array("i", [0] * 12)
        self.rng_seed = (seed * 2654435761 + 12345) & 0x7FFFFFFF or 1
        # Where the streams start on the shared clock, and the acoustic + DMA delay.
        self.start_offset = (seed * 7919) % 48  # RX starts this much after TX
        self.delay = 150 + (seed * 104729) % 90  # ~9-15 ms at 16 kHz
        self.coupling_db = -6.0  # 0 dBFS TX -> about -6 dBFS at the mic, in band
        self.snr = float(opts.get("snr", 40))
        self.tx_count = 0
        self.rx_count = 0
        self.t0 = None
        self.seed = seed
        self.dropout_at = self._dropouts() if "dropouts" in self.faults else []
        self._setup(snr)

    def _dropouts(self):
        # A CPU-starved RX DMA: every ~700 frames a run of samples is lost or repeated.
        seed = self.seed
        out = []
        at = MIC_START_FRAMES + (seed * 131) % 700
        k = 0
        while at < 40000:
            n = 9 + (seed + k) % 23
            out.append((at, n if k % 2 == 0 else -n))
            at += 650 + (seed * 17 + k * 53) % 120
            k += 1
        return out

    def set_faults(self, faults):
        """Faults changed while the board runs (a rig cutting the speaker or mic wire): they
        take effect at the next I2S start, as a wire cut between two self-tests would."""
        self.faults = set(faults)
        self.dropout_at = self._dropouts() if "dropouts" in self.faults else []
        self._setup(6.0 if "noisy" in self.faults else self.snr)

    def set_rate(self, rate):
        self.rate = rate
        self._setup(6.0 if "noisy" in self.faults else self.snr)

    def start_tx(self):
        self.tx_count = 0
        self.st[_S_TXCOUNT] = 0
        for i in range(RING):
            self.ring[i] = 0
        self.t0 = None

    def start_rx(self):
        self.rx_count = 0
        for i in range(7):
            self.st[i] = 0  # filter states
        self.st[_S_RXSRC] = -self.start_offset
        self.t0 = None

    def _setup(self, snr_db):
        p = self.par
        w0 = 2 * math.pi * 400 / self.rate
        alpha = math.sin(w0) / (2 * 0.707)
        cs = math.cos(w0)
        a0 = 1 + alpha
        p[_P_B0] = _q14(((1 + cs) / 2) / a0)
        p[_P_B1] = _q14(-(1 + cs) / a0)
        p[_P_B2] = _q14(((1 + cs) / 2) / a0)
        p[_P_A1] = _q14((-2 * cs) / a0)
        p[_P_A2] = _q14((1 - alpha) / a0)
        p[_P_LPF] = _q14(1 - math.exp(-2 * math.pi * 5000 / self.rate))
        muffle = 1 - math.exp(-2 * math.pi * 900 / self.rate)
        p[_P_MUF] = _q14(muffle) if "muffled" in self.faults else 0
        couple = 0.0 if "speaker_silent" in self.faults else 10 ** (self.coupling_db / 20)
        p[_P_COUPLE] = _q14(couple)
        # SNR is set against a 0.5 FS reference tone heard at the coupling gain.
        tone_rms = 0.5 / math.sqrt(2) * 10 ** (self.coupling_db / 20) * 8388608
        noise_rms = tone_rms / 10 ** (snr_db / 20)
        p[_P_NOISE] = int(noise_rms * 65536 / 37837)
        self_rms = 8388608 * 10 ** (-87 / 20)  # INMP441 self-noise
        p[_P_SELF] = int(self_rms * 65536 / 18918)
        p[_P_DC] = int(0.05 * 8388608) if "dc" in self.faults else 0
        p[_P_DIST] = int(0.12 * 8388608) if "distorted" in self.faults else 0
        p[_P_SLOT] = 0
        p[_P_DELAY] = self.delay
        p[_P_STUCK] = 0
        if "mic_dead" in self.faults:
            kind = self.rng_seed % 3
            p[_P_STUCK] = kind + 1
            p[_P_STUCKVAL] = (0xFFFFFF00, 0x00123400, 0x00000000)[kind]
        self.st[_S_RNG] = self.rng_seed
        self.st[_S_RXSRC] = -self.start_offset  # RX position on the TX clock

    def set_slot(self, slot_index):
        if "wrong_slot" in self.faults:
            slot_index ^= 1
        self.par[_P_SLOT] = slot_index

    # -- pacing: the shared sample clock follows wall time unless realtime=0 ---------
    def _wait_until(self, frame):
        if not self.realtime:
            return
        if self.t0 is None:
            self.t0 = time.ticks_us()
        due = (frame * 1000000) // self.rate
        ahead = due - time.ticks_diff(time.ticks_us(), self.t0)
        if ahead > 0:
            time.sleep_us(ahead)

    def tx_write(self, buf, nframes, lead_frames):
        # TX may run `lead_frames` (its DMA buffer) ahead of RX; beyond that it blocks.
        _tx_copy(self.ring, buf, nframes, self.tx_count)
        self.tx_count += nframes
        self.st[_S_TXCOUNT] = self.tx_count
        self._wait_until(self.tx_count - lead_frames)

    def rx_read(self, buf, nframes):
        if "i2s_hang" in self.faults and self.rx_count >= MIC_START_FRAMES // 2:
            # Blocked in C on a real board: no Ctrl-C, no scheduler, no timer callbacks.
            while True:
                time.sleep_ms(10)
        if "i2s_fault" in self.faults and self.rx_count >= MIC_START_FRAMES // 2:
            time.sleep_ms(200 if self.realtime else 5)
            raise OSError(116)  # ETIMEDOUT: no data from the RX DMA
        for at, n in self.dropout_at:
            if self.rx_count <= at < self.rx_count + nframes:
                self.st[_S_RXSRC] = self.st[_S_RXSRC] + n
        self.st[_S_MICAGE] = self.rx_count
        _rx_kernel(buf, nframes, self.ring, self.par, self.st)
        self.rx_count += nframes
        self._wait_until(self.rx_count + self.start_offset)

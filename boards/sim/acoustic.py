# Acoustic model of the virtual board: speaker (I2S TX) -> air -> mic (I2S RX).
#
# TX and RX share one sample clock (as on the ESP32-S3, both derived from the same PLL),
# and each stream starts when its I2S object is constructed (the constructor ends in
# i2s_channel_enable(), ports/esp32/machine_i2s.c), so their offset is what the firmware's
# own timing makes it. The DMA rings are modelled as the port builds them (DmaTx, DmaRx
# below, from machine_i2s.c and ESP-IDF esp_driver_i2s/i2s_common.c).
# What the amp plays reaches RX `delay` samples later (acoustic path + mic filter, 0.5-3.5
# ms), through a small speaker's band-pass (2nd-order high-pass at 400 Hz, 1st-order
# low-pass at 5 kHz), scaled by the speaker-to-mic coupling, with room noise and the mic's
# self-noise (-87 dBFS, INMP441). RX words are 24-bit data left-justified in the 32-bit
# slot the mic drives; the bits it does not drive float (sd_float=hold|random|zero: no
# pull-down on SD holds the last bit or picks up random bits; zero = a pull-down fitted).
# An RX read before TX has played returns the room's noise, as on a board; TX underrun
# plays zeros. Faults cut or corrupt one stage each (FAULTS below); several may combine.
#
# The per-sample kernel is viper and allocation-free, and its arithmetic stays within 32
# bits: the same model runs on the 64-bit unix port (the virtual board) and on the ESP32
# port itself (the QEMU board, boards/esp32-qemu/acoustic_i2s.py), where viper integers
# are 32-bit. Products of a Q14 coefficient and a 24-bit sample are split in two halves
# (_mulq14 below, inlined); shifts of possibly negative words are masked; times are
# microseconds since the current stream pair started, so they stay small ints on the ESP32
# (2**30) and the model allocates nothing while it runs.
import math
import time
import array
import micropython

FAULTS = (
    "speaker_silent",  # amp dead or speaker wire cut: coupling 0
    "mic_dead",  # mic data line stuck: zeros, a constant, or frozen bits
    "mic_unwired",  # SD not connected: the input floats, random bits in both slots
    "i2s_fault",  # RX never delivers (no clock / DMA stall): readinto times out
    "wrong_slot",  # mic's L/R pin on the other level: data in the other slot
    "muffled",  # blocked or dirty sound port: extra 2-pole low-pass at 900 Hz
    "distorted",  # loose or rattling speaker, overdrive: cubic soft clip
    "noisy",  # loud room / electrical noise: SNR about 6 dB
    "dropouts",  # RX DMA overruns: blocks of samples lost or repeated
    "dc",  # mic DC offset of 0.05 FS
    "i2s_hang",  # RX DMA stalls with no timeout: readinto never returns (the watchdog's case)
)

RING = 4096  # amp output history for the air path (> delay + the RX ring's lag, 8 x 256)
DMA_BUF_FRAMES = 256  # ports/esp32/machine_i2s.c DMA_BUF_LEN_IN_I2S_FRAMES
DMA_POOL_BYTES = 16384  # the largest TX ibuf a board profile allows
MIC_START_FRAMES = 4096  # INMP441: 2**18 SCK cycles of zeros at 16 kHz x 64 bits

# Parameter and state slots in the int arrays shared with the viper kernel.
_P_B0, _P_B1, _P_B2, _P_A1, _P_A2, _P_LPF, _P_MUF, _P_COUPLE = 0, 1, 2, 3, 4, 5, 6, 7
_P_NOISE, _P_SELF, _P_DC, _P_DIST, _P_SLOT, _P_DELAY = 8, 9, 10, 11, 12, 13
_P_STUCK, _P_STUCKVAL, _P_FLOAT = 14, 15, 16
_FLOAT_MODES = {"zero": 0, "random": 1, "hold": 2}
_S_X1, _S_X2, _S_H1, _S_H2, _S_L, _S_M1, _S_M2, _S_RNG = 0, 1, 2, 3, 4, 5, 6, 7
_S_TXCOUNT, _S_RXSRC, _S_MICAGE, _S_FIRST = 8, 9, 10, 11


@micropython.viper
def _rx_kernel(out, nframes: int, ring, par, st):
    # out: bytearray of nframes stereo 32-bit frames; ring: int16 TX history
    o = ptr32(out)
    # ptr32 loads zero-extend on the 64-bit unix port: (w ^ sb) - sb sign-extends there
    # and is the identity in 32-bit arithmetic. m32 is all 32 ones on both (no 1 << 32,
    # which a 32-bit shift does not give).
    one = 1
    sb = one << 31
    m32 = (sb - 1) | sb
    r = ptr16(ring)
    p = ptr32(par)
    s = ptr32(st)
    first = s[11]  # the frame of out to start at (no slice: the sim allocates nothing)
    b0 = ((p[0] ^ sb) - sb)
    b1 = ((p[1] ^ sb) - sb)
    b2 = ((p[2] ^ sb) - sb)
    a1 = ((p[3] ^ sb) - sb)
    a2 = ((p[4] ^ sb) - sb)
    lpf = p[5]
    muf = p[6]
    couple = p[7]
    noise = p[8]
    noise_hi = noise >> 8
    noise_lo = noise & 255
    selfn = p[9]
    dc = ((p[10] ^ sb) - sb)
    dist = p[11]
    slot = p[12]
    delay = p[13]
    stuck = p[14]
    stuckval = p[15]
    flt = p[16]
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
        x = (x * couple) >> 6  # 16-bit * Q14 coupling -> 24-bit domain (<<8 >>14): < 2**30
        # Q14 coefficient c times a 24-bit value v, >> 14, in 32 bits (_mulq14):
        # ((c * (v >> 9)) >> 5) + ((c * (v & 511)) >> 14); |c| < 2**15, |v >> 9| < 2**15
        h = (((b0 * (x >> 9)) >> 5) + ((b0 * (x & 511)) >> 14)
             + ((b1 * (x1 >> 9)) >> 5) + ((b1 * (x1 & 511)) >> 14)
             + ((b2 * (x2 >> 9)) >> 5) + ((b2 * (x2 & 511)) >> 14)
             - ((a1 * (h1 >> 9)) >> 5) - ((a1 * (h1 & 511)) >> 14)
             - ((a2 * (h2 >> 9)) >> 5) - ((a2 * (h2 & 511)) >> 14))
        x2 = x1
        x1 = x
        h2 = h1
        h1 = h
        d = h - lp
        lp = lp + ((lpf * (d >> 9)) >> 5) + ((lpf * (d & 511)) >> 14)
        y = lp
        if muf:
            d = y - m1
            m1 = m1 + ((muf * (d >> 9)) >> 5) + ((muf * (d & 511)) >> 14)
            d = m1 - m2
            m2 = m2 + ((muf * (d >> 9)) >> 5) + ((muf * (d & 511)) >> 14)
            y = m2
        if dist:
            # overdriven amp / rattling speaker: the waveform clips at +-dist
            if y > dist:
                y = dist
            elif y < -dist:
                y = -dist
        # noise: Irwin-Hall sum of 4 uniforms from xorshift32, std ~ 37837
        # (the right shift masked: rng may read negative where ints are 32-bit)
        g = 0
        j = 0
        while j < 4:
            rng ^= (rng << 13) & m32
            rng ^= (rng >> 17) & 0x7FFF
            rng ^= (rng << 5) & m32
            g += (rng & 0xFFFF) - 0x8000
            j += 1
        # g * noise >> 16 in two halves: |g| < 2**17, noise >> 8 < 2**13 at 0 dB SNR
        y += ((g * noise_hi) >> 8) + ((g * noise_lo) >> 16)
        rng ^= (rng << 13) & m32
        rng ^= (rng >> 17) & 0x7FFF
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
        # The mic drives 24 bits of its slot; the line floats for the rest of the frame.
        other = 0
        if flt == 1 or stuck == 4:
            rng ^= (rng << 13) & m32
            rng ^= (rng >> 17) & 0x7FFF
            rng ^= (rng << 5) & m32
            word = word | (rng & 0xFF)
            other = rng
            rng ^= (rng << 13) & m32
            rng ^= (rng >> 17) & 0x7FFF
            rng ^= (rng << 5) & m32
            if stuck == 4:  # nothing drives SD at all
                word = other ^ (rng << 8)
                other = rng
        elif flt == 2 and (word & 0x100):  # holds the last data bit
            word = word | 0xFF
            other = m32
        if slot:
            o[2 * (first + i)] = other & m32
            o[2 * (first + i) + 1] = word & m32
        else:
            o[2 * (first + i)] = word & m32
            o[2 * (first + i) + 1] = other & m32
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


class Clock:
    """The shared sample clock in microseconds. realtime: wall time. Otherwise waits are
    skipped instead of slept (the code's own running time still counts, so a stalled loop
    still overruns the RX ring), which runs the audio faster than real time."""

    def __init__(self, realtime):
        self.realtime = realtime
        self.rebase()

    def rebase(self):
        """Time 0 is now: called when a stream starts with no other running, so times stay
        small ints on the ESP32 (ticks_us wraps at 2**30 us there, about 18 minutes)."""
        self.epoch = time.ticks_us()
        self.skipped = 0

    def now(self):
        return time.ticks_diff(time.ticks_us(), self.epoch) + self.skipped

    def wait_until(self, t_us):
        ahead = t_us - self.now()
        if ahead > 0:
            if self.realtime:
                time.sleep_us(ahead)
            else:
                self.skipped += ahead


def frames_to_us(n, rate):
    """floor(n * 1e6 / rate) for n >= 0, with no product past 2**30 (a small int on the
    ESP32: the model must not allocate while it runs)."""
    q = n // rate
    u = (n - q * rate) * 1000
    a = u // rate
    return q * 1000000 + a * 1000 + ((u - a * rate) * 1000) // rate


def us_to_frames(us, rate):
    """The frames in us microseconds, rounded toward zero, with small ints only."""
    if us < 0:
        return -us_to_frames(-us, rate)
    q = us // 1000000
    r = us - q * 1000000
    ms = r // 1000
    return q * rate + (ms * rate + ((r - ms * 1000) * rate) // 1000) // 1000


def dma_buf_count(ibuf, frame_bytes):
    # machine_i2s.c get_dma_buf_count(): ibuf / (256 * frame bytes), at least 2 (v1.24+)
    return max(2, ibuf // (DMA_BUF_FRAMES * frame_bytes))


class DmaTx:
    """The TX DMA ring (ESP-IDF i2s_common.c, machine_i2s.c with auto_clear = true).

    n buffers of 256 frames played in a circle from enable; at enable all are zero. When a
    buffer has played, the ISR zeroes it (auto_clear) and puts it on a queue of n - 1 free
    buffers (dropping the oldest when full). write() takes the oldest free buffer, blocking
    until one is freed, so data written into the buffer freed at the end of slot s plays in
    slot s + n: written audio leaves the amp behind the whole ring. Data that arrives after
    its slot has begun is lost (TX underrun: that slot plays zeros)."""

    def __init__(self, clock, pool, target, free):
        # One per board, made at power-on and restarted per stream: the sim shares the
        # firmware's heap, so it allocates nothing per stream that could fragment it.
        self.clock = clock
        self.bufs = pool
        self.target = target
        self.free = free
        self.start(16000, 1024)  # every attribute exists from power-on (no dict growth later)

    def start(self, rate, ibuf):
        self.rate = rate
        pool = self.bufs
        target = self.target
        clock = self.clock
        self.n = dma_buf_count(ibuf, 2)
        if 2 * self.n * DMA_BUF_FRAMES > len(pool):
            raise OSError(12)  # ESP_ERR_NO_MEM from i2s_alloc_dma_desc
        # int16 frames; zeroed buffers, as heap_caps_calloc gives them
        for i in range(2 * self.n * DMA_BUF_FRAMES):
            pool[i] = 0
        for i in range(self.n):  # target: the slot each buffer's written data plays in
            target[i] = -1
        # free: a ring of slots that ended, oldest first; their buffer = slot % n
        self.free_head = 0
        self.free_len = 0
        self.t0 = clock.now()  # i2s_channel_enable(): the constructor's last step
        self.ended = 0  # slots [0, ended) have played and been freed
        self.cur = -1  # the free slot being filled by write(), -1: none
        self.pos = 0  # frames filled in it
        self.stop_slot = None  # deinit(): no slot from here on plays anything
        self.lost_frames = 0
        return self

    def slot_start(self, s):
        return self.t0 + frames_to_us(s * DMA_BUF_FRAMES, self.rate)

    def events(self, now, air):
        """Process the slot ends up to now: the amp's history gets each slot's content."""
        while self.slot_start(self.ended + 1) <= now:
            s = self.ended
            air.materialize(s + 1)
            b = s % self.n
            self.target[b] = -1  # auto_clear
            if self.free_len == self.n - 1:
                self._pop()  # i2s_dma_tx_callback: queue full, the oldest goes
            self.free[(self.free_head + self.free_len) % len(self.free)] = s
            self.free_len += 1
            self.ended += 1

    def _pop(self):
        s = self.free[self.free_head]
        self.free_head = (self.free_head + 1) % len(self.free)
        self.free_len -= 1
        return s

    def content(self, s):
        """Where in bufs the frames slot s played start, or -1 for zeros."""
        if self.stop_slot is not None and s >= self.stop_slot:
            return -1
        b = s % self.n
        return b * DMA_BUF_FRAMES if self.target[b] == s else -1

    def write(self, buf, nframes, air):
        done = 0
        while done < nframes:
            if self.cur < 0:
                self.events(self.clock.now(), air)
                while not self.free_len:  # blocks until the DMA frees a buffer
                    self.clock.wait_until(self.slot_start(self.ended + 1))
                    self.events(self.clock.now(), air)
                self.cur = self._pop()
                self.pos = 0
            b = self.cur % self.n
            k = min(DMA_BUF_FRAMES - self.pos, nframes - done)
            at = b * DMA_BUF_FRAMES + self.pos
            _copy16(self.bufs, at, buf, done, k)
            self.pos += k
            done += k
            if self.pos == DMA_BUF_FRAMES:
                play = self.cur + self.n
                if self.clock.now() < self.slot_start(play):
                    self.target[b] = play
                else:
                    self.lost_frames += DMA_BUF_FRAMES
                self.cur = -1

    def deinit(self, now, air):
        # machine_i2s.c deinit: i2s_channel_disable + delete: unplayed data is dropped.
        self.events(now, air)
        self.stop_slot = self.ended + 1  # the slot playing now finishes, nothing after


class DmaRx:
    """The RX DMA ring: m buffers of 256 frames filled in a circle from enable; each full
    buffer goes on a queue of m - 1 (i2s_dma_rx_callback drops the oldest when full). A
    read takes the oldest queued buffer, blocking until one is full; a reader more than
    m - 1 buffers late finds the oldest ones gone: 256 frames lost each."""

    def __init__(self, clock):
        self.clock = clock  # one per board, restarted per stream (see DmaTx)
        self.start(16000, 4096)

    def start(self, rate, ibuf):
        self.rate = rate
        self.m = dma_buf_count(ibuf, 8)
        self.pos = 0  # frames handed to the reader
        self.dropped_frames = 0
        self.t0 = self.clock.now()  # i2s_channel_enable()
        return self

    def slot_end(self, r):
        return self.t0 + frames_to_us((r + 1) * DMA_BUF_FRAMES, self.rate)

    def take(self):
        """At a buffer boundary: wait for the next buffer; returns the frames skipped."""
        r = self.pos // DMA_BUF_FRAMES
        now = self.clock.now()
        done = us_to_frames(now - self.t0, self.rate) // DMA_BUF_FRAMES  # full buffers
        oldest = done - (self.m - 1)
        skipped = 0
        if r < oldest:
            skipped = (oldest - r) * DMA_BUF_FRAMES
            self.pos += skipped
            self.dropped_frames += skipped
            r = oldest
        self.clock.wait_until(self.slot_end(r))
        return skipped


@micropython.viper
def _copy16(dst, at: int, src, start: int, n: int):
    d = ptr16(dst)
    s = ptr16(src)
    i = 0
    while i < n:
        d[at + i] = s[start + i]
        i += 1


@micropython.viper
def _zero16(dst, at: int, n: int):
    d = ptr16(dst)
    i = 0
    while i < n:
        d[at + i] = 0
        i += 1


def _q14(v):
    return int(round(v * 16384))


class Air:
    """The shared speaker-mic path. One per virtual board."""

    def __init__(self, opts, rate):
        self.rate = rate
        seed = int(opts.get("seed", 1))
        self.faults = set(f for f in str(opts.get("fault", "")).split(",") if f)
        self.clock = Clock(bool(int(opts.get("realtime", 1))))
        self.sd_float = _FLOAT_MODES[str(opts.get("sd_float", "hold"))]
        snr = float(opts.get("snr", 40))
        if "noisy" in self.faults:
            snr = 6.0
        self.ring = bytearray(2 * RING)  # int16 frames (viper ptr16): one block, no copy
        # The TX DMA buffers: on an ESP32 they come from the system heap (MALLOC_CAP_DMA),
        # not MicroPython's, so the sim keeps one pool for them from power-on.
        # (dma_pool: its size in bytes; the QEMU board keeps it to its profile's TX ibuf,
        # the real heap there is small; a larger ibuf then fails as ESP_ERR_NO_MEM does)
        pool = int(opts.get("dma_pool", DMA_POOL_BYTES))
        self.dma_pool = bytearray(pool)
        self.dma_target = array.array("i", [0] * (pool // 512))
        self.dma_free = array.array("i", [0] * (pool // 512))
        self.tx_ring = DmaTx(self.clock, self.dma_pool, self.dma_target, self.dma_free)
        self.rx_ring = DmaRx(self.clock)
        self.par = array.array("i", [0] * 20)
        self.st = array.array("i", [0] * 12)
        self.rng_seed = (seed * 2654435761 + 12345) & 0x7FFFFFFF or 1
        # Speaker -> air -> mic, including the mic's decimation filter: 0.5-3.5 ms.
        self.delay = 8 + (seed * 104729) % 48
        self.coupling_db = -6.0  # 0 dBFS TX -> about -6 dBFS at the mic, in band
        self.snr = float(opts.get("snr", 40))
        self.tx = None
        self.rx = None
        self.mat = 0  # amp output materialized: slots [0, mat) of the current TX stream
        self.rx_count = 0
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

    # -- streams -------------------------------------------------------------------
    def start_tx(self, ibuf):
        """I2S TX constructed: its clock and DMA ring start now (the constructor's last
        step is i2s_channel_enable(), machine_i2s.c)."""
        self.tx = None
        if self.rx is None:
            self.clock.rebase()
        self.mat = 0
        self.st[_S_TXCOUNT] = 0
        _zero16(self.ring, 0, RING)
        self.tx = self.tx_ring.start(self.rate, ibuf)
        self._align()

    def start_rx(self, ibuf):
        """I2S RX constructed: the mic's clock starts (and with it its start-up)."""
        if self.tx is not None and self.tx.stop_slot is not None:
            self.tx = None  # a TX stream that ended before this one: the amp is silent
        if self.tx is None:
            self.clock.rebase()
        self.rx = self.rx_ring.start(self.rate, ibuf)
        self.rx_count = 0
        for i in range(7):
            self.st[i] = 0  # filter states
        self.st[_S_RNG] = self.rng_seed
        self._align()

    def _align(self):
        # RX frame 0 heard at amp output frame (RX enable - TX enable) on the shared clock.
        if self.rx is not None and self.tx is not None:
            d = self.rx.t0 - self.tx.t0
            self.st[_S_RXSRC] = self.rx.pos + us_to_frames(d, self.rate)
        elif self.rx is not None:
            self.st[_S_RXSRC] = -(1 << 30)  # no TX: nothing plays

    def stop_tx(self):
        if self.tx is not None:
            self.tx.deinit(self.clock.now(), self)
            self.materialize(self.tx.stop_slot)

    def stop_rx(self):
        self.rx = None

    def materialize(self, upto):
        """Copy what the amp played in slots [mat, upto) into the history ring."""
        tx = self.tx
        if upto - self.mat > RING // DMA_BUF_FRAMES:
            self.mat = upto - RING // DMA_BUF_FRAMES  # older slots fell out of the ring
        while self.mat < upto:
            s = self.mat
            start = tx.content(s)
            at = (s * DMA_BUF_FRAMES) % RING
            if start < 0:
                _zero16(self.ring, at, DMA_BUF_FRAMES)
            else:
                _copy16(self.ring, at, tx.bufs, start, DMA_BUF_FRAMES)
            self.mat += 1
        self.st[_S_TXCOUNT] = self.mat * DMA_BUF_FRAMES

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
        p[_P_FLOAT] = self.sd_float
        if "mic_dead" in self.faults:
            kind = self.rng_seed % 3
            p[_P_STUCK] = kind + 1
            p[_P_STUCKVAL] = (0xFFFFFF00, 0x00123400, 0x00000000)[kind]
        if "mic_unwired" in self.faults:
            p[_P_STUCK] = 4
        self.st[_S_RNG] = self.rng_seed

    def set_slot(self, slot_index):
        if "wrong_slot" in self.faults:
            slot_index ^= 1
        self.par[_P_SLOT] = slot_index

    # -- I2S calls -----------------------------------------------------------------
    def tx_write(self, buf, nframes):
        self.tx.write(buf, nframes, self)

    def rx_read(self, buf, nframes):
        rx = self.rx
        if "i2s_hang" in self.faults and self.rx_count >= MIC_START_FRAMES // 2:
            # Blocked in C on a real board: no Ctrl-C, no scheduler, no timer callbacks.
            import simctl

            simctl.block_forever()
        if "i2s_fault" in self.faults and self.rx_count >= MIC_START_FRAMES // 2:
            time.sleep_ms(200 if self.clock.realtime else 5)
            raise OSError(116)  # ETIMEDOUT: no data from the RX DMA
        done = 0
        while done < nframes:
            if rx.pos % DMA_BUF_FRAMES == 0:
                skipped = rx.take()
                self.st[_S_RXSRC] = self.st[_S_RXSRC] + skipped
            k = min(DMA_BUF_FRAMES - rx.pos % DMA_BUF_FRAMES, nframes - done)
            for at, n in self.dropout_at:
                if self.rx_count <= at < self.rx_count + k:
                    self.st[_S_RXSRC] = self.st[_S_RXSRC] + n
            if self.tx is not None:
                self.tx.events(self.clock.now(), self)
                need = self.st[_S_RXSRC] + k - self.delay
                slot = (need + DMA_BUF_FRAMES - 1) // DMA_BUF_FRAMES
                if slot > self.mat:
                    self.materialize(slot)
            self.st[_S_MICAGE] = rx.pos
            self.st[_S_FIRST] = done
            _rx_kernel(buf, k, self.ring, self.par, self.st)
            rx.pos += k
            self.rx_count += k
            done += k


class I2S:
    """machine.I2S on the model, with the ESP32 port's constructor and methods
    (ports/esp32/machine_i2s.c: blocking mode only). A board binds AIR, its one Air, and
    may hook _started (each constructor) and _reading (each readinto)."""

    RX = 1
    TX = 2
    MONO = 0
    STEREO = 1
    AIR = None
    MIC_SLOT = "left"  # the level of the mic's L/R pin

    def __init__(self, id, *, sck, ws, sd, mck=None, mode, bits, format, rate, ibuf):
        if mck is not None:
            raise ValueError("mck not supported")  # as on the ESP32 port
        if bits not in (16, 32):
            raise ValueError("invalid bits")
        self.id = id
        self.mode = mode
        self.bits = bits
        self.format = format
        self.rate = rate
        self.ibuf = ibuf
        self._started()
        air = self.AIR
        if rate != air.rate:
            air.set_rate(rate)
        self.air = air
        self.frame_bytes = (bits // 8) * (2 if format == self.STEREO else 1)
        if mode == self.RX:
            if bits != 32 or format != self.STEREO:
                # The model produces what the ESP32 RX hardware reads: 32-bit stereo.
                raise ValueError("the acoustic model's RX supports bits=32, format=STEREO")
            air.set_slot(1 if self.MIC_SLOT == "right" else 0)
            air.start_rx(ibuf)  # the mic starts up again when its clock starts
        elif bits != 16 or format != self.MONO:
            raise ValueError("the acoustic model's TX supports bits=16, format=MONO")
        else:
            air.start_tx(ibuf)
        self._open = True
        self._reads = 0

    def _started(self):
        pass

    def _reading(self):
        pass

    def readinto(self, buf):
        if not self._open or self.mode != self.RX:
            raise OSError(1)
        n = len(buf) // 8
        self._reads += 1
        self._reading()
        self.air.rx_read(buf, n)
        return n * 8

    def write(self, buf):
        if not self._open or self.mode != self.TX:
            raise OSError(1)
        n = len(buf) // 2
        self.air.tx_write(buf, n)
        return n * 2

    def irq(self, handler):
        raise OSError(95)  # non-blocking mode is not modelled

    @staticmethod
    def shift(*, buf, bits, shift):
        a = array.array("h" if bits == 16 else "i", bytes(buf))
        for i in range(len(a)):
            a[i] = a[i] << shift if shift > 0 else a[i] >> -shift
        buf[:] = bytes(a)

    def deinit(self):
        if self._open:
            if self.mode == self.TX:
                self.air.stop_tx()
            else:
                self.air.stop_rx()
        self._open = False

# The virtual board's I2S DMA model against the ESP32 port's behaviour, on the unix port
# (run by tests/test_sim_models.py through tests/mp_runner.py). Sources:
#   ports/esp32/machine_i2s.c: get_dma_buf_count() = max(2, ibuf // (256 * frame bytes)),
#     dma_frame_num = 256, auto_clear = true, blocking read/write with portMAX_DELAY;
#   ESP-IDF esp_driver_i2s/i2s_common.c: msg_queue of desc_num - 1, the DMA callbacks drop
#     the oldest queued buffer when the queue is full; TX buffers are zeroed once played.
import time

import acoustic

B = 256


def _air(**opts):
    o = {"realtime": "0", "snr": "90", "seed": "1"}
    o.update(opts)
    return acoustic.Air(o, 16000)


def _block(value_at=None):
    buf = bytearray(2 * B)
    if value_at is not None:
        for i in range(64):
            v = 12000 if (i // 4) % 2 == 0 else -12000
            buf[2 * i] = v & 0xFF
            buf[2 * i + 1] = (v >> 8) & 0xFF
    return buf


def _loudest(rx, nframes, slot=0):
    best = 0
    at = -1
    for i in range(nframes):
        j = 8 * i + 4 * slot
        w = rx[j] | rx[j + 1] << 8 | rx[j + 2] << 16 | rx[j + 3] << 24
        if w & 0x80000000:
            w -= 1 << 32
        w = abs(w >> 16)
        if w > best:
            best = w
            at = i
    return best, at


def _arrival(air, blocks, pulse_block, rx_first=False, gap_us=0):
    """Run TX/RX block by block (like the capture loop); the RX frame of the pulse."""
    tx_ibuf = air.tx_ibuf_for_test
    if rx_first:
        air.start_rx(16384)
        air.clock.skipped += gap_us
        air.start_tx(tx_ibuf)
    else:
        air.start_tx(tx_ibuf)
        air.clock.skipped += gap_us
        air.start_rx(16384)
    rx = bytearray(8 * B)
    loud = (0, -1)
    for j in range(blocks):
        air.tx_write(_block(0 if j == pulse_block else None), B)
        air.rx_read(rx, B)
        level, at = _loudest(rx, B)
        if level > loud[0]:
            loud = (level, j * B + at)
    return loud[1]


def test_tx_plays_behind_its_whole_dma_ring():
    for ibuf in (1024, 2048, 4096, 5000, 8192, 16384):
        air = _air()
        air.tx_ibuf_for_test = ibuf
        n = max(2, ibuf // (B * 2))
        at = _arrival(air, 22 + n + 2, 20)  # after the mic's start-up (4096 frames)
        expect = 20 * B + n * B + air.delay
        # the pulse's loudest sample sits within its 64 frames (filtered)
        assert expect - 2 <= at <= expect + 66, (ibuf, n, at, expect)


def test_either_start_order_shifts_by_the_measured_gap():
    for rx_first in (False, True):
        air = _air()
        air.tx_ibuf_for_test = 4096
        at = _arrival(air, 32, 20, rx_first=rx_first, gap_us=5000)  # 80 frames apart
        expect = 20 * B + 8 * B + air.delay + (80 if rx_first else -80)
        assert expect - 2 <= at <= expect + 66, (rx_first, at, expect)


def test_first_write_blocks_until_a_buffer_has_played():
    air = _air()
    air.start_tx(4096)
    t0 = air.clock.now()
    air.tx_write(_block(), B)
    waited = air.clock.now() - t0
    assert waited >= 15900, waited  # one DMA buffer: 256 frames = 16 ms
    t1 = air.clock.now()
    air.tx_write(_block(), B)  # steady state: one buffer per 16 ms
    assert 15000 <= air.clock.now() - t1 <= 17000


def test_deinit_drops_tx_data_not_yet_played():
    air = _air()
    air.start_rx(16384)
    air.start_tx(4096)
    for _ in range(7):
        air.tx_write(_block(0), B)  # queued behind the ring, not played yet
    air.stop_tx()
    rx = bytearray(8 * B)
    loud = 0
    for _ in range(24):
        air.rx_read(rx, B)
        loud = max(loud, _loudest(rx, B)[0])
    assert loud < 50, loud  # nothing of it came out of the speaker


def test_rx_reader_late_by_more_than_its_queue_loses_the_oldest_buffers():
    for ibuf, lost in ((4096, True), (16384, False)):
        air = _air()
        air.start_rx(ibuf)
        rx = bytearray(8 * B)
        air.rx_read(rx, B)
        time.sleep_ms(40)  # the capture loop stalls: a GC, a flash write...
        air.rx_read(rx, B)
        m = max(2, ibuf // (B * 8))
        if lost:
            # queue of m - 1 = 1: at 40 ms late, buffers 1 of 2..3 are gone
            assert air.rx.dropped_frames >= B and air.rx.dropped_frames % B == 0, \
                air.rx.dropped_frames
        else:
            assert air.rx.dropped_frames == 0, (m, air.rx.dropped_frames)


def _other_slot_words(sd_float, faults=""):
    air = _air(sd_float=sd_float, fault=faults, snr="40")
    air.start_tx(4096)
    air.start_rx(16384)
    air.set_slot(0)
    rx = bytearray(8 * B)
    words = set()
    low = set()
    for _j in range(24):
        air.tx_write(_block(0), B)
        air.rx_read(rx, B)
    for i in range(B):
        words.add(rx[8 * i + 4] | rx[8 * i + 5] << 8 | rx[8 * i + 6] << 16 | rx[8 * i + 7] << 24)
        low.add(rx[8 * i])
    return words, low


def test_undriven_bits_float_as_the_pull_down_decides():
    words, low = _other_slot_words("zero")
    assert words == {0} and low == {0}
    words, low = _other_slot_words("hold")  # the last data bit held: all 0s or all 1s
    assert words <= {0, 0xFFFFFFFF} and low <= {0, 0xFF}, (words, low)
    words, low = _other_slot_words("random")
    assert len(words) > 200 and len(low) > 100, (len(words), len(low))


def test_unwired_mic_is_random_in_both_slots():
    air = _air(fault="mic_unwired")
    air.start_rx(16384)
    air.set_slot(0)
    rx = bytearray(8 * B)
    for _ in range(20):  # past the mic's start-up
        air.rx_read(rx, B)
    left = set(rx[8 * i + 3] for i in range(B))
    right = set(rx[8 * i + 7] for i in range(B))
    assert len(left) > 100 and len(right) > 100

"""The self-test at the DMA latency the ESP32 port really produces.

ports/esp32/machine_i2s.c gives TX max(2, ibuf // 512) buffers of 256 frames; written audio
plays behind the whole ring (128 ms for ibuf=4096 at 16 kHz). RX keeps max(2, ibuf // 2048)
buffers and ESP-IDF (esp_driver_i2s/i2s_common.c) drops the oldest when the reader is late.
Each case is a fresh virtual board whose board.json has the DMA settings under test
(sim options tx_ibuf, rx_ibuf, i2s_start; loop_stall_ms stalls the capture loop once),
where boards/sim/acoustic.py models the rings; on a bench, set them in board.json.
"""


import pytest

from camdiag_host.simboard import VirtualBoard
from camdiag_host.link import DeviceLink

def run_selftest(tx_ibuf=4096, rx_ibuf=16384, start="tx_first", stall_ms=0):
    rec = _selftest_on({"seed": "4", "tx_ibuf": tx_ibuf, "rx_ibuf": rx_ibuf,
                        "i2s_start": start, "loop_stall_ms": stall_ms})
    rec["tx_dma_buffers"] = rec["plan"]["tx_dma_buffers"]
    rec["audio_ms"] = rec["plan"]["audio_ms"]
    return rec


@pytest.mark.sim
@pytest.mark.parametrize("start", ["tx_first", "rx_first"])
@pytest.mark.parametrize("tx_ibuf", [1024, 2048, 4096, 5000, 8192, 16384])
def test_healthy_at_the_ports_dma_latency(tx_ibuf, start):
    rec = run_selftest(tx_ibuf=tx_ibuf, start=start)
    buffers = max(2, tx_ibuf // 512)
    assert rec["tx_dma_buffers"] == buffers
    assert rec["verdict"] == "healthy", rec["faults"]
    # the DMA's share is the TX ring less the measured gap between the two enables
    skew = rec["i2s_start_skew_ms"]
    assert abs(skew) < 4.0 and (skew <= 0.07 if start == "rx_first" else skew >= -0.07), rec
    assert abs(rec["dma_latency_ms"] - (buffers * 16.0 - skew)) <= 0.07, rec
    assert 0.0 <= rec["latency_ms"] <= 48.0, rec  # acoustic: speaker, air, mic filter
    assert abs(rec["total_latency_ms"] - rec["dma_latency_ms"] - rec["latency_ms"]) < 0.02
    assert rec["audio_ms"] <= (750 if tx_ibuf <= 4096 else 1000), rec


@pytest.mark.sim
def test_a_loop_stall_longer_than_the_rx_queue_loses_samples():
    # RX ibuf 4096: 2 buffers, a queue of 1. A 40 ms stall mid-capture loses 256 frames.
    rec = run_selftest(rx_ibuf=4096, stall_ms=40)
    assert rec["verdict"] == "dropouts", rec
    # the default RX ring (16384: 8 buffers) rides out the same stall
    rec = run_selftest(rx_ibuf=16384, stall_ms=40)
    assert rec["verdict"] == "healthy", rec


def _selftest_on(opts):
    opts = {k: str(v) for k, v in dict(opts, realtime="0").items()}
    with VirtualBoard(options=opts) as vb:
        assert vb.wait_ready(15)
        with DeviceLink(vb.port) as link:
            return link.call("selftest", {"log": False}, timeout=60)


@pytest.mark.sim
@pytest.mark.parametrize("sd_float", ["hold", "random", "zero"])
def test_a_floating_unused_slot_is_no_false_alarm(sd_float):
    rec = _selftest_on({"sd_float": sd_float, "seed": "2"})
    assert rec["verdict"] == "healthy", [(c["name"], c["outcome"], c.get("note"))
                                         for c in rec["checks"]]
    slot = [c for c in rec["checks"] if c["name"] == "slot"][0]
    assert slot["outcome"] == "pass"
    if sd_float == "random":
        assert "floats" in slot["note"]


@pytest.mark.sim
def test_the_wrong_slot_is_still_named_when_the_other_floats():
    rec = _selftest_on({"sd_float": "random", "fault": "wrong_slot", "seed": "3"})
    assert rec["verdict"] == "wrong_slot", rec["faults"]


@pytest.mark.sim
def test_an_unwired_mic_is_a_dead_mic_not_a_silent_speaker():
    rec = _selftest_on({"fault": "mic_unwired", "seed": "1"})
    assert rec["verdict"] == "mic_dead", rec["faults"]
    data = [c for c in rec["checks"] if c["name"] == "mic_data"][0]
    assert "floats" in data["note"]

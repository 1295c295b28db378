"""Loopback self-test on the virtual board: every fault class is named, healthy passes.

Each case gets its own virtual board with the fault wired in (sim-only: marked `sim`);
on a bench (--port) only the healthy self-test and its log entry run.
"""

import json
import subprocess
import sys
import wave

import pytest

from camdiag.plan import Plan
from camdiag_host import boards
from camdiag_host.link import DeviceLink
from camdiag_host.simboard import VirtualBoard

FAULTS = ["speaker_silent", "mic_dead", "i2s_fault", "wrong_slot", "muffled", "distorted",
          "noisy", "dropouts"]
SEEDS = [1, 2, 3]
SNRS = [20, 40, 60]
CAMDIAG = [sys.executable, "-m", "camdiag_host.cli"]


def selftest_on_virtual_board(**opts):
    opts = {k: str(v) for k, v in opts.items()}
    opts.setdefault("realtime", "0")
    with VirtualBoard(options=opts) as vb:
        assert vb.wait_ready(15)
        try:
            with DeviceLink(vb.port) as link:
                return link.call("selftest", {"log": False}, timeout=60)
        except Exception as e:
            log = repr(vb.log_path.read_bytes()[-1500:])
            raise AssertionError(f"{e}\n--- board log (tail) ---\n{log}") from e


@pytest.mark.sim
@pytest.mark.parametrize("snr", SNRS)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fault", FAULTS)
def test_fault_is_named_first(fault, seed, snr):
    rec = selftest_on_virtual_board(fault=fault, seed=seed, snr=snr)
    assert rec["outcome"] == "fail", rec["checks"]
    assert rec["faults"][0] == fault, (rec["faults"], [
        (c["name"], c["outcome"], c["measurements"]) for c in rec["checks"]])
    assert rec["verdict"] == fault
    assert rec["advice"]
    # the check that names the fault says why: a measurement against its limit, or a note
    failing = [c for c in rec["checks"] if c.get("fault") == fault]
    assert failing, rec["checks"]
    for c in failing:
        assert c["diagnosis"] and c["advice"]
        assert c.get("note") or any("limit" in m for m in c["measurements"]) or \
            fault == "mic_dead", c


@pytest.mark.sim
@pytest.mark.parametrize("snr", SNRS)
@pytest.mark.parametrize("seed", SEEDS)
def test_healthy_reports_no_fault(seed, snr):
    rec = selftest_on_virtual_board(seed=seed, snr=snr)
    assert rec["faults"] == [], [(c["name"], c["outcome"], c["measurements"])
                                 for c in rec["checks"] if c["outcome"] != "pass"]
    assert rec["outcome"] in ("pass", "warn")
    assert rec["verdict"] == "healthy"
    assert rec["plan"]["audio_ms"] <= 1000


def test_selftest_command_report_log_and_exit_codes(dut):
    res = subprocess.run(CAMDIAG + ["selftest", "--port", dut.port], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "VERDICT: PASS" in res.stdout and "snr" in res.stdout
    res = subprocess.run(CAMDIAG + ["log", "--port", dut.port, "--json", "--last", "1"],
                         capture_output=True, text=True, timeout=60)
    rec = json.loads(res.stdout)["records"][-1]
    assert rec["kind"] == "selftest" and rec["verdict"] == "healthy"
    assert "noise.snr" in rec["values"]


@pytest.mark.sim
def test_failed_selftest_exits_1_with_fix():
    res = subprocess.run(CAMDIAG + ["selftest", "--port", "sim://?fault=speaker_silent&realtime=0",
                                    "--json"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stderr
    rec = json.loads(res.stdout)
    assert rec["verdict"] == "speaker_silent" and "speaker" in rec["advice"]


def test_capture_then_analyze_gives_the_same_verdict(dut, tmp_path):
    wav = tmp_path / "rec.wav"
    res = subprocess.run(CAMDIAG + ["capture", "--port", dut.port, "--out", str(wav)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    with wave.open(str(wav)) as w:
        assert w.getframerate() == 16000 and w.getsampwidth() == 2
        assert w.getnframes() == Plan(boards.load("sim")).capture_frames
    res = subprocess.run(CAMDIAG + ["analyze", str(wav), "--board", "sim", "--json"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    rec = json.loads(res.stdout)
    assert rec["verdict"] == "healthy"
    levels = {c["name"]: c for c in rec["checks"]}
    assert levels["noise"]["outcome"] == "pass"


@pytest.mark.rig("cut_speaker", "restore")
def test_cut_speaker_is_named_then_restored(dut, rig):
    rig.cut_speaker()
    rec = dut.call("selftest", {"log": False})
    assert (rec["outcome"], rec["verdict"]) == ("fail", "speaker_silent"), rec["faults"]
    rig.restore()
    assert dut.call("selftest", {"log": False})["verdict"] == "healthy"


@pytest.mark.rig("cut_mic", "restore")
def test_cut_mic_is_named_then_restored(dut, rig):
    rig.cut_mic()
    rec = dut.call("selftest", {"log": False})
    assert (rec["outcome"], rec["verdict"]) == ("fail", "mic_dead"), rec["faults"]
    rig.restore()
    assert dut.call("selftest", {"log": False})["verdict"] == "healthy"

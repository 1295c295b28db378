"""The camdiag command as a user runs it: errors are one line with exit code 2, no traceback;
the stimulus and the analysis of files."""

import json
import os
import subprocess
import sys
import wave

import numpy as np
import pytest

from camdiag.plan import Plan
from camdiag_host import boards

CAMDIAG = [sys.executable, "-m", "camdiag_host.cli"]


def run(args, env=None, timeout=120):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run(CAMDIAG + args, capture_output=True, text=True, timeout=timeout,
                          env=e)


def assert_one_line_error(res, *fragments, table=None, case=None, area="command line"):
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    err = res.stderr.strip()
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    assert len(err.splitlines()) == 1 and err.startswith("camdiag: "), err
    for f in fragments:
        assert f in err, err
    if table is not None:
        table(area, case, f"exit 2: `{err}`")


def test_missing_port_names_it_and_lists_ports(fault_table):
    assert_one_line_error(run(["info", "--port", "/dev/nonexistent"]),
                          "/dev/nonexistent", "available ports",
                          table=fault_table, case="wrong port: no such device")


def test_unknown_sim_option(fault_table):
    assert_one_line_error(run(["info", "--port", "sim://?bogus=1"]), "bogus", "fault",
                          table=fault_table, case="unknown virtual board option")
    assert_one_line_error(run(["rssi", "--port", "sim://?rssi=moon"]), "rssi=moon",
                          "walk_away", table=fault_table, case="unknown radio scenario")


def test_invalid_board_profile_names_file_and_key(tmp_path, fault_table):
    bad = boards.path("esp32s3-devkit").read_text().replace('"slot": "left"', '"slot": 7')
    p = tmp_path / "board.json"
    p.write_text(bad)
    assert_one_line_error(run(["stimulus", "--board", str(p), "--out", str(tmp_path / "s.wav")]),
                          str(p), "audio.rx.slot", table=fault_table, area="board profile",
                          case="malformed board.json: a value of the wrong type")
    p.write_text("{broken")
    assert_one_line_error(run(["stimulus", "--board", str(p), "--out", str(tmp_path / "s.wav")]),
                          "not valid JSON", table=fault_table, area="board profile",
                          case="malformed board.json: not JSON")


def test_unknown_board_lists_known_ones(tmp_path, fault_table):
    assert_one_line_error(run(["stimulus", "--board", "nope", "--out", str(tmp_path / "a.wav")]),
                          "unknown board 'nope'", "esp32s3-devkit", table=fault_table,
                          area="board profile", case="unknown board name")


def test_no_micropython_binary_says_how_to_get_one(fault_table):
    res = run(["info", "--port", "sim://"], env={"MICROPYTHON": "/nonexistent/micropython"})
    assert_one_line_error(res, "MICROPYTHON=/nonexistent/micropython", table=fault_table,
                          case="no MicroPython unix port for the virtual board")


def test_help_shows_examples():
    res = run(["--help"])
    assert res.returncode == 0 and "examples:" in res.stdout
    res = run(["selftest", "--help"])
    assert res.returncode == 0 and "example:" in res.stdout and "--json" in res.stdout


def _wav(path, data, rate=16000, width=2, channels=1):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)


def test_stimulus_is_the_plan_and_analyses_as_a_perfect_loopback(tmp_path):
    out = tmp_path / "stim.wav"
    res = run(["stimulus", "--board", "sim", "--out", str(out)])
    assert res.returncode == 0, res.stderr
    plan = Plan(boards.load("sim"))
    with wave.open(str(out)) as w:
        assert (w.getnframes(), w.getframerate(), w.getsampwidth(), w.getnchannels()) == \
            (plan.total, 16000, 2, 1)
    res = run(["analyze", str(out), "--board", "sim", "--json"])
    rec = json.loads(res.stdout)
    assert res.returncode == 0 and rec["verdict"] == "healthy", rec
    assert abs(rec["latency_ms"]) < 0.1  # a perfect loopback: no delay


def test_analyze_32_bit_stereo_and_the_mic_on_the_wrong_side(tmp_path):
    stim = tmp_path / "stim.wav"
    run(["stimulus", "--board", "sim", "--out", str(stim)])
    with wave.open(str(stim)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int64)
    rng = np.random.default_rng(1)
    delayed = np.concatenate([np.zeros(180), x[:-180]]) * 0.5 + rng.normal(0, 30, len(x))
    words = (np.round(delayed * 65536).astype(np.int64) & 0xFFFFFF00).astype("<u4")
    stereo = np.zeros(2 * len(x), dtype="<u4")
    stereo[0::2] = words  # mic in the left slot, right slot silent
    good = tmp_path / "good32.wav"
    _wav(good, stereo.tobytes(), width=4, channels=2)
    rec = json.loads(run(["analyze", str(good), "--board", "sim", "--json"]).stdout)
    assert rec["verdict"] == "healthy", rec
    assert abs(rec["latency_ms"] - 180 / 16) < 0.1
    swapped = np.zeros_like(stereo)
    swapped[1::2] = words
    bad = tmp_path / "swapped32.wav"
    _wav(bad, swapped.tobytes(), width=4, channels=2)
    res = run(["analyze", str(bad), "--board", "sim", "--json"])
    assert res.returncode == 1 and json.loads(res.stdout)["verdict"] == "wrong_slot"


@pytest.mark.parametrize("kind", ["rate", "width", "short", "garbage", "missing"])
def test_analyze_refuses_unusable_files(tmp_path, kind, fault_table):
    p = tmp_path / f"{kind}.wav"
    if kind == "rate":
        _wav(p, bytes(2 * 20000), rate=8000)
        frag = "8000 Hz"
    elif kind == "width":
        _wav(p, bytes(20000), width=1)
        frag = "8-bit"
    elif kind == "short":
        _wav(p, bytes(2 * 1000))
        frag = "the stimulus needs"
    elif kind == "garbage":
        p.write_bytes(b"RIFF\x00\x01garbage" * 10)
        frag = "not a PCM WAV"
    else:
        frag = "no such file"
    assert_one_line_error(run(["analyze", str(p), "--board", "sim"]), frag,
                          table=fault_table, area="WAV file", case=f"analyze: {kind} file")


def test_result_line_parsing():
    from camdiag_host.errors import DeviceError, LinkError
    from camdiag_host.link import parse_result

    assert parse_result(b"log line\r\n#camdiag# {\"ok\": true, \"result\": 5}\r\n", "x") == 5
    # garbage before the marker on the same line, and a repeated marker
    assert parse_result(b"\x00\xff#camdiag# #camdiag# {\"ok\": true, \"result\": [1]}\n",
                        "x") == [1]
    with pytest.raises(DeviceError, match="boom"):
        parse_result(b"#camdiag# {\"ok\": false, \"error\": \"ValueError: boom\"}\n", "x")
    with pytest.raises(LinkError, match="no result line"):
        parse_result(b"Traceback...\n", "x")
    with pytest.raises(LinkError, match="garbled"):
        parse_result(b"#camdiag# {\"ok\": tr\n", "x")


class _FakePort:
    def __init__(self, device, vid=None, pid=None, description="n/a"):
        self.device, self.vid, self.pid, self.description = device, vid, pid, description


def test_port_auto_detect(monkeypatch, capsys, fault_table):
    """--port may be left out with exactly one likely ESP32 attached; otherwise the user is
    told what was found and asked to choose."""
    from camdiag_host import cli
    from camdiag_host.simboard import VirtualBoard

    with VirtualBoard(options={"realtime": "0"}) as vb:
        assert vb.wait_ready(15)
        # MicroPython's own USB CDC on an ESP32-S3 (TinyUSB, 303A:4001), not the chip's
        # USB-Serial-JTAG (303A:1001): both are ESP32s
        ports = [_FakePort("/dev/ttyS0"), _FakePort(vb.port, 0x303A, 0x4001, "Board CDC")]
        monkeypatch.setattr("serial.tools.list_ports.comports", lambda: ports)
        assert cli.main(["info"]) == 0
        out, err = capsys.readouterr()
        assert f"using {vb.port} (MicroPython native USB (ESP32-S3))" in err and \
            "camdiag" in out
        from camdiag_host.ports import list_ports
        for pid, chip in ((0x1001, "ESP32-S3 USB-Serial-JTAG"),
                          (0x4003, "MicroPython native USB (ESP32-S3, PID 4003)")):
            ports[1] = _FakePort(vb.port, 0x303A, pid, "x")
            assert [p.chip for p in list_ports() if p.likely_esp32] == [chip]
        ports[1] = _FakePort(vb.port, 0x303A, 0x4002, "MSC only")  # no CDC: no REPL
        assert not [p for p in list_ports() if p.likely_esp32]
    monkeypatch.setattr("serial.tools.list_ports.comports", lambda: ports[:1])
    assert cli.main(["info"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no ESP32 board found (ports: /dev/ttyS0)" in err and "--port" in err
    fault_table("command line", "no --port and no ESP32 attached", f"exit 2: `{err}`")
    ports = [_FakePort("/dev/ttyACM0", 0x303A, 0x1001), _FakePort("/dev/ttyUSB0", 0x10C4,
                                                                    0xEA60)]
    monkeypatch.setattr("serial.tools.list_ports.comports", lambda: ports)
    assert cli.main(["selftest"]) == 2
    err = capsys.readouterr().err.strip()
    assert "/dev/ttyACM0" in err and "/dev/ttyUSB0" in err and "choose one with --port" in err
    fault_table("command line", "no --port and two ESP32 boards attached", f"exit 2: `{err}`")


def test_spinner_only_on_a_terminal():
    import io
    import time as _time

    from camdiag_host.progress import Spinner

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        with Spinner("scanning", stream=stream, delay=0.0):
            _time.sleep(0.5)
    assert "scanning" in tty.getvalue() and tty.getvalue().endswith("\r\x1b[2K")
    assert pipe.getvalue() == ""
    quiet = Tty()
    with Spinner("x", enabled=False, stream=quiet, delay=0.0):
        _time.sleep(0.3)
    assert quiet.getvalue() == ""

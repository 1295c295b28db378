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


def test_help_quotes_every_sim_url_with_options():
    """zsh treats an unquoted `?` as a glob: `sim://?fault=x` fails there, quoted it works."""
    import re

    from camdiag_host import cli

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, cli.argparse._SubParsersAction))
    texts = [parser.format_help()] + [p.format_help() for p in sub.choices.values()]
    for text in texts:
        assert not re.search(r"(?<!['\"])sim://\?", text), text


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


# Each of these printed a traceback, waited, or was silently accepted (issue #16); each is
# refused at once, in one line, before any work or board start-up.
BAD_INPUT = {
    "stimulus into a missing folder": (["stimulus", "--out", "/nonexistent/s.wav"],
                                       "no folder /nonexistent"),
    "stimulus onto a folder": (["stimulus", "--out", "/tmp"], "a folder"),
    "capture into a missing folder": (["capture", "--port", "sim://", "--out",
                                       "/nonexistent/r.wav"], "no folder"),
    "report onto an existing file": (["report", "--port", "sim://", "--out", "{file}"],
                                     "an existing file"),
    "report where nothing can be written": (["report", "--port", "sim://", "--out",
                                             "/proc/camdiag-report"], "cannot write"),
    "analyze a folder": (["analyze", "/tmp"], "a directory"),
    "netserver on port 99999": (["netserver", "--listen", "99999"], "0..65535"),
    "netserver dropping 150 %": (["netserver", "--drop-pct", "150"], "0..100"),
    "netserver with a negative delay": (["netserver", "--delay-ms", "-5"], "0..60000"),
    "netserver throttled to 0": (["netserver", "--throttle-mbps", "0"], "above 0"),
    "sim --flash where nothing can be written": (["sim", "--flash", "/proc/x.img"],
                                                 "--flash /proc/x.img: cannot write there"),
    "sim --rssi bogus": (["sim", "--rssi", "bogus"], "steady_good"),
    "sim-control on a port no sim serves": (["sim-control", "/dev/pts/9999", "press", "200"],
                                            "no virtual board"),
    "sim-control press 0 ms": (["sim-control", "/dev/pts/1", "press", "0"], "1..60000"),
    "sim --fault bogus": (["sim", "--fault", "bogus"], "muffled"),
    "sim:// with a misspelt fault among good ones": (["info", "--port",
                                                      "sim://?fault=muffled,bogus"], "bogus"),
    "rssi for 0 s": (["rssi", "--port", "sim://", "--seconds", "0"], "1..86400"),
    "rssi for -5 s": (["rssi", "--port", "sim://", "--seconds", "-5"], "1..86400"),
    "a 33-byte SSID": (["wifi-setup", "--port", "sim://", "--ssid", "x" * 33], "1 to 32"),
    "an empty SSID": (["wifi-setup", "--port", "sim://", "--ssid", ""], "1 to 32"),
    "netcheck --scenario with --server": (["netcheck", "--port", "sim://", "--scenario",
                                           "lossy", "--server", "127.0.0.1:9"], "--server"),
    "deploy --source": (["deploy", "--port", "sim://", "--source"], "MemoryError"),
    "an unknown option": (["info", "--bogus"], "--bogus"),
    "socket:// with nothing listening": (["info", "--port", "socket://127.0.0.1:9"],
                                         "connection refused"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_refused_at_once_in_one_line(case, tmp_path, fault_table):
    args, fragment = BAD_INPUT[case]
    existing = tmp_path / "existing.txt"
    existing.write_text("keep me\n")
    args = [a.replace("{file}", str(existing)) for a in args]
    assert_one_line_error(run(args, timeout=60), fragment, table=fault_table, case=case)
    assert existing.read_text() == "keep me\n"  # nothing lost
    assert list(tmp_path.iterdir()) == [existing]


@pytest.mark.parametrize("password,ok", [("", "open network"), ("1234567", None),
                                         ("x" * 63, "stored"), ("x" * 64, None)])
def test_wifi_setup_checks_the_wpa2_password_before_the_board(password, ok):
    res = run(["wifi-setup", "--port", "/dev/nonexistent", "--ssid", "HomeNet"],
              env={"CAMDIAG_WIFI_PASSWORD": password})
    if ok is None:
        assert_one_line_error(res, "8 to 63")
    else:  # the password passes: the next thing to fail is the missing port
        assert_one_line_error(res, "/dev/nonexistent")


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_output_falls_back_to_ascii_glyphs(encoding):
    res = run(["rssi", "--port", "sim://?ssid=lab", "--seconds", "2", "--no-log"],
              env={"PYTHONIOENCODING": encoding})
    assert res.returncode in (0, 1), res.stderr
    assert "Traceback" not in res.stderr and "wifi_signal" in res.stdout
    res.stdout.encode("ascii")  # nothing left that the console could not show


@pytest.mark.parametrize("other", ["silent", "garbage"])
def test_a_port_without_micropython_is_named_in_one_line(other):
    """A serial port with something else on it: silent, or talking (another firmware's
    log); the error says which, without a bytes dump."""
    import pty
    import threading

    master, slave = pty.openpty()
    stop = threading.Event()

    def talk():
        while not stop.is_set():
            try:
                os.write(master, b"[boot] sensor ok, temp 21.5C\r\n")
            except OSError:
                return
            try:
                os.read(master, 1024)  # (what camdiag sends: another firmware ignores it)
            except BlockingIOError:
                pass
            except OSError:
                return
            stop.wait(0.2)

    os.set_blocking(master, False)
    if other == "garbage":
        threading.Thread(target=talk, daemon=True).start()
    try:
        res = run(["info", "--port", os.ttyname(slave)], timeout=90)
    finally:
        stop.set()
        os.close(slave)
        os.close(master)
    want = "bytes of other data" if other == "garbage" else "no data at all"
    assert_one_line_error(res, "no MicroPython REPL answered on", want)
    assert "b'" not in res.stderr  # no Python bytes dump


def test_a_virtual_board_powers_off_when_its_supervisor_is_killed(tmp_path):
    # `camdiag sim` SIGKILLed (a CI job cancelled, a terminal closed): its board, in a
    # session of its own so Ctrl-C at the terminal reaches only the supervisor, must not
    # run on as an orphan nobody can reach
    import signal
    import time

    sup = subprocess.Popen(CAMDIAG + ["sim"], stdout=subprocess.PIPE, text=True,
                           start_new_session=True)
    try:
        for line in sup.stdout:
            if line.strip().startswith("board log"):
                log = line.split()[-1]
                break
        end = time.monotonic() + 60  # its app up: the REPL alone powers off at EOF anyway
        while time.monotonic() < end and "app_started" not in open(log, errors="replace").read():
            time.sleep(0.1)
        kids = subprocess.run(["pgrep", "-P", str(sup.pid)], capture_output=True,
                              text=True).stdout.split()
        assert kids, "the sim started no board"
    finally:
        sup.send_signal(signal.SIGKILL)
        sup.wait()
    def running(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # (a zombie is gone)
        except OSError:
            return False

    end = time.monotonic() + 20
    while time.monotonic() < end and any(running(k) for k in kids):
        time.sleep(0.1)
    alive = [k for k in kids if running(k)]
    for k in alive:
        os.kill(int(k), signal.SIGKILL)
    assert not alive, "the board ran on after its supervisor was killed"


def test_sim_control_presses_the_button_of_a_running_sim():
    # a developer with `camdiag sim` in one shell presses its button from another
    import time

    sup = subprocess.Popen(CAMDIAG + ["sim", "--fast"], stdout=subprocess.PIPE, text=True)
    try:
        lines = {}
        for line in sup.stdout:
            key, _, value = line.strip().partition("  ")
            lines[key] = value.strip().split(" ")[0]
            if key == "board log":
                break
        log = lines["board log"]
        end = time.monotonic() + 60  # (its app up, as the user sees it: camdiag info)
        while time.monotonic() < end and "app_started" not in open(log, errors="replace").read():
            time.sleep(0.1)
        for port in (lines["serial port"], lines["socket"]):
            before = open(log, errors="replace").read().count('"double_click"')
            res = run(["sim-control", port, "press", "120", "--count", "2"])
            assert res.returncode == 0 and "2 presses of 120 ms" in res.stdout, res
            end = time.monotonic() + 20
            while time.monotonic() < end:
                if open(log, errors="replace").read().count('"double_click"') > before:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError(f"no double click on the board through {port}")
    finally:
        sup.terminate()
        sup.wait(30)


def test_one_board_default_rule_said_in_every_help():
    # analyze, stimulus and flash used to default to different boards (sim, sim,
    # esp32s3-devkit); one rule now, said where --board is
    for cmd in ("analyze", "stimulus", "flash", "deploy"):
        text = " ".join(run([cmd, "--help"]).stdout.split())
        assert "the rule: a connected board's own profile, else esp32s3-devkit" in text, cmd
    # and the virtual board measures as the default does: the same plan and limits
    sim, dev = boards.load("sim"), boards.load("esp32s3-devkit")
    assert sim["audio"] == dev["audio"] and sim["limits"] == dev["limits"]


@pytest.mark.parametrize("port", ["sim://", "qemu://?i2s=machine"])
def test_flash_refuses_a_virtual_board_before_esptool(tmp_path, port):
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\xe9" + bytes(255))  # an image's magic byte, then anything
    res = run(["flash", "--port", port, "--firmware", str(fw)])
    assert_one_line_error(res, "is a virtual board", "camdiag deploy")
    assert res.stdout == ""  # nothing said, nothing written


def test_flash_refuses_an_image_shorter_than_its_header(tmp_path):
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\xe9\x00\x00\x00")
    assert_one_line_error(run(["flash", "--port", "/dev/ttyACM0", "--firmware", str(fw)]),
                          "4 bytes, shorter than an image's 24-byte header")

"""Faults and bad input on the link and on the board's flash, memory over many self-tests,
and secrets: every case ends in one clear line (exit 2) or a kept record, nothing lost.
Each case adds its row to the fault table (the `fault_table` fixture; build/faults.md,
docs/faults.md by `make faults-doc`)."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import serial

from camdiag_host.simboard import VirtualBoard

CAMDIAG = [sys.executable, "-m", "camdiag_host.cli"]
PASSWORD = "tr0ub4dor-and-3-more-words"


def camdiag(*args, timeout=120, cwd=None, env=None):
    return subprocess.run(CAMDIAG + list(args), capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env)


def one_line_error(res):
    err = res.stderr.strip()
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr + res.stdout, res.stderr
    assert len(err.splitlines()) == 1 and err.startswith("camdiag: "), err
    return err


def log_records(dut):
    return dut.call("log")["records"]


# -- the link -------------------------------------------------------------------------------
@pytest.mark.sim
def test_board_vanishing_mid_call(dut, fault_table):
    before = log_records(dut)
    proc = subprocess.Popen(CAMDIAG + ["rssi", "--port", dut.port, "--seconds", "8"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3.0)
    dut.sim.kill()  # power lost in the middle of the call
    out, err = proc.communicate(timeout=120)
    res = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    msg = one_line_error(res)
    assert "restarted during the call" in msg, msg
    fault_table("link", "board loses power in the middle of a call", f"exit 2: `{msg}`")
    dut.wait_app(timeout=30)
    assert [r for r in log_records(dut) if r.get("trigger") != "boot"] == \
        [r for r in before if r.get("trigger") != "boot"]  # the log is intact


@pytest.mark.sim
def test_port_gone_mid_call(fault_table):
    vb = VirtualBoard(options={"realtime": "0"})
    vb.start()
    assert vb.wait_ready(15)
    time.sleep(1)
    proc = subprocess.Popen(CAMDIAG + ["rssi", "--port", vb.port, "--seconds", "8"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3.0)
    vb.stop()  # the USB cable pulled: the port itself disappears
    out, err = proc.communicate(timeout=120)
    msg = one_line_error(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    fault_table("link", "USB cable pulled in the middle of a call", f"exit 2: `{msg}`")


@pytest.mark.sim
def test_garbage_on_the_line(dut, fault_table):
    junk = bytes((i * 7919 + 13) % 256 for i in range(3000)).replace(b"\x03", b"").replace(
        b"\x04", b"").replace(b"\x01", b"").replace(b"\x02", b"")
    dut.sim._send_out(junk)  # line noise before a command: ignored
    res = camdiag("info", "--port", dut.port, "--json")
    assert res.returncode == 0, res.stderr
    fault_table("link", "garbage bytes on the line before a command",
                "ignored: the raw REPL is entered and the result line read")
    # line noise in the middle of a call: the result, or one line and exit 2, never a hang
    proc = subprocess.Popen(CAMDIAG + ["rssi", "--port", dut.port, "--seconds", "3", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    dut.sim._send_out(junk[:800] + b"\r\n#camdiag# {not json\r\n" + junk[800:1200])
    out, err = proc.communicate(timeout=120)
    res = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    if res.returncode == 2:
        what = f"exit 2: `{one_line_error(res)}`"
    else:
        assert res.returncode in (0, 1), res.stderr  # 1: no Wi-Fi configured here
        assert json.loads(out)["kind"] == "wifi"
        what = "ignored: the call's own result line is the last one"
    fault_table("link", "garbage bytes (and a broken result-like line) during a call", what)


def test_board_printing_while_the_host_calls(dut, fault_table):
    out = dut.exec("for i in range(300):\n print('log line', i, 'x' * 40)\n"
                   "from camdiag import service\nservice.call('ping')")
    from camdiag_host.link import parse_result

    assert parse_result(out.encode(), "ping")["camdiag"]
    fault_table("link", "the board prints 300 log lines before the result",
                "ignored: the result line is found after them")


@pytest.mark.sim
def test_port_held_by_another_program(dut, fault_table):
    holder = serial.Serial(dut.port, exclusive=True)  # e.g. a terminal program
    try:
        res = camdiag("info", "--port", dut.port, timeout=60)
    finally:
        holder.close()
    msg = one_line_error(res)
    assert "busy" in msg
    fault_table("link", "port already held by another program", f"exit 2: `{msg}`")
    # and two camdiag at once: the second one is told, the first is undisturbed
    with dut.link():
        res = camdiag("info", "--port", dut.port, timeout=60)
    assert "busy" in one_line_error(res)


def _slow_proxy(target_port: int, bytes_per_s: int):
    """A TCP relay that passes at most bytes_per_s each way (a very slow link)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def pump(a, b):
        try:
            while True:
                data = a.recv(16)
                if not data:
                    break
                b.sendall(data)
                time.sleep(len(data) / bytes_per_s)
        except OSError:
            pass

    def serve():
        c, _ = srv.accept()
        u = socket.create_connection(("127.0.0.1", target_port))
        threading.Thread(target=pump, args=(c, u), daemon=True).start()
        threading.Thread(target=pump, args=(u, c), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return srv


@pytest.mark.sim
def test_very_slow_link(dut, fault_table):
    port = int(dut.sim.url.rsplit(":", 1)[1])
    srv = _slow_proxy(port, 1200)  # about 9600 baud
    res = camdiag("selftest", "--port", f"socket://127.0.0.1:{srv.getsockname()[1]}",
                  "--json", "--no-log", timeout=300)
    srv.close()
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["verdict"] == "healthy"
    fault_table("link", "a very slow link (1200 bytes/s, ~9600 baud)",
                "works, slower: the whole self-test record arrives, verdict healthy")


# -- corrupt files on the board ---------------------------------------------------------------
GOOD = {"wifi": {"ssid": "HomeNet", "password": PASSWORD}, "name": "porch"}
CORRUPT = {
    "truncated": lambda b: b[: min(len(b) // 2, 40)],  # a write cut short
    "garbled": lambda b: bytes((x * 31 + 7) % 256 for x in b),
    "empty": lambda b: b"",
}


def _write(dut, path, data: bytes):
    """Write a file on the board in small pieces (a 3 KB literal in one exec would itself
    strain the board's heap)."""
    dut.exec(f"f = open({path!r}, 'wb')\nf.close()")
    for i in range(0, len(data), 256):
        dut.exec(f"f = open({path!r}, 'ab')\nf.write({data[i:i + 256]!r})\nf.close()")


def _read(dut, path) -> bytes:
    out = b""
    while True:
        part = dut.exec(f"f = open({path!r}, 'rb')\nf.seek({len(out)})\n"
                        f"print(f.read(256).hex())\nf.close()").strip()
        if not part:
            return out
        out += bytes.fromhex(part)


@pytest.mark.sim  # rewrites the board's files
@pytest.mark.parametrize("how", list(CORRUPT))
def test_corrupt_config(dut, how, fault_table):
    dut.call("set_config", {"ssid": GOOD["wifi"]["ssid"], "password": PASSWORD})
    dut.call("selftest", {"log": True})
    records = log_records(dut)
    _write(dut, "/config.json", CORRUPT[how](_read(dut, "/config.json")))
    dut.reboot()
    dut.wait_app()
    info = dut.call("info")
    problem = [p for p in info["problems"] if "/config.json" in p]
    assert problem, info["problems"]
    st = dut.call("button_status")
    assert st["app"] and st["led_pattern"] == "setup"  # defaults: no Wi-Fi, setup mode
    assert log_records(dut)[: len(records)] == records
    fault_table("flash files", f"config.json {how}",
                f"boots with defaults (setup mode); info: `{problem[0]}`; log kept")
    dut.call("set_config", {"ssid": "", "password": ""})


@pytest.mark.sim
@pytest.mark.parametrize("how", list(CORRUPT))
def test_corrupt_results_log(dut, how, fault_table):
    dut.exec("import os\ntry:\n os.remove('/results.log')\nexcept OSError:\n pass")
    for _ in range(3):
        dut.call("selftest", {"log": True})
    good = [r for r in log_records(dut) if r.get("trigger") != "boot"]
    raw = _read(dut, "/results.log")
    lines = raw.split(b"\n")
    # a damaged record in the middle of the log and a torn one at its end
    lines.insert(1, CORRUPT[how](lines[1]) or b"\x00\xff")
    _write(dut, "/results.log", b"\n".join(lines) + b'{"kind": "selft')
    dut.reboot()
    dut.wait_app()
    res = dut.call("log")
    kept = [r for r in res["records"] if r.get("trigger") != "boot"]
    for r in good:
        assert r in kept, (r, kept)
    assert any("unreadable" in p for p in res["problems"]), res["problems"]
    dut.call("selftest", {"log": True})  # and the log goes on
    fault_table("flash files", f"results log: one record {how} in the middle, a torn last "
                "one",
                f"every readable record kept; log: `{res['problems'][0]}`; appends go on")


@pytest.mark.sim
@pytest.mark.parametrize("how", list(CORRUPT))
def test_corrupt_board_json(dut, how, fault_table):
    original = _read(dut, "/board.json")
    try:
        _write(dut, "/board.json", CORRUPT[how](original))
        dut.reboot()
        time.sleep(1.5)
        info = dut.call("info")
        problem = [p for p in info["problems"] if "/board.json" in p]
        assert problem and info["board"] is None, info
        shown = camdiag("info", "--port", dut.port)  # a problem to act on: exit 1, named
        assert shown.returncode == 1 and problem[0] in shown.stdout, shown
        res = camdiag("selftest", "--port", dut.port)
        msg = one_line_error(res)
        assert "board profile" in msg
        fault_table("flash files", f"board.json {how}",
                    f"boots, the device answers; info: `{problem[0]}`; selftest exit 2: "
                    f"`{msg}`")
    finally:
        _write(dut, "/board.json", original)
        dut.reboot()


# -- memory -----------------------------------------------------------------------------------
@pytest.mark.sim
def test_selftests_leave_the_heap_where_they_found_it(dut, fault_table):
    """At the ESP32-S3 heap cap: many self-tests, no MemoryError, no growth (`make soak`
    runs 1000)."""
    mem = "import gc\ngc.collect()\nprint(gc.mem_alloc())"
    with dut.link() as link:
        link.call("selftest", {"log": False})  # the first run interns names, once
        start = int(link.exec_raw(mem)[0])
        for _ in range(40):
            assert link.call("selftest", {"log": False})["verdict"] == "healthy"
        # The GC is conservative: now and then a stale word keeps a few hundred bytes of
        # garbage for one reading (seen: +192..+416 in 1 reading of 10, back to +0 at the
        # next). A leak stays: so the least of three readings, a self-test apart.
        ends = []
        for _ in range(3):
            ends.append(int(link.exec_raw(mem)[0]))
            link.call("selftest", {"log": False})
    assert min(ends) - start <= 256, (start, ends)
    fault_table("memory", "40 self-tests in a row at the heap cap (110 KB in ESP32 terms)",
                "no MemoryError; the heap after gc.collect() grew by at most 256 bytes "
                "(`make soak`: 1000 runs)")


# -- secrets ----------------------------------------------------------------------------------
@pytest.mark.sim
def test_no_output_or_file_holds_the_wifi_password(dut, tmp_path, fault_table):
    dut.call("set_config", {"ssid": "lab", "password": PASSWORD})
    dut.reboot()
    dut.wait_app()
    console_from = dut.log_path.stat().st_size  # (other tests here print config files)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home))
    outputs = []
    for args in (["info"], ["info", "--json"], ["log"], ["log", "--json"], ["selftest"],
                 ["selftest", "--json"], ["rssi", "--seconds", "1"], ["rssi", "--json",
                 "--seconds", "1"], ["rssi", "--history"], ["scan", "--json"], ["button"],
                 ["netcheck", "--json"], ["capture", "--out", str(out_dir / "rec.wav")]):
        res = camdiag(*args, "--port", dut.port, cwd=out_dir, env=env)
        assert res.returncode in (0, 1), (args, res.stderr)
        outputs.append(res.stdout + res.stderr)
    for text in outputs:
        assert PASSWORD not in text
    assert PASSWORD.encode() not in dut.log_path.read_bytes()[console_from:]  # the console
    assert PASSWORD not in json.dumps(dut.call("log"))
    assert sorted(p.name for p in out_dir.iterdir()) == ["rec.wav"]  # only what was asked
    assert list(home.iterdir()) == []
    fault_table("secrets", "Wi-Fi password configured; every command's output, the console, "
                "the results log", "the password appears nowhere; the host tools wrote only "
                "the file asked for (--out)")
    dut.call("set_config", {"ssid": "", "password": ""})
    dut.reboot()

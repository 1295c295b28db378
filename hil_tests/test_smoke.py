"""Foundation smoke test: deploy, info, soft reset, mpremote file listing."""

import subprocess
import sys
import time

import pytest

from camdiag import VERSION
from camdiag_host.deploy import deploy, reboot_into_app

MPREMOTE = [sys.executable, "-m", "mpremote"]


def test_info_reports_identity_and_versions(dut):
    info = dut.call("info")
    assert info["camdiag"] == VERSION
    assert info["micropython"].count(".") == 2
    assert len(info["unique_id"]) == 12
    assert info["reset_cause"] in ("power_on", "hard_reset", "watchdog", "soft_reset",
                                   "deepsleep", "other")
    assert info["mem_free"] > 30000
    assert info["flash"]["total_kb"] > info["flash"]["used_kb"] > 0
    assert info["problems"] == []


def test_deploy_round_trip(dut):
    board_name = "sim" if dut.sim else None
    with dut.link() as link:
        if board_name is None:
            from camdiag_host.deploy import device_board_name
            board_name = device_board_name(link)
        first = deploy(link, board_name, source=True, say=lambda s: None)
        reboot_into_app(link)
    assert first["changed"], "switching to .py sources must write files"
    assert any(p.endswith(".mpy") for p in first["removed"])
    with dut.link() as link:
        assert link.call("ping")["camdiag"]
        second = deploy(link, board_name, source=True, say=lambda s: None)
        assert second["changed"] == [] and second["removed"] == []
        back = deploy(link, board_name, source=False, say=lambda s: None)
        reboot_into_app(link)
    assert back["changed"] and all(p.endswith(".mpy") or not p.startswith("/lib")
                                   for p in back["changed"])
    assert dut.call("info")["problems"] == []


def test_soft_reset_and_mpremote_listing(dut):
    res = subprocess.run(MPREMOTE + ["connect", dut.port, "soft-reset"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    res = subprocess.run(MPREMOTE + ["connect", dut.port, "fs", "ls", ":"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    listing = res.stdout
    for name in ("boot.py", "main.py", "board.json", "lib/"):
        assert name in listing, listing
    # the board is back in its application and still answers
    assert dut.call("ping")["camdiag"]


def test_long_silent_call_does_not_time_out(dut):
    # A call that prints nothing for 31 s (mpremote's own exec gives up after 10 s).
    with dut.link() as link:
        out, err = link.exec_raw("import time\ntime.sleep(31)\nprint('done')", timeout=45)
    assert out.strip() == b"done" and err == b""


@pytest.mark.sim  # needs a board without camdiag: the virtual one can lose it safely
def test_missing_firmware_is_named(dut):
    with dut.link() as link:
        link.exec_raw("import os\nos.rename('/lib/camdiag', '/lib/camdiag_off')\n")
        link.exec_raw("import sys\nfor m in list(sys.modules):\n if m.startswith('camdiag'):"
                      "\n  del sys.modules[m]\n")
        try:
            from camdiag_host.errors import FirmwareMissing
            try:
                link.call("info")
                raise AssertionError("expected FirmwareMissing")
            except FirmwareMissing as e:
                assert "camdiag firmware not found on" in str(e)
                assert "run camdiag deploy" in str(e)
        finally:
            link.exec_raw("import os\nos.rename('/lib/camdiag_off', '/lib/camdiag')\n")
            reboot_into_app(link)  # leave the board as we found it: a fresh boot


@pytest.mark.rig("power_cycle")
def test_power_on_runs_a_selftest_into_the_log(dut, rig):
    before = dut.call("log")["records"]
    rig.power_cycle()
    dut.wait_app(timeout=60)
    end = time.monotonic() + 30
    while True:  # the power-on self-test runs as the app starts
        records = dut.call("log")["records"]
        if len(records) > len(before) or time.monotonic() > end:
            break
        time.sleep(1)
    info = dut.call("info")
    assert info["reset_cause"] == "power_on"
    post = records[-1]
    assert post["kind"] == "selftest" and post["trigger"] == "boot", post
    assert post["verdict"] == "healthy" and post["uptime_s"] <= info["uptime_s"]


def test_soft_reset_runs_no_selftest(dut):
    n = len(dut.call("log")["records"])
    dut.reboot()
    dut.wait_app()
    time.sleep(1)
    assert len(dut.call("log")["records"]) == n  # a soft reset is a tool, not a power-on


def _app_ticks(dut):
    with dut.link() as link:
        out, err = link.exec_raw("import camdiag.app as a\nprint(a.STATE['ticks'])")
    assert not err, err
    return int(out)


def test_board_returns_to_its_application_after_a_session(dut):
    first = _app_ticks(dut)
    time.sleep(1.0)
    # the app's 20 ms loop ran between the two sessions: the link resumed it
    log = dut.sim.log_path.read_bytes()[-800:] if dut.sim else b""
    assert _app_ticks(dut) >= first + 20, log


def test_mpremote_cp_exec_run(dut, tmp_path):
    src = tmp_path / "hello.txt"
    src.write_text("camdiag\n")
    script = tmp_path / "script.py"
    script.write_text("print(6 * 7)\n")
    back = tmp_path / "back.txt"
    steps = [
        ["fs", "cp", str(src), ":hello.txt"],
        ["fs", "cp", ":hello.txt", str(back)],
        ["exec", "import os; print(os.stat('hello.txt')[6])"],
        ["run", str(script)],
        ["fs", "rm", ":hello.txt"],
    ]
    outs = []
    for args in steps:
        res = subprocess.run(MPREMOTE + ["connect", dut.port, *args], capture_output=True,
                             text=True, timeout=60)
        assert res.returncode == 0, (args, res.stdout, res.stderr)
        outs.append(res.stdout)
    assert back.read_text() == "camdiag\n"
    assert outs[2].strip() == "8" and outs[3].strip() == "42"

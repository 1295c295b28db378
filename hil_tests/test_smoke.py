"""Foundation smoke test: deploy, info, soft reset, mpremote file listing."""

import subprocess
import sys

from camdiag import VERSION
from camdiag_host.deploy import deploy, reboot_into_app

MPREMOTE = [sys.executable, "-m", "mpremote"]


def test_info_reports_identity_and_versions(board):
    info = board.call("info")
    assert info["camdiag"] == VERSION
    assert info["micropython"].count(".") == 2
    assert len(info["unique_id"]) == 12
    assert info["reset_cause"] in ("power_on", "hard_reset", "watchdog", "soft_reset",
                                   "deepsleep")
    assert info["mem_free"] > 30000
    assert info["flash"]["total_kb"] > info["flash"]["used_kb"] > 0
    assert info["problems"] == []


def test_deploy_round_trip(board):
    board_name = "sim" if board.sim else None
    with board.link() as link:
        if board_name is None:
            from camdiag_host.deploy import device_board_name
            board_name = device_board_name(link)
        first = deploy(link, board_name, source=True, say=lambda s: None)
        reboot_into_app(link)
    assert first["changed"], "switching to .py sources must write files"
    assert any(p.endswith(".mpy") for p in first["removed"])
    with board.link() as link:
        assert link.call("ping")["camdiag"]
        second = deploy(link, board_name, source=True, say=lambda s: None)
        assert second["changed"] == [] and second["removed"] == []
        back = deploy(link, board_name, source=False, say=lambda s: None)
        reboot_into_app(link)
    assert back["changed"] and all(p.endswith(".mpy") or not p.startswith("/lib")
                                   for p in back["changed"])
    assert board.call("info")["problems"] == []


def test_soft_reset_and_mpremote_listing(board):
    res = subprocess.run(MPREMOTE + ["connect", board.port, "soft-reset"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    res = subprocess.run(MPREMOTE + ["connect", board.port, "fs", "ls", ":"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    listing = res.stdout
    for name in ("boot.py", "main.py", "board.json", "lib/"):
        assert name in listing, listing
    # the board is back in its application and still answers
    assert board.call("ping")["camdiag"]


def test_long_silent_call_does_not_time_out(board):
    # A call that prints nothing for 31 s (mpremote's own exec gives up after 10 s).
    with board.link() as link:
        out, err = link.exec_raw("import time\ntime.sleep(31)\nprint('done')", timeout=45)
    assert out.strip() == b"done" and err == b""


def test_missing_firmware_is_named(board):
    if board.sim is None:
        return  # would need a board without camdiag
    with board.link() as link:
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


def _app_ticks(board):
    with board.link() as link:
        out, err = link.exec_raw("import camdiag.app as a\nprint(a.STATE['ticks'])")
    assert not err, err
    return int(out)


def test_board_returns_to_its_application_after_a_session(board):
    import time

    first = _app_ticks(board)
    time.sleep(1.0)
    # the app's 20 ms loop ran between the two sessions: the link resumed it
    log = board.sim.log_path.read_bytes()[-800:] if board.sim else b""
    assert _app_ticks(board) >= first + 20, log


def test_mpremote_cp_exec_run(board, tmp_path):
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
        res = subprocess.run(MPREMOTE + ["connect", board.port, *args], capture_output=True,
                             text=True, timeout=60)
        assert res.returncode == 0, (args, res.stdout, res.stderr)
        outs.append(res.stdout)
    assert back.read_text() == "camdiag\n"
    assert outs[2].strip() == "8" and outs[3].strip() == "42"

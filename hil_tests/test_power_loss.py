"""Power loss during a factory reset and during a results-log append (virtual board only).

The virtual board's flash is a file written block by block; a power cut kills the board
process on its N-th block write from the moment it is armed, so the image holds exactly the
blocks written before. After each cut the board powers on again and boots; then:
- the config is the old one or the defaults, never half of either;
- no factory-reset marker is left (an interrupted reset finished at boot);
- once the config is the defaults, the image holds no byte of the old Wi-Fi password;
- the results log reads back with every earlier record, losing at most the one written.
"""

import json
import shutil
import time

import pytest

from camdiag_host.link import DeviceLink
from camdiag_host.simboard import VirtualBoard

pytestmark = pytest.mark.sim

PASSWORD = "correct-horse-battery-staple-42"
OLD = {"ssid": "HomeNet", "password": PASSWORD}
BLOCKS = 64  # a 256 KB flash keeps the free-space fill short


def _board(flash):
    # (no flash timing: these tests are about what a cut leaves, at every write; the
    # timing of a real fill is test_factory_reset_flash.py's)
    vb = VirtualBoard(options={"realtime": "0", "flash_timing": "instant"}, flash=flash,
                      flash_blocks=BLOCKS)
    vb.start()
    assert vb.wait_ready(15)
    return vb


def _count_writes(vb, code):
    with DeviceLink(vb.port) as link:
        link.exec_raw("import simctl\nsimctl.FLASH.writes = 0")
        out, err = link.exec_raw(code + "\nimport simctl\nprint('W', simctl.FLASH.writes)")
    assert not err, err
    return int(out.split(b"W")[-1])


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Flash templates: Wi-Fi configured with 3 results logged, and the write counts of
    a factory reset and of one log append from there."""
    d = tmp_path_factory.mktemp("flash")
    template = d / "configured.img"
    vb = _board(template)
    try:
        with DeviceLink(vb.port) as link:
            link.call("set_config", OLD)
            for _ in range(3):
                link.call("selftest", {"log": True})
    finally:
        vb.stop()
    counts = {}
    for name, code in (("reset", "from camdiag import store\nstore.factory_reset()"),
                       ("append", "from camdiag import store\n"
                                  "store.append_record({'kind': 'test', 'n': 4})")):
        probe = d / f"probe-{name}.img"
        shutil.copyfile(template, probe)
        vb = _board(probe)
        try:
            counts[name] = _count_writes(vb, code)
        finally:
            vb.stop()
    return template, counts


def _cut_during(template, tmp_path, writes, code):
    """Run code on a fresh copy of the template, cutting power at the given write; return
    the board (powered on again and booted) and whether the cut happened."""
    flash = tmp_path / f"cut-{writes}.img"
    shutil.copyfile(template, flash)
    vb = _board(flash)
    with DeviceLink(vb.port) as link:
        vb.power_cut_after(writes)
        link.transport.exec_raw_no_follow(code + "\nprint('#DONE#')")
        end = time.monotonic() + 120  # (a bound for a hung board, not a speed: CI is loaded)
        while time.monotonic() < end and not vb.exits and b"#DONE#" not in \
                vb.log_path.read_bytes():
            time.sleep(0.02)
        cut = bool(vb.exits)
        link.close(resume=False)
    assert vb.wait_ready(60)
    # boot.py finishes an interrupted reset before anything else; a host connecting now
    # would interrupt that (the app finishes it when the host hands the board back)
    end = time.monotonic() + 120
    while not vb.booted_path.exists() and time.monotonic() < end:
        time.sleep(0.05)
    return vb, cut


def _read(vb, path):
    with DeviceLink(vb.port) as link:
        out, err = link.exec_raw(f"print(open({path!r}).read())")
        assert not err, err
        state = link.call("boot_state")
        problems = link.call("info")["problems"]
        marker, _ = link.exec_raw("import os\ntry:\n os.stat('/factory_reset.marker')\n"
                                  " print('MARKER')\nexcept OSError:\n print('none')")
    return out.decode(), state, problems, marker.strip().decode()


def _reset_points(total):
    # every write of the marker / temp / scrub / rename steps, then a sample through the
    # free-space fill, and its very end
    return sorted(set(list(range(1, 61)) + list(range(61, total, 113)) +
                      [total - 2, total - 1, total, total + 1]))


@pytest.mark.parametrize("chunk", range(4))
def test_factory_reset_survives_a_cut_at_every_step(images, tmp_path, chunk, fault_table):
    template, counts = images
    points = _reset_points(counts["reset"])[chunk::4]
    for n in points:
        vb, cut = _cut_during(template, tmp_path, n,
                              "from camdiag import store\nstore.factory_reset()")
        try:
            text, state, problems, marker = _read(vb, "/config.json")
            cfg = json.loads(text)  # never half: it always parses
            assert cfg["wifi"] in (OLD, {"ssid": "", "password": ""}), (n, cfg)
            assert marker == "none", n
            if cfg["wifi"]["ssid"] == "":
                assert PASSWORD.encode() not in vb.flash.read_bytes(), \
                    f"password bytes left in flash after a reset cut at write {n}"
            if n > counts["reset"]:
                assert not cut
        finally:
            vb.stop()
    # (the number of writes follows the firmware's size: not in the row, or the table
    # would keep a stale row for every size)
    fault_table("power loss", f"power cut during a factory reset (every 4th write from "
                f"{chunk + 1}, to the end)",
                "config old or defaults, never half; no marker left; no byte of the old "
                "password in the flash image once reset")


def test_log_append_loses_at_most_the_record_being_written(images, tmp_path, fault_table):
    template, counts = images
    for n in range(1, counts["append"] + 2):
        vb, cut = _cut_during(template, tmp_path, n,
                              "from camdiag import store\n"
                              "store.append_record({'kind': 'test', 'n': 4})")
        try:
            with DeviceLink(vb.port) as link:
                records = link.call("log")["records"]
        finally:
            vb.stop()
        # (power-on self-tests add their own records at each power-on: not the subject)
        kinds = [r["kind"] for r in records if r.get("trigger") != "boot"]
        assert kinds[:3] == ["selftest"] * 3, (n, kinds)
        assert kinds[3:] in ([], ["test"]), (n, kinds)
        if not cut:
            assert kinds[3:] == ["test"]
    fault_table("power loss", f"power cut at each of the {counts['append']} writes of a "
                "results-log append", "every earlier record kept; the one being written is "
                "whole or absent")

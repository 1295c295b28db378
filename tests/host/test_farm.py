"""A labgrid farm on 127.0.0.1: `camdiag farm`'s places, reserved, acquired, resolved and
released through a real labgrid coordinator, and the labgrid rig acting on a board."""

import json
import subprocess
import sys
import time

import pytest

pytest.importorskip("labgrid")

from camdiag_host.errors import CamdiagError  # noqa: E402
from camdiag_host.farm import BOARD_TAG  # noqa: E402
from camdiag_host.farm.host import Farm, client  # noqa: E402
from camdiag_host.farm.places import Places  # noqa: E402
from camdiag_host.farm.rig import LabgridRig  # noqa: E402
from camdiag_host.link import DeviceLink  # noqa: E402


@pytest.fixture(scope="module")
def farm():
    with Farm(boards=2, options={"realtime": "0"}) as f:
        yield f


def test_the_farm_publishes_one_tagged_place_per_board(farm):
    assert sorted(farm.places) == [f"{BOARD_TAG}-1", f"{BOARD_TAG}-2"]
    shown = client(farm.coordinator, "-p", f"{BOARD_TAG}-1", "show")
    assert f"board={BOARD_TAG}" in shown
    assert f"unique_id={farm.boards[f'{BOARD_TAG}-1']._uid()}" in shown


def test_places_are_reserved_resolved_checked_and_released(farm):
    lg = Places(farm.coordinator, wait_s=30)
    try:
        taken = lg.take(filters=[f"board={BOARD_TAG}"], count=2)
        assert sorted(p.name for p in taken) == sorted(farm.places)
        for p in taken:  # each URL reaches the board the place is tagged with
            assert p.url == farm.boards[p.name].url
            with DeviceLink(p.url) as link:
                assert link.call("info")["unique_id"] == p.tags["unique_id"]
        # a second client cannot take a place that is held: one line, who holds it
        other = Places(farm.coordinator)
        with pytest.raises(CamdiagError) as e:
            other.take(names=[taken[0].name])
        assert "already acquired" in str(e.value) and "\n" not in str(e.value)
    finally:
        assert lg.release() == []
    # released: free for the next client
    again = Places(farm.coordinator)
    try:
        assert [p.name for p in again.take(names=[f"{BOARD_TAG}-2"])] == [f"{BOARD_TAG}-2"]
    finally:
        again.release()


def test_the_labgrid_rig_presses_and_power_cycles_through_the_places_drivers(farm):
    name = f"{BOARD_TAG}-1"
    lg = Places(farm.coordinator)
    lg.take(names=[name])
    rig = LabgridRig(name, [[farm.boards[name].url, name, farm.coordinator]])
    try:
        assert rig.why_not(["press_button", "power_cycle", "hold_at_boot"]) is None
        rig.press_button(120)  # a click, through HttpDigitalOutput
        time.sleep(1.5)
        with DeviceLink(farm.boards[name].url) as link:
            st = link.call("button_status")
        assert "click" in st["recent_actions"], st
        rig.power_cycle()  # NetworkPowerPort (simplerest): off 2 s, on
        vb = farm.boards[name]
        assert vb.wait_ready(30)
        time.sleep(2)
        with DeviceLink(vb.url) as link:
            info = link.call("info")
        assert info["reset_cause"] == "power_on" and info["uptime_s"] < 20, info
    finally:
        rig.close()
        lg.release()


def test_farm_real_without_boards_is_a_one_line_error():
    res = subprocess.run([sys.executable, "-m", "camdiag_host.cli", "farm", "--real"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2, res
    assert res.stderr.startswith("camdiag: ") and len(res.stderr.strip().splitlines()) == 1


def test_exporter_yaml_for_real_boards_matches_by_usb_serial(monkeypatch):
    import yaml

    from camdiag_host import ports
    from camdiag_host.farm import host

    monkeypatch.setattr(ports, "likely_esp32_ports", lambda: [
        ports.PortInfo("/dev/ttyACM0", "USB JTAG", "303a:1001", True, "ESP32-S3", "F412FA0C")])
    text = host.real_exporter_yaml()
    groups = yaml.safe_load(text)
    assert groups == {"camdiag-F412FA0C": {"USBSerialPort": {
        "match": {"ID_SERIAL_SHORT": "F412FA0C"}, "speed": 115200}}}
    assert "ser2net raises DTR and RTS" in text
    json.dumps(groups)

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


def test_rfc2217_places_reach_their_board_and_refuse_a_second_client():
    """`camdiag farm --serial rfc2217`: each place's NetworkSerialPort is its board's pty
    behind an RFC2217 server (what ser2net does for a bench board); the URL a client
    resolves carries ?ign_set_control, and a second client is refused rather than mixed in
    (ser2net would let it in)."""
    import serial

    with Farm(boards=1, options={"realtime": "0"}, serial="rfc2217") as farm:
        name = farm.places[0]
        lg = Places(farm.coordinator, wait_s=30)
        try:
            (place,) = lg.take(names=[name])
            assert place.url.startswith("rfc2217://127.0.0.1:")
            assert place.url.endswith("?ign_set_control") and place.url == farm.url(name)
            with DeviceLink(place.url) as link:
                assert link.call("info")["unique_id"] == farm.boards[name]._uid()
                with pytest.raises((serial.SerialException, OSError)):  # refused, not mixed
                    serial.serial_for_url(place.url, timeout=1).close()
                assert link.call("info")["unique_id"] == farm.boards[name]._uid()
        finally:
            lg.release()
        assert farm.rfc2217[name].refused == 1
        with DeviceLink(place.url) as link:
            assert link.call("info")["unique_id"] == farm.boards[name]._uid()


HIL_SUBSET = ["hil_tests/test_smoke.py::test_info_reports_identity_and_versions",
              "hil_tests/test_button.py::test_click_and_double_click",
              "hil_tests/test_smoke.py::test_power_on_runs_a_selftest_into_the_log"]


def test_the_hil_suite_runs_through_reserved_places(farm, tmp_path):
    """A HIL subset as a test engineer runs it on a farm: places reserved by tag, one
    worker per place, the button pressed and the power cycled through labgrid drivers;
    every result named by its place, in the summary and the JUnit XML, and every place
    free again at the end."""
    import xml.etree.ElementTree as ET

    from camdiag_host import ROOT

    junit = tmp_path / "junit.xml"
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *HIL_SUBSET,
         "--lg-coordinator", farm.coordinator, "--lg-reserve", f"board={BOARD_TAG}",
         "--boards", "2", "--rig", "labgrid", "--hil-logs", str(tmp_path),
         f"--junitxml={junit}"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "6 passed" in res.stdout, res.stdout[-1500:]
    cases = ET.parse(junit).getroot().iter("testcase")
    boards: dict = {}
    for case in cases:
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        name = case.get("name").split("@")[0]  # (xdist's loadgroup suffix: @<group>)
        assert name.endswith(f"[{props['board']}]"), case.attrib
        boards.setdefault(props["board"], []).append(name.split("[")[0])
    assert sorted(boards) == sorted(farm.places)  # results per place, each place all three
    for names in boards.values():
        assert sorted(names) == sorted(t.split("::")[1] for t in HIL_SUBSET)
    assert sorted(p.name for p in tmp_path.glob("*.log")) == sorted(
        f"{p}.log" for p in farm.places)
    assert client(farm.coordinator, "who").strip().splitlines()[1:] == []  # all released

"""Time on the board runs as on the ESP32: ticks_ms() has a period of 2**30 (py/mpconfig.h,
ports/esp32/mphalport.c), so ticks_diff spans only +-6.2 days. This board boots 20 s before
the ticks wrap; the app, its uptime and the button must carry on across it. (The virtual
board's option; on a bench the wrap comes 12.4 days after a reset.)"""

import time

import pytest

SIM_OPTIONS = {"ticks_start_ms": str((1 << 30) - 20000)}
WRAP = 1 << 30


@pytest.mark.sim
def test_ticks_have_the_esp32_period(dut):
    out = dut.exec("import time\nprint(time.ticks_add(0, -1), time.ticks_diff(0, %d))"
                   % (WRAP - 1))
    assert out.split() == [str(WRAP - 1), "1"], out


@pytest.mark.sim
@pytest.mark.rig("press_button")
def test_the_app_runs_on_across_the_ticks_wrap(dut, rig):
    end = time.monotonic() + 60
    while True:  # until ticks_ms() has wrapped
        ticks = int(dut.exec("import time\nprint(time.ticks_ms())").strip())
        if ticks < WRAP // 2:
            break
        assert time.monotonic() < end, ticks
        time.sleep(2)
    info = dut.call("info")
    assert 20 <= info["uptime_s"] < 300, info["uptime_s"]  # not negative, not 12 days
    dut.console()
    rig.press_button(120)
    assert dut.expect_event("click")[-1] == "click"
    assert dut.call("button_status")["app"]

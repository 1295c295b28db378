"""The virtual board's heap = the firmware's ESP32-S3 budget + what the sim itself uses.

If the sim's own modules grow past SIM_OVERHEAD_KB, the firmware silently gets less than its
110 KB: this test says so, so the constant is raised with the sim, not by the firmware."""

from camdiag_host.bench import sim_overhead
from camdiag_host.simboard import FIRMWARE_HEAP_KB, SIM_OVERHEAD_KB


def test_sim_overhead_fits_its_allowance():
    used = sim_overhead()
    assert used <= SIM_OVERHEAD_KB * 1024, (used, SIM_OVERHEAD_KB)
    # and the allowance is not padding for the firmware either (within 3 KB)
    assert SIM_OVERHEAD_KB * 1024 - used < 3 * 1024, (used, SIM_OVERHEAD_KB)
    assert FIRMWARE_HEAP_KB == 110

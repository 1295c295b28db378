"""The set-up's one `serial` package: pyserial-labgrid, whose RFC2217 port does not re-send
the port settings at every timeout change (pyserial 3.5 does: ~150 ms each over a farm)."""

import serial
import serial.rfc2217


def test_the_serial_package_is_the_labgrid_fork():
    assert serial.__version__ == "3.5.0.2", serial.__file__
    # the fork's fix: rfc2217.Serial has its own timeout setter (no _reconfigure_port)
    assert "timeout" in vars(serial.rfc2217.Serial)

"""`--rig labgrid`: press, hold and power cycle through the place's labgrid drivers.

One labgrid Target per place, with the place as a RemotePlace, in the test's own process,
so a press of N ms is N ms: the button is the place's DigitalOutputProtocol (an
HttpDigitalOutput on a `camdiag farm` or a bench's HTTP relay, a ModbusTCPCoil, ...) and
the power its PowerProtocol (NetworkPowerPort). Asserted output = button pressed.
"""

from __future__ import annotations

import time

# (resource class on the place -> the labgrid driver that acts through it)
BUTTON_DRIVERS = {"HttpDigitalOutput": "HttpDigitalOutputDriver",
                  "ModbusTCPCoil": "ModbusCoilDriver"}
POWER_DRIVERS = {"NetworkPowerPort": "NetworkPowerDriver"}
OFF_S = 2.0  # power off this long in a cycle (a bench supply's caps drain)


class LabgridRig:
    name = "labgrid"

    def __init__(self, place: str | None, places: list | None):
        self.place = place
        self.target = None
        self.button = self.power = None
        self.error = None
        if not place:
            self.error = "labgrid rig: the board is not a labgrid place (--lg-place or " \
                         "--lg-reserve)"
            return
        coordinator = next(c for _u, n, c in places if n == place)
        try:
            import labgrid.driver as drivers
            from labgrid import Target
            from labgrid.resource import RemotePlace

            from .places import caught_up, use_coordinator

            use_coordinator(coordinator)
            self.target = Target(place)
            caught_up(lambda: RemotePlace(self.target, name=place))
            have = {type(r).__name__ for r in self.target.resources}
            for res, drv in BUTTON_DRIVERS.items():
                if res in have and self.button is None:
                    self.button = getattr(drivers, drv)(self.target, name=None)
                    self._activate(self.button)
            for res, drv in POWER_DRIVERS.items():
                if res in have and self.power is None:
                    self.power = getattr(drivers, drv)(self.target, name=None, delay=OFF_S)
                    self._activate(self.power)
        except Exception as e:  # noqa: BLE001 - reported as the skip reason
            self.error = f"labgrid rig: place {place}: {type(e).__name__}: {e}"

    def _activate(self, driver) -> None:
        from .places import caught_up

        caught_up(lambda: self.target.activate(driver))

    @property
    def caps(self) -> frozenset:
        caps = {"restore"}
        if self.button is not None:
            caps.add("press_button")
        if self.power is not None:
            caps.add("power_cycle")
        if self.button is not None and self.power is not None:
            caps.add("hold_at_boot")
        return frozenset(caps)

    def why_not(self, needed) -> str | None:
        if needed and self.error:
            return self.error
        miss = [c for c in needed if c not in self.caps]
        if miss:
            return (f"labgrid rig: place {self.place} has no driver to {', '.join(miss)} "
                    f"(button: {', '.join(BUTTON_DRIVERS)}; power: {', '.join(POWER_DRIVERS)})")
        return None

    def press_button(self, ms: int, count: int = 1, gap_ms: int = 250) -> None:
        for i in range(count):
            if i:
                time.sleep(gap_ms / 1000)
            self.button.set(True)
            time.sleep(ms / 1000)
            self.button.set(False)

    def power_cycle(self) -> None:
        self.power.cycle()

    def hold_at_boot(self, ms: int = 3000) -> None:
        self.button.set(True)
        try:
            self.power.cycle()
            time.sleep(ms / 1000)
        finally:
            self.button.set(False)

    def restore(self) -> None:
        if self.button is not None:
            self.button.set(False)
        if self.power is not None and not self.power.get():
            self.power.on()

    def close(self) -> None:
        if self.target is not None:
            self.target.cleanup()
            self.target = None

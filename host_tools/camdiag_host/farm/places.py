"""The client side of a farm: labgrid places for the HIL suite.

`Places.take()` reserves (by tags, through the coordinator's reservations) or names the
places, acquires each (a place someone holds is refused with who holds it), resolves each
to a port URL from its NetworkSerialPort, and checks that the board answering there is the
one the place is tagged with (`unique_id`): a restarted board can take a dead one's port,
and a place would then silently reach another board. `release()` gives everything back;
the HIL plugin calls it at the session's end, on failure and on Ctrl-C too.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field

from ..errors import CamdiagError
from . import DEFAULT_COORDINATOR
from .host import client


@dataclass
class Place:
    name: str
    url: str = ""
    tags: dict = field(default_factory=dict)


def caught_up(fn, wait_s: float = 10.0):
    """fn() with labgrid's RemotePlace session, retried while that session's copy of the
    coordinator's state is behind: a session started earlier in this process (a place
    resolved, then released and acquired again) says "place ... is not acquired" until its
    event loop has run and seen the change."""
    from labgrid.remote.client import UserError
    from labgrid.resource.remote import RemotePlaceManager

    end = time.monotonic() + wait_s
    while True:
        try:
            return fn()
        except UserError:
            if time.monotonic() > end:
                raise
            RemotePlaceManager.get().poll()


def use_coordinator(coordinator: str) -> None:
    """Point labgrid's RemotePlace at this coordinator. labgrid keeps one coordinator
    session per process (RemotePlaceManager, a singleton that reads $LG_COORDINATOR once):
    a process that talks to a second coordinator would silently resolve its places on the
    first one, so that session is dropped and the next RemotePlace starts a new one."""
    from labgrid.resource.common import ResourceManager
    from labgrid.resource.remote import RemotePlaceManager

    os.environ["LG_COORDINATOR"] = coordinator
    mgr = ResourceManager.instances.get(RemotePlaceManager)
    if mgr is not None and mgr.session is not None and mgr.url != coordinator:
        del ResourceManager.instances[RemotePlaceManager]


def port_url(host: str, port: int, protocol: str) -> str:
    """A NetworkSerialPort as a pyserial URL. RFC2217 (ser2net on the exporter) with
    ?ign_set_control: without it pyserial's open waits for a modem-line answer that a pty
    behind ser2net never gives, and fails."""
    if protocol == "raw":
        return f"socket://{host}:{port}"
    if protocol == "rfc2217":
        return f"rfc2217://{host}:{port}?ign_set_control"
    raise CamdiagError(f"NetworkSerialPort protocol {protocol!r}: camdiag knows raw and "
                       "rfc2217")


class Places:
    def __init__(self, coordinator: str | None = None, wait_s: float = 60.0):
        self.coordinator = coordinator or os.environ.get("LG_COORDINATOR") or \
            DEFAULT_COORDINATOR
        self.wait_s = wait_s
        self.tokens: list[str] = []
        self.acquired: list[str] = []
        self.places: list[Place] = []

    def _client(self, *args: str, timeout: float = 60.0) -> str:
        return client(self.coordinator, *args, timeout=timeout)

    def reserve(self, filters: list[str], count: int) -> list[str]:
        """count places matching the tag filters (KEY=VALUE), through the coordinator's
        reservations (one each); waits up to wait_s for them to be free."""
        for _ in range(count):
            out = self._client("reserve", "--shell", *filters)
            m = re.search(r"LG_TOKEN=(\w+)", out)
            if not m:
                raise CamdiagError(f"labgrid: no reservation token in {out.strip()!r}")
            self.tokens.append(m.group(1))
        names = []
        end = time.monotonic() + self.wait_s
        for token in self.tokens:
            try:
                self._client("wait", token, timeout=max(1.0, end - time.monotonic()))
            except CamdiagError:
                raise CamdiagError(
                    f"labgrid: {len(names)} of {count} places matching {' '.join(filters)} "
                    f"free after {self.wait_s:.0f} s (labgrid-client -x {self.coordinator} "
                    "places lists them)") from None
            m = re.search(r"^Place '([^']+)'", self._client("-p", f"+{token}", "show"), re.M)
            if not m:
                raise CamdiagError(f"labgrid: reservation {token} names no place")
            names.append(m.group(1))
        return names

    def acquire(self, name: str) -> None:
        try:
            self._client("-p", name, "acquire")
        except CamdiagError as e:
            raise CamdiagError(f"place {name}: {str(e).removeprefix('labgrid: ')}") from None
        self.acquired.append(name)

    def resolve(self, name: str) -> Place:
        """The place's serial port URL and tags, from the coordinator (labgrid's
        RemotePlace, as a labgrid environment would)."""
        use_coordinator(self.coordinator)
        from labgrid import Target
        from labgrid.resource import NetworkSerialPort, RemotePlace

        def look():
            target = Target(name)
            try:
                remote = RemotePlace(target, name=name)
                try:
                    res = target.get_resource(NetworkSerialPort)
                except Exception:  # noqa: BLE001 - labgrid's NoResourceFoundError and kin
                    raise CamdiagError(f"place {name} has no NetworkSerialPort (its exporter "
                                       "is down, or it exports the port another way)") from None
                return Place(name, port_url(res.host, res.port, res.protocol),
                             dict(remote.tags))
            finally:
                target.cleanup()

        return caught_up(look)

    def check_board(self, place: Place) -> None:
        """The board at the place's URL is the one its unique_id tag names."""
        want = place.tags.get("unique_id")
        if not want:
            return
        from ..link import DeviceLink

        with DeviceLink(place.url) as link:
            got = link.call("info", timeout=30).get("unique_id")
        if got != want:
            raise CamdiagError(f"place {place.name} reaches board {got} at {place.url}, not "
                               f"{want} (its tag): a restarted board took another's port?")

    def take(self, names: list[str] | None = None, filters: list[str] | None = None,
             count: int = 1) -> list[Place]:
        try:
            names = list(names or []) + (self.reserve(filters, count) if filters else [])
            for name in names:
                self.acquire(name)
            self.places = [self.resolve(name) for name in names]
            for p in self.places:
                self.check_board(p)
        except BaseException:
            self.release()
            raise
        return self.places

    def release(self) -> list[str]:
        """Release every place acquired and cancel every reservation made; the problems
        (one line each), if any."""
        problems = []
        for name in self.acquired:
            try:
                self._client("-p", name, "release", timeout=20)
            except CamdiagError as e:
                problems.append(f"release {name}: {e}")
        for token in self.tokens:
            try:
                self._client("cancel-reservation", token, timeout=20)
            except CamdiagError:
                pass  # (an allocated reservation ends with its place anyway)
        self.acquired, self.tokens = [], []
        return problems

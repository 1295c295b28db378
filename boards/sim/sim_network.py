# Simulated `network` module: the ESP32 port's WLAN API over a radio model.
#
# Radio scenarios (sim://?rssi=NAME, or a number for a steady level in dBm; changed at run
# time by the control message {"kind": "radio", "rssi": NAME, "scan": TABLE, "t0": epoch}):
#   steady_good   -52 dBm +-1
#   fair          -70 dBm +-1 (below the -67 voice cell edge: a warning)
#   weak          -80 dBm +-1
#   walk_away     -55 dBm drifting to -85 over 20 s, then staying there
#   obstacle      -55 dBm, after 5 s a step down to -78 (a door, a fridge moved in the way)
#   interference  -60 dBm with +-12 dB of noise on every reading
#   flapping      up 3 s, down 2 s (beacon timeout 200, then no AP found 201), again and again
#   no_ap         never connects: no AP found (201, after the first 2 s attempt)
#   wrong_password never connects: 1001 and 202 in turn (ESP-IDF's 15 and 205)
#   refused       the AP is seen but refuses association (203): status() stays 1001
# Scan tables (sim://?scan=NAME): clean (own AP alone on channel 6) or crowded (strong
# neighbours on and next to channel 6, a mesh node of our own SSID on 11).
# Scenario time runs from the moment the scenario was set (board start or the control
# message), on the wall clock, so it carries on across soft reboots.
import time

import simctl

STA_IF = 0
AP_IF = 1
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_BEACON_TIMEOUT = 200
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202
STAT_ASSOC_FAIL = 203
STAT_CONNECT_FAIL = 203
STAT_HANDSHAKE_TIMEOUT = 204
STAT_NO_AP_FOUND_W_COMPATIBLE_SECURITY = 210
STAT_NO_AP_FOUND_IN_AUTHMODE_THRESHOLD = 211
STAT_NO_AP_FOUND_IN_RSSI_THRESHOLD = 212

SCENARIOS = ("steady_good", "fair", "weak", "walk_away", "obstacle", "interference",
             "flapping", "no_ap", "wrong_password", "refused")
SCANS = ("clean", "crowded")
CONNECT_MS = 300  # association + DHCP
SCAN_MS = 2400  # an all-channel scan takes 2-3 s on an ESP32

_OPTS = simctl.OPTS

# One radio: every WLAN(STA_IF) object shares its state, as on the ESP32.
_RADIO = {"active": False, "ssid": "", "scenario": "steady_good",
          "level": None, "scan": "clean", "t0": time.time(), "seed": 1,
          "cfg": {"pm": 1, "txpower": 20, "reconnects": -1,
                  "mac": b"\xa0\xb1\xc2\xd3\xe4\xf5", "ssid": ""}}


def set_scenario(rssi=None, scan=None, t0=None):
    if rssi is not None:
        try:
            _RADIO["level"] = int(rssi)
            _RADIO["scenario"] = "steady"
        except ValueError:
            if rssi not in SCENARIOS:
                raise ValueError("unknown radio scenario %r" % rssi)
            _RADIO["scenario"] = rssi
            _RADIO["level"] = None
    if scan is not None:
        if scan not in SCANS:
            raise ValueError("unknown scan table %r" % scan)
        _RADIO["scan"] = scan
    if t0 is not None:
        _RADIO["t0"] = float(t0)
    if rssi is not None and _DRV is not None:
        _restart(_RADIO["t0"])


_DRV = None  # the station driver (below)


def _on_radio(msg):
    set_scenario(msg.get("rssi"), msg.get("scan"), msg.get("t0"))


simctl.CONTROL.on("radio", _on_radio)


def _noise(span):
    """Uniform integer noise in [-span, span] (LCG: deterministic for a seed)."""
    s = (_RADIO["seed"] * 1103515245 + 12345) & 0x7FFFFFFF
    _RADIO["seed"] = s
    return (s >> 8) % (2 * span + 1) - span if span else 0


def _t(at=None):
    return (time.time() if at is None else at) - _RADIO["t0"]


def _level():
    """dBm of the scenario right now (while associated)."""
    sc = _RADIO["scenario"]
    t = _t()
    if sc == "steady":
        return _RADIO["level"] + _noise(1)
    if sc == "flapping":
        return -66 + _noise(2)
    if sc == "walk_away":
        return int(-55 - 30 * min(1.0, max(0.0, t) / 20)) + _noise(1)
    if sc == "obstacle":
        return (-55 if t < 5 else -78) + _noise(1)
    if sc == "interference":
        return -60 + _noise(12)
    return {"steady_good": -52, "fair": -70, "weak": -80}.get(sc, -60) + _noise(1)


# -- the station driver, as ports/esp32/network_wlan.c keeps it -------------------------------
# The port keeps three things: connect requested, connected (GOT_IP), and the reason of the
# last STA_DISCONNECTED event (a uint8, cleared only by GOT_IP). On every disconnect it calls
# esp_wifi_connect() again at once, endlessly unless config(reconnects=n) was set (connect()
# restarts that count). status() is computed from those three (network_wlan_status):
#   connected -> 1010; reason 201, 210, 211, 212 -> itself; 202 or 205 -> 202; 8 -> 1000;
#   else requested and retries left -> 1001; else reason 0 -> 1000; else the reason.
# So a beacon timeout (200) is never visible (the retry makes it 1001), and a wrong password
# alternates 1001 and 202: ESP-IDF reports a 4-way handshake timeout (15) and a connection
# failure (205) in turn, about 2.4 s apart (micropython/micropython#11625's log).
# What the air gives an attempt, per scenario: (reason, ms the attempt takes); reason 0 is a
# success (association + DHCP in CONNECT_MS).
NO_AP_MS = 2000  # a connect scans every channel before it gives up with 201
HANDSHAKE_MS = 2400
REFUSED_MS = 1000
_DRV = {"requested": False, "connected": False, "reason": 0, "end": None, "outcome": 0,
        "attempts": 0, "retries": 0, "limit": 0, "at": None}


def _up(at):
    sc = _RADIO["scenario"]
    if sc in ("no_ap", "wrong_password", "refused"):
        return False
    if sc == "flapping":
        return _t(at) % 5 < 3
    return True


def _attempt(at):
    """Start a connection attempt at wall time at."""
    d = _DRV
    d["attempts"] += 1
    sc = _RADIO["scenario"]
    if _up(at):
        d["outcome"], ms = 0, CONNECT_MS
    elif sc == "wrong_password":
        d["outcome"], ms = (15 if d["attempts"] % 2 else 205), HANDSHAKE_MS
    elif sc == "refused":
        d["outcome"], ms = 203, REFUSED_MS  # association failed: not a code status() shows
    else:
        d["outcome"], ms = 201, NO_AP_MS  # no_ap, flapping while out of range
    d["end"] = at + ms / 1000


def _drop_at(at):
    """While associated from wall time at: when the link is lost (None: not by itself)."""
    if not _up(at):
        return at
    if _RADIO["scenario"] == "flapping":
        t = _t(at)
        return at + (3 - t % 5)
    return None


def _disconnected(at, reason):
    """A STA_DISCONNECTED event: the port's handler, reconnecting while requested."""
    d = _DRV
    d["connected"] = False
    d["reason"] = reason
    d["end"] = None
    if d["requested"]:
        if d["limit"]:
            d["retries"] += 1
            if d["retries"] >= d["limit"]:
                return
        _attempt(at)


def _advance(now=None):
    """Run the driver's events up to now."""
    d = _DRV
    now = time.time() if now is None else now
    at = d["at"] if d["at"] is not None else now
    at = max(at, now - 120)  # long unpolled spells: the state has long settled
    for _ in range(1000):
        if not _RADIO["active"]:
            break
        if d["connected"]:
            drop = _drop_at(at)
            if drop is None or drop > now:
                break
            at = drop
            _disconnected(at, 200)  # beacon timeout: the AP went quiet
        elif d["end"] is not None and d["end"] <= now:
            at = d["end"]
            if d["outcome"] == 0:
                d["connected"] = True
                d["reason"] = 0
                d["end"] = None
            else:
                _disconnected(at, d["outcome"])
        else:
            break
    d["at"] = now


def _restart(at):
    """The scenario changed at wall time at: the driver's story is retold from then."""
    d = _DRV
    if not _RADIO["active"]:
        return
    d["at"] = at
    if d["connected"]:
        if not _up(at):
            _disconnected(at, 2)  # the AP deauthenticated us (password changed, AP gone)
    elif d["requested"] and (d["end"] is not None or not d["limit"]):
        _attempt(at)


set_scenario(_OPTS.get("rssi") or "steady_good", _OPTS.get("scan") or "clean",
             _OPTS.get("radio_t0"))
_RADIO["seed"] = int(_OPTS.get("seed", 1)) or 1


def _status():
    _advance()
    d = _DRV
    r = d["reason"]
    if not _RADIO["active"]:
        return STAT_IDLE
    if d["connected"]:
        return STAT_GOT_IP
    if r in (201, 210, 211, 212):
        return r
    if r in (202, 205):
        return STAT_WRONG_PASSWORD
    if r == 8:
        return STAT_IDLE
    if d["requested"] and (not d["limit"] or d["retries"] < d["limit"]):
        return STAT_CONNECTING
    if r == 0:
        return STAT_IDLE
    return r


class WLAN:
    PM_NONE = 0
    PM_PERFORMANCE = 1
    PM_POWERSAVE = 2

    def __init__(self, interface_id=STA_IF):
        self.interface_id = interface_id

    def active(self, is_active=None):
        if is_active is None:
            return _RADIO["active"]
        is_active = bool(is_active)
        if is_active == _RADIO["active"]:
            return
        _advance()
        if not is_active:
            # esp_wifi_stop(): a STA_DISCONNECTED (8, "station left") if a link or an
            # attempt was under way; connect-requested stays set, but nothing reconnects
            # when the interface comes back (network_wlan_active starts, never connects).
            if _DRV["connected"] or _DRV["end"] is not None:
                _DRV["reason"] = 8
            _DRV["connected"] = False
            _DRV["end"] = None
        else:
            _DRV["retries"] = 0  # STA_START
        _RADIO["active"] = is_active

    def connect(self, ssid=None, key=None, **kw):
        if not _RADIO["active"]:
            raise OSError("Wifi Not Started")
        _advance()
        _RADIO["cfg"]["ssid"] = ssid or ""
        if not ssid:
            return
        d = _DRV
        d["requested"] = True
        d["retries"] = 0
        d["connected"] = False
        _attempt(time.time())

    def disconnect(self):
        _advance()
        d = _DRV
        d["requested"] = False
        if d["connected"] or d["end"] is not None:
            d["reason"] = 8  # WIFI_REASON_ASSOC_LEAVE: status() reads 1000 after this
        d["connected"] = False
        d["end"] = None

    def isconnected(self):
        simctl.check_ctrl_c()
        simctl.CONTROL.poll()
        return _status() == STAT_GOT_IP

    def status(self, param=None):
        simctl.check_ctrl_c()
        simctl.CONTROL.poll()
        st = _status()
        if param is None:
            return st
        if param == "rssi":
            if st != STAT_GOT_IP:
                raise OSError("STA is not connected")
            return _level()
        raise ValueError("unknown status param")

    def config(self, *args, **kw):
        if kw:
            if "reconnects" in kw:  # -1: for ever (the port stores 0), else n + 1
                n = int(kw["reconnects"])
                _DRV["limit"] = 0 if n == -1 else n + 1
            _RADIO["cfg"].update(kw)
            return None
        if args[0] == "reconnects":
            return _DRV["limit"] - 1
        return _RADIO["cfg"][args[0]]

    def scan(self):
        # May run in a thread (the firmware scans in one): no stdin or control-file access.
        if not _RADIO["active"]:
            raise OSError("STA must be active")
        if _DRV["end"] is not None and _status() != STAT_GOT_IP:
            # Connecting (or retrying, endlessly by default): ESP-IDF refuses a user scan
            # (esp_wifi_scan_start -> ESP_ERR_WIFI_STATE), and network_wlan.c's scan() then
            # returns the empty list it started with, quickly.
            time.sleep_ms(20)
            return []
        time.sleep_ms(SCAN_MS)
        return _table()

    def ifconfig(self, *args):
        if _status() == STAT_GOT_IP:
            return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")
        return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")


# (ssid, bssid, channel, rssi, authmode, hidden); the own AP is added with the live level
_CLEAN = ((b"neighbour-a", b"\x10\x00\x00\x00\x00\x01", 1, -88, 3, False),
          (b"neighbour-b", b"\x10\x00\x00\x00\x00\x02", 11, -90, 4, False))
_CROWDED = ((b"FRITZ!Box 7590", b"\x20\x00\x00\x00\x00\x01", 6, -60, 3, False),
            (b"Vodafone-2G", b"\x20\x00\x00\x00\x00\x02", 6, -65, 4, False),
            (b"TP-Link_8A2C", b"\x20\x00\x00\x00\x00\x03", 7, -58, 3, False),
            (b"NETGEAR47", b"\x20\x00\x00\x00\x00\x04", 5, -62, 3, False),
            (b"HP-Print-B7", b"\x20\x00\x00\x00\x00\x05", 4, -70, 0, False),
            (b"eero", b"\x20\x00\x00\x00\x00\x06", 8, -72, 7, False),
            (b"guest", b"\x20\x00\x00\x00\x00\x07", 1, -85, 0, False),
            (b"linksys", b"\x20\x00\x00\x00\x00\x08", 11, -80, 3, False),
            # a hidden network comes back with b"" for its SSID (network_wlan.c), and an
            # auth mode beyond MicroPython's constants (ESP-IDF 5: WPA3-Ent-192 is 11)
            (b"", b"\x20\x00\x00\x00\x00\x09", 3, -83, 11, True))


def _table():
    ssid = (_RADIO["cfg"]["ssid"] or "camdiag-lab").encode()
    out = []
    if _up(time.time()) or _RADIO["scenario"] in ("wrong_password", "refused"):
        out.append((ssid, b"\xa0\x00\x00\x00\x00\x01", 6, _level(), 3, False))
    if _RADIO["scan"] == "crowded":
        out.append((ssid, b"\xa0\x00\x00\x00\x00\x02", 11, -70, 3, False))  # mesh node
        out.extend(_CROWDED)
    else:
        out.extend(_CLEAN)
    return out

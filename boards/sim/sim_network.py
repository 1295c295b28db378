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
#   flapping      up 3 s, down 2 s (beacon timeout, 200), reconnecting again and again
#   no_ap         never connects: no AP found (201)
#   wrong_password never connects: authentication failed (202)
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
             "flapping", "no_ap", "wrong_password")
SCANS = ("clean", "crowded")
CONNECT_MS = 300  # association + DHCP
SCAN_MS = 2400  # an all-channel scan takes 2-3 s on an ESP32

_OPTS = simctl.OPTS

# One radio: every WLAN(STA_IF) object shares its state, as on the ESP32.
_RADIO = {"active": False, "ssid": "", "connect_at": None, "scenario": "steady_good",
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


set_scenario(_OPTS.get("rssi") or "steady_good", _OPTS.get("scan") or "clean",
             _OPTS.get("radio_t0"))
_RADIO["seed"] = int(_OPTS.get("seed", 1)) or 1


def _on_radio(msg):
    set_scenario(msg.get("rssi"), msg.get("scan"), msg.get("t0"))


simctl.CONTROL.on("radio", _on_radio)


def _noise(span):
    """Uniform integer noise in [-span, span] (LCG: deterministic for a seed)."""
    s = (_RADIO["seed"] * 1103515245 + 12345) & 0x7FFFFFFF
    _RADIO["seed"] = s
    return (s >> 8) % (2 * span + 1) - span if span else 0


def _t():
    return time.time() - _RADIO["t0"]


def _air():
    """(status once associated, dBm) of the scenario right now."""
    sc = _RADIO["scenario"]
    t = _t()
    if sc == "steady":
        return STAT_GOT_IP, _RADIO["level"] + _noise(1)
    if sc == "no_ap":
        return STAT_NO_AP_FOUND, None
    if sc == "wrong_password":
        return STAT_WRONG_PASSWORD, None
    if sc == "flapping":
        if t % 5 >= 3:
            return STAT_BEACON_TIMEOUT, None
        return STAT_GOT_IP, -66 + _noise(2)
    if sc == "walk_away":
        return STAT_GOT_IP, int(-55 - 30 * min(1.0, max(0.0, t) / 20)) + _noise(1)
    if sc == "obstacle":
        return STAT_GOT_IP, (-55 if t < 5 else -78) + _noise(1)
    if sc == "interference":
        return STAT_GOT_IP, -60 + _noise(12)
    base = {"steady_good": -52, "fair": -70, "weak": -80}[sc]
    return STAT_GOT_IP, base + _noise(1)


def _state():
    if not _RADIO["active"]:
        return STAT_IDLE, None
    at = _RADIO["connect_at"]
    if at is None:
        return STAT_IDLE, None
    if time.ticks_diff(time.ticks_ms(), at) < CONNECT_MS:
        return STAT_CONNECTING, None
    return _air()


class WLAN:
    PM_NONE = 0
    PM_PERFORMANCE = 1
    PM_POWERSAVE = 2

    def __init__(self, interface_id=STA_IF):
        self.interface_id = interface_id

    def active(self, is_active=None):
        if is_active is None:
            return _RADIO["active"]
        _RADIO["active"] = bool(is_active)
        if not is_active:
            _RADIO["connect_at"] = None

    def connect(self, ssid=None, key=None, **kw):
        if not _RADIO["active"]:
            raise OSError("Wifi Not Started")
        _RADIO["cfg"]["ssid"] = ssid or ""
        _RADIO["connect_at"] = time.ticks_ms() if ssid else None

    def disconnect(self):
        _RADIO["connect_at"] = None

    def isconnected(self):
        simctl.check_ctrl_c()
        simctl.CONTROL.poll()
        return _state()[0] == STAT_GOT_IP

    def status(self, param=None):
        simctl.check_ctrl_c()
        simctl.CONTROL.poll()
        st, dbm = _state()
        if param is None:
            return st
        if param == "rssi":
            if st != STAT_GOT_IP:
                raise OSError("STA is not connected")
            return dbm
        raise ValueError("unknown status param")

    def config(self, *args, **kw):
        if kw:
            _RADIO["cfg"].update(kw)
            return None
        return _RADIO["cfg"][args[0]]

    def scan(self):
        # May run in a thread (the firmware scans in one): no stdin or control-file access.
        if not _RADIO["active"]:
            raise OSError("STA must be active")
        if _RADIO["connect_at"] is not None and _state()[0] != STAT_GOT_IP:
            # Connecting (or retrying, endlessly by default): ESP-IDF refuses a user scan
            # (esp_wifi_scan_start -> ESP_ERR_WIFI_STATE), and network_wlan.c's scan() then
            # returns the empty list it started with, quickly.
            time.sleep_ms(20)
            return []
        time.sleep_ms(SCAN_MS)
        return _table()

    def ifconfig(self, *args):
        if _state()[0] == STAT_GOT_IP:
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
            (b"linksys", b"\x20\x00\x00\x00\x00\x08", 11, -80, 3, False))


def _table():
    ssid = (_RADIO["cfg"]["ssid"] or "camdiag-lab").encode()
    st, dbm = _air()
    out = []
    if st == STAT_GOT_IP or st == STAT_WRONG_PASSWORD:
        out.append((ssid, b"\xa0\x00\x00\x00\x00\x01", 6, dbm if dbm is not None else -60,
                    3, False))
    if _RADIO["scan"] == "crowded":
        out.append((ssid, b"\xa0\x00\x00\x00\x00\x02", 11, -70, 3, False))  # mesh node
        out.extend(_CROWDED)
    else:
        out.extend(_CLEAN)
    return out

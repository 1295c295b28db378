# Simulated `network` module: the ESP32 port's WLAN API over the sim radio model.
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


# One radio: every WLAN(STA_IF) object shares its state, as on the ESP32.
_RADIO = {"active": False, "status": STAT_IDLE,
          "cfg": {"pm": 1, "txpower": 20, "reconnects": -1,
                  "mac": b"\xa0\xb1\xc2\xd3\xe4\xf5", "ssid": ""}}


class WLAN:
    PM_NONE = 0
    PM_PERFORMANCE = 1
    PM_POWERSAVE = 2

    def __init__(self, interface_id=STA_IF):
        self.interface_id = interface_id

    @property
    def _active(self):
        return _RADIO["active"]

    @property
    def _status(self):
        return _RADIO["status"]

    @property
    def _cfg(self):
        return _RADIO["cfg"]

    def active(self, is_active=None):
        if is_active is None:
            return self._active
        _RADIO["active"] = bool(is_active)
        if not is_active:
            _RADIO["status"] = STAT_IDLE

    def connect(self, ssid=None, key=None, **kw):
        if not self._active:
            raise OSError("Wifi Not Started")
        self._cfg["ssid"] = ssid or ""
        # the radio model comes with the Wi-Fi issue: for now an AP answers at once
        _RADIO["status"] = STAT_GOT_IP if ssid else STAT_NO_AP_FOUND

    def disconnect(self):
        _RADIO["status"] = STAT_IDLE

    def isconnected(self):
        simctl.check_ctrl_c()
        simctl.CONTROL.poll()
        return self._status == STAT_GOT_IP

    def status(self, param=None):
        simctl.check_ctrl_c()
        simctl.CONTROL.poll()
        if param is None:
            return self._status
        if param == "rssi":
            if self._status != STAT_GOT_IP:
                raise OSError("STA is not connected")
            return -55
        raise ValueError("unknown status param")

    def config(self, *args, **kw):
        if kw:
            self._cfg.update(kw)
            return None
        return self._cfg[args[0]]

    def scan(self):
        if not self._active:
            raise OSError("Wifi Not Started")
        return []

    def ifconfig(self, *args):
        return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")

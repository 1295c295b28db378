"""Device calls for the host: each prints exactly one result line, MARKER + JSON.

The host runs ``from camdiag import service; service.call("name", {...})`` in the raw REPL.
Errors come back on the same line with ``"ok": false`` and an ``error`` text, never as a
bare traceback. Anything else printed (logs) is ignored by the host.
"""

import gc
import json
import sys

from camdiag import VERSION

MARKER = "#camdiag# "


def emit(obj):
    """One result line. Streamed (json.dump writes piece by piece): a self-test record is a
    few KB, which a long-running board's fragmented heap may not hold as one string. Should
    it fail half way, an error line follows, and the host reads the last marker line."""
    sys.stdout.write(MARKER)
    try:
        json.dump(obj, sys.stdout)
    except Exception as e:  # noqa: BLE001 - reported on the result line itself
        sys.stdout.write("\n" + MARKER)
        sys.stdout.write('{"ok": false, "error": "result not serialisable: %s"}'
                         % type(e).__name__)
    sys.stdout.write("\n")


def _profile():
    from camdiag import store

    return store.load_profile()


# The self-test's heap peak above idle (`make bench`: 19.4 KB on the virtual board, 12.7 KB
# on the ESP32 port in QEMU) with a margin: less free heap than this and the next self-test
# would end in MemoryError.
SELFTEST_HEAP = 24 * 1024


def info():
    from camdiag import hw, store

    prof = _profile()
    ident = hw.identity()
    gc.collect()
    v = sys.implementation.version
    problems = list(store.PROBLEMS)
    if gc.mem_free() < SELFTEST_HEAP:
        problems.append("free heap %d bytes, below the %d a self-test needs: restart the "
                        "board" % (gc.mem_free(), SELFTEST_HEAP))
    return {
        "board": prof["name"] if prof else None,
        "camdiag": VERSION,
        "micropython": "%d.%d.%d" % (v[0], v[1], v[2]),
        "platform": sys.platform,
        "unique_id": ident["unique_id"],
        "reset_cause": ident["reset_cause"],
        "uptime_s": hw.uptime_s(),
        "mem_free": gc.mem_free(),
        "mem_alloc": gc.mem_alloc(),
        "flash": store.flash_usage(),
        "problems": problems,
    }


def log(last=0):
    from camdiag import store

    return {"records": store.read_records(last), "problems": list(store.PROBLEMS)}


def ping():
    return {"camdiag": VERSION}


def set_config(ssid=None, password=None, name=None):
    """Provision Wi-Fi credentials / the camera's name (atomic replace)."""
    from camdiag import store

    cfg = store.load_config()
    wifi = dict(cfg.get("wifi") or {})
    if ssid is not None:
        wifi["ssid"] = ssid
    if password is not None:
        wifi["password"] = password
    cfg["wifi"] = wifi
    if name is not None:
        cfg["name"] = name
    store.save_config(cfg)
    return {"ssid": wifi.get("ssid", ""), "password_set": bool(wifi.get("password"))}


PROGRESS = "#camdiag-progress# "  # "done total" in bytes: keeps a long call's link alive


def factory_reset(progress=False):
    """The button's factory reset, for the bench and the CLI (the host reboots afterwards).
    progress: a PROGRESS line per 1 % of the free-space fill."""
    from camdiag import store

    app = sys.modules.get("camdiag.app")
    last = [-1]

    def feed(done, total):
        if app is not None and app.STATE["started"]:
            app.resetting(done, total)  # LED and watchdog, as for the button
        if done is None:
            return
        pct = done * 100 // total if total else 100
        if progress and pct != last[0]:
            last[0] = pct
            sys.stdout.write("%s%d %d\n" % (PROGRESS, done, total))

    store.factory_reset(feed)
    return {"done": True}


def button_status():
    import sys as _sys

    app = _sys.modules.get("camdiag.app")
    if app is None or app.STATE["machine"] is None:
        return {"app": False}
    m = app.STATE["machine"]
    return {"app": True, "pressed": m.pressed, "irq_overflows": app.RING.overflows,
            "recent_actions": app.STATE["actions"][-5:], "led_pattern": app.STATE["pattern"],
            "led_bars": app.STATE["bars"]}  # (the Wi-Fi bars the LED blinks, with wifi_bars)


def boot_state():
    from camdiag import boot

    return {"safe_mode": boot.SAFE_MODE, "reset_finished": boot.RESET_FINISHED}


_CALLS = {"info": info, "log": log, "ping": ping, "set_config": set_config,
          "factory_reset": factory_reset, "boot_state": boot_state,
          "button_status": button_status}


def call(name, args=None):
    module = _TRANSIENT.get(name)
    before = list(sys.modules) if module else None
    fn = _CALLS.get(name)
    result = None
    try:
        if fn is None and module:
            mod = __import__("camdiag." + module, None, None, ["x"])
            fn = getattr(mod, "service_" + name)
            mod = None
        if fn is None:
            raise ValueError("unknown device call '%s'" % name)
        result = fn(**(args or {}))
        fn = None
        emit({"ok": True, "call": name, "result": result})
    except Exception as e:  # every failure goes back as one result line
        emit({"ok": False, "call": name, "error": "%s: %s" % (type(e).__name__, e)})
    finally:
        # also when the host's Ctrl-C (KeyboardInterrupt, not an Exception) ends the call:
        # its modules and data go, so an abandoned call leaves the idle heap as it was
        fn = result = None
        if module:
            import camdiag

            camdiag.unload_new(before)
        gc.collect()


# Larger features load when called and are dropped again afterwards (service_<name> in the
# module), so the idle heap stays what boot left: a board runs for months.
_TRANSIENT = {"selftest": "selftest", "capture_read": "selftest",
              "rssi": "wifi_check", "rssi_read": "wifi_info", "rssi_history": "wifi_info",
              "ifconfig": "wifi_info", "scan": "wifi_scan", "netcheck": "netcheck"}

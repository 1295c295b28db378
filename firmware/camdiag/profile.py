"""Board profile (board.json): load, fill defaults, validate.

One loader for the device and the host. Every error names the file and the key path, e.g.
``boards/x/board.json: audio.rx.slot: expected one of left, right; got 'middle'``.
"""

import json


class ProfileError(ValueError):
    pass


# Spec entries: key -> (kind, default, check)
#   kind: "int", "num", "str", "bool", "dict" (value is a nested spec), "list" (of dict spec)
#   default: value used when the key is missing; REQUIRED means the key must be present.
#   check: None, a tuple of allowed values, or (min, max) for numbers (as a list).
REQUIRED = object()

_PIN = ("int", REQUIRED, [0, 48])

_I2S_TX = {
    "id": ("int", 0, [0, 1]),
    "sck": _PIN,
    "ws": _PIN,
    "sd": _PIN,
    "bits": ("int", 16, (16, 32)),
    # DMA ring bytes. ports/esp32/machine_i2s.c get_dma_buf_count(): max(2, ibuf // (256 *
    # frame bytes)) buffers of 256 frames; 16-bit mono TX with 4096 gets 8 (128 ms at
    # 16 kHz), and what write() hands over plays behind the whole ring (plan.dma_lead).
    "ibuf": ("int", 4096, [1024, 16384]),
}

_I2S_RX = {
    "id": ("int", 1, [0, 1]),
    "sck": _PIN,
    "ws": _PIN,
    "sd": _PIN,
    # The ESP32 reads 32-bit stereo frames; the mic drives one slot (INMP441 L/R pin).
    "slot": ("str", "left", ("left", "right")),
    # Bits to shift the 32-bit slot word left before taking the top 16 bits:
    # 0 for INMP441, 1 for SPH0645 (its data arrives one bit late on the ESP32).
    "shift": ("int", 0, [0, 7]),
    "mic": ("str", "inmp441", ("inmp441", "sph0645", "ics43434", "other")),
    # RX reads 8-byte frames: 16384 = 8 buffers, so a read may come up to 7 x 16 ms late
    # before ESP-IDF drops the oldest buffer (i2s_common.c i2s_dma_rx_callback); 4096 (2
    # buffers, a queue of 1) loses 256 frames to any 16 ms stall of the capture loop.
    "ibuf": ("int", 16384, [4096, 16384]),
}

_AUDIO = {
    "rate": ("int", 16000, (8000, 16000, 22050, 24000, 32000, 44100, 48000)),
    "block_frames": ("int", 256, [64, 1024]),
    # Which I2S channel is enabled first; the capture measures the time between the two
    # and the analysis allows for either order.
    "start": ("str", "tx_first", ("tx_first", "rx_first")),
    # machine: the port's machine.I2S. model: an acoustic model on the board (the QEMU
    # board, which emulates no I2S: boards/esp32-qemu/acoustic_i2s.py). none: the board
    # has no usable I2S, so a self-test reports i2s_fault instead of hanging.
    "driver": ("str", "machine", ("machine", "model", "none")),
    "tone_amplitude": ("num", 0.5, [0.01, 1.0]),
    "tx": ("dict", REQUIRED, _I2S_TX),
    "rx": ("dict", REQUIRED, _I2S_RX),
}

# Loopback limits. Anchors in shared REFERENCE.md; our choices are marked there and here.
_LOOPBACK_LIMITS = {
    "warmup_ms": ("int", 300, [300, 2000]),  # INMP441: 2**18 clocks to start
    "tone_min_dbfs": ("num", -40.0, [-90.0, 0.0]),  # reference tone level must reach this
    "tone_detect_db": ("num", 10.0, [3.0, 40.0]),  # tone this far above the noise = heard
    "snr_min_db": ("num", 15.0, [0.0, 80.0]),  # below: noisy
    "thd_max_pct": ("num", 5.0, [0.1, 100.0]),  # above: distorted
    "dc_max_fs": ("num", 0.01, [0.0, 1.0]),  # ChromeOS audio tests
    "clip_max_samples": ("int", 0, [0, 100000]),  # samples at >= 0.99 FS
    "slot_ratio_max": ("num", 0.02, [0.0, 1.0]),  # CTS crosstalk on the silent channel
    "high_minus_ref_min_db": ("num", -12.0, [-60.0, 20.0]),  # below: muffled
    "spacing_tol_samples": ("num", 1.0, [0.0, 100.0]),  # burst spacing, REFERENCE: +-1
    "glitch_phase_pi": ("num", 0.05, [0.0, 1.0]),  # OboeTester phase error
    "latency_max_ms": ("int", 48, [4, 500]),
    "latency_conf_min": ("num", 0.6, [0.0, 1.0]),  # CTS latency confidence
}

_TIMINGS = {
    "debounce_ms": ("int", 30, [1, 1000]),
    "click_max_ms": ("int", 1000, [50, 5000]),
    "double_click_ms": ("int", 400, [50, 5000]),
    "hold_reboot_ms": ("int", 3000, [500, 60000]),
    "factory_reset_ms": ("int", 10000, [1000, 120000]),
    "stuck_ms": ("int", 30000, [2000, 600000]),
    "boot_ignore_ms": ("int", 0, [0, 60000]),
    # machine.WDT: fed by the app's loop and, while a host session holds the REPL, by a
    # timer (soft: it cannot run while a C call such as an I2S read hangs). 0 = off.
    "watchdog_ms": ("int", 30000, [0, 600000]),
}

_BUTTON = {
    "pin": _PIN,
    "active_low": ("bool", True, None),
    "pull_up": ("bool", True, None),
}

_LED = {
    "pin": _PIN,
    "active_low": ("bool", False, None),
    "color": ("str", "green", ("green", "red", "blue", "white", "amber")),
}

_WIFI = {
    # false: the board has no radio to use (the QEMU board: WLAN.active(True) crashes the
    # emulated guest); Wi-Fi calls then answer with an error instead of touching it
    "radio": ("bool", True, None),
    "rssi_sample_ms": ("int", 200, [10, 60000]),
    "rssi_window_s": ("int", 5, [1, 3600]),
    "rssi_warn_dbm": ("int", -67, [-100, 0]),  # Cisco voice cell edge
    "rssi_fail_dbm": ("int", -75, [-100, 0]),  # 802.11g 54 Mbit/s
    "rssi_stdev_max_db": ("num", 4.0, [0.5, 30.0]),  # our choice: beyond, the link swings
    # History: one byte per period (the weakest reading of the period, polled every 1 s):
    # 2880 x 30 s = 24 h in 2.8 KB.
    "history_period_s": ("int", 30, [1, 3600]),
    "history_len": ("int", 2880, [16, 8192]),
    "congestion_max": ("num", 3.0, [0.1, 100.0]),  # weighted neighbours on our channel
    "upload_min_mbps": ("num", 2.0, [0.0, 1000.0]),  # Blink: >= 2 Mbit/s up per camera
    "rtt_max_ms": ("num", 100.0, [1.0, 10000.0]),  # Blink: ping < 100 ms
    "jitter_max_ms": ("num", 30.0, [1.0, 1000.0]),  # our choice (VoIP rule of thumb)
    "loss_max_pct": ("num", 1.0, [0.0, 100.0]),  # Cisco voice: loss <= 1 %
    # the upload: about upload_ms, or upload_bytes if that comes first (iperf3's way: a
    # time, not a size; 8 MB is 3 s at 22 Mbit/s)
    "upload_ms": ("int", 3000, [200, 30000]),
    "upload_bytes": ("int", 8388608, [8192, 67108864]),
    "echo_packets": ("int", 50, [5, 1000]),  # 1 s of 20 ms voice packets
    "echo_bytes": ("int", 172, [16, 1400]),  # 160 B G.711 + 12 B RTP header
}

# LittleFS reads: 0 keeps the port's mount (ports/esp32/modules/_boot.py: readsize 32, a
# 128-byte cache, extmod/vfs_lfsx.c). The QEMU board asks for 512: each flash operation
# there costs ~10 ms, and a path lookup walks a metadata log in read_size steps. Read by
# /boot.py before anything else (firmware/boot.py); the on-flash format is the same.
_STORAGE = {
    "read_size": ("int", 0, (0, 32, 64, 128, 256, 512, 1024)),
}

_SPEC = {
    "name": ("str", REQUIRED, None),
    "description": ("str", "", None),
    "chip": ("str", REQUIRED, ("esp32s3", "esp32", "esp32s2", "esp32c3", "sim")),
    "arch": ("str", REQUIRED, ("xtensawin", "xtensa", "rv32imc", "x64")),
    "firmware_offset": ("int", 0, [0, 0x100000]),
    # A self-test after every power-on, hard or watchdog reset (not after a soft reset: that
    # is a tool at the REPL), logged with trigger "boot".
    "post_on_boot": ("bool", True, None),
    "audio": ("dict", REQUIRED, _AUDIO),
    "button": ("dict", REQUIRED, _BUTTON),
    "leds": ("list", REQUIRED, _LED),
    "timings": ("dict", {}, _TIMINGS),
    "limits": ("dict", {}, _LOOPBACK_LIMITS),
    "wifi": ("dict", {}, _WIFI),
    "storage": ("dict", {}, _STORAGE),
}


def _kind_ok(kind, value):
    if kind == "bool":
        return value is True or value is False
    if kind == "int":
        return isinstance(value, int) and not (value is True or value is False)
    if kind == "num":
        return isinstance(value, (int, float)) and not (value is True or value is False)
    if kind == "str":
        return isinstance(value, str)
    if kind == "dict":
        return isinstance(value, dict)
    if kind == "list":
        return isinstance(value, list)
    return False


_KIND_NAMES = {
    "bool": "true or false",
    "int": "an integer",
    "num": "a number",
    "str": "a string",
    "dict": "an object",
    "list": "a list",
}


def _validate(obj, spec, path, where):
    if not isinstance(obj, dict):
        raise ProfileError("%s: %s: expected an object" % (where, path or "(top level)"))
    out = {}
    for key in obj:
        if key not in spec:
            # an odd key (a newline, control bytes) is shown as JSON: the error stays one line
            plain = key and all(c.isalpha() or c.isdigit() or c in "_-" for c in key)
            raise ProfileError("%s: %s%s: unknown key"
                               % (where, path, key if plain else json.dumps(key)))
    for key in spec:
        kind, default, check = spec[key]
        name = path + key
        if key in obj:
            value = obj[key]
        elif default is REQUIRED:
            raise ProfileError("%s: %s: missing (required)" % (where, name))
        else:
            value = default
        if not _kind_ok(kind, value):
            raise ProfileError(
                "%s: %s: expected %s, got %s" % (where, name, _KIND_NAMES[kind], json.dumps(value))
            )
        if kind == "dict":
            value = _validate(value, check, name + ".", where)
        elif kind == "list":
            items = []
            for i, item in enumerate(value):
                items.append(_validate(item, check, "%s[%d]." % (name, i), where))
            value = items
        elif isinstance(check, tuple):
            if value not in check:
                raise ProfileError(
                    "%s: %s: expected one of %s; got %s"
                    % (where, name, ", ".join(str(c) for c in check), json.dumps(value))
                )
        elif isinstance(check, list):
            if value < check[0] or value > check[1]:
                raise ProfileError(
                    "%s: %s: %s is outside %s..%s" % (where, name, value, check[0], check[1])
                )
        out[key] = value
    return out


def validate(obj, where="board.json"):
    """Return a new profile dict with defaults filled in; raise ProfileError naming the key."""
    prof = _validate(obj, _SPEC, "", where)
    audio = prof["audio"]
    if audio["tx"]["id"] == audio["rx"]["id"]:
        raise ProfileError(
            "%s: audio.rx.id: loopback needs two I2S controllers (TX and RX on different ids)"
            % where
        )
    if len(prof["leds"]) not in (1, 2):
        raise ProfileError("%s: leds: expected one or two LEDs" % where)
    t = prof["timings"]
    if not t["hold_reboot_ms"] < t["factory_reset_ms"] < t["stuck_ms"]:
        raise ProfileError(
            "%s: timings.factory_reset_ms: must lie between hold_reboot_ms and stuck_ms" % where
        )
    return prof


def loads(text, where="board.json"):
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise ProfileError("%s: not valid JSON (%s)" % (where, e))
    return validate(obj, where)


def load(path):
    try:
        with open(path, "rb") as f:
            text = f.read().decode()
    except OSError as e:
        raise ProfileError("%s: cannot read (%s)" % (path, e))
    except ValueError:  # UnicodeError
        raise ProfileError("%s: not text (garbled or not a board profile)" % path)
    return loads(text, path)

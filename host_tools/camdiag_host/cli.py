"""The `camdiag` command: one table of subcommands, one error type, meaningful exit codes.

Exit codes: 0 pass / done, 1 a test failed (the device works, the check did not pass),
2 an error (bad input, no board, link lost). Errors print one line: `camdiag: message`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from typing import Callable
from pathlib import Path

from . import __version__
from .errors import EXIT_ERROR, CamdiagError
from .link import DeviceLink

EPILOG = """examples:
  camdiag sim                               start a virtual board, print its port
  camdiag info --port sim://                a private virtual board for one command
  camdiag info --port /dev/ttyACM0 --json   a real board, JSON for scripts
  camdiag deploy --port /dev/ttyACM0 --board esp32s3-devkit
"""


def _out(args, human: str, data) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print(human)


def _link(args) -> DeviceLink:
    # port_wait: a board that is restarting on native USB has no tty for a few seconds
    return DeviceLink(args.port, baud=args.baud, board=getattr(args, "board", None),
                      port_wait=5)


# -- commands ---------------------------------------------------------------------------
def _cannot_write_in(folder: Path) -> str | None:
    """Why no file can be made in folder (None: it can). Tried, not guessed from the mode
    bits: root passes every access() check, yet cannot create files in /proc or on a
    read-only mount."""
    import tempfile

    if not folder.is_dir():
        return f"no folder {folder}"
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".camdiag-probe-"):
            pass
    except OSError as e:
        return e.strerror or str(e)
    return None


def check_out_file(path: str, option: str = "--out", example: str = "rec.wav") -> Path:
    """An output file the command will write, checked before any work: its folder exists
    and takes files, and it is not a folder itself."""
    out = Path(path)
    if out.is_dir():
        raise CamdiagError(f"{option} {path}: a folder; give a file name, e.g. "
                           f"{out / example}")
    why = _cannot_write_in(out.parent)
    if why:
        raise CamdiagError(f"{option} {path}: cannot write there ({why})")
    return out


def check_out_dir(path: str) -> Path:
    """An output folder (the support report), checked before any work: it is a folder or
    can be made one, and takes files."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CamdiagError(f"--out {path}: an existing file; the report needs a folder")
    probe = out
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent  # (the report makes the folders missing below it)
    why = _cannot_write_in(probe)
    if why:
        raise CamdiagError(f"--out {path}: cannot write there ({probe}: {why})")
    return out


def save_or_rescue(write, out: Path, what: str):
    """write(out), and what it returns; if that still fails after the checks (a full disk, a folder
    removed meanwhile), the work already done goes to a temporary folder instead, and the
    error says where."""
    import tempfile

    try:
        return write(out)
    except OSError as e:
        rescue = Path(tempfile.mkdtemp(prefix="camdiag-rescue-")) / out.name
        write(rescue)
        raise CamdiagError(f"could not write {what} to {out} ({e.strerror or e}); saved it "
                           f"to {rescue} instead") from None


def cmd_ports(args) -> int:
    from .ports import list_ports

    ports = list_ports()
    if args.json:
        print(json.dumps([p.as_dict() for p in ports], indent=2))
        return 0
    if not ports:
        print("no serial ports found (a virtual board: camdiag sim, or --port sim://)")
        return 0
    print(f"{'PORT':20} {'VID:PID':10} DESCRIPTION")
    for p in ports:
        mark = f"  <- likely ESP32 ({p.chip})" if p.likely_esp32 else ""
        print(f"{p.device:20} {p.vid_pid or '-':10} {p.description}{mark}")
    if not any(p.likely_esp32 for p in ports):
        print("no ESP32 board found (none of these has an Espressif or USB-UART VID:PID; "
              "is the board plugged in with a data cable?)")
    return 0


def format_info(info: dict) -> str:
    flash = info["flash"]
    problems = info.get("problems") or []
    rows = [
        ("Board", info.get("board") or "(no valid board.json)"),
        ("camdiag", info["camdiag"]),
        ("MicroPython", f"{info['micropython']} ({info['platform']})"),
        ("Unique id", info["unique_id"]),
        ("Reset cause", info["reset_cause"]),
        ("Uptime", f"{info['uptime_s']} s"),
        ("Free heap", f"{info['mem_free']} bytes ({info['mem_alloc']} in use)"),
        ("Flash", f"{flash['used_kb']} KB used of {flash['total_kb']} KB "
                  f"({flash['free_kb']} KB free)"),
        ("Problems", "none" if not problems else problems[0]),
    ]
    lines = [f"{k:12} {v}" for k, v in rows]
    lines += [f"{'':12} {p}" for p in problems[1:]]
    return "\n".join(lines)


def cmd_info(args) -> int:
    with _link(args) as link:
        link.micropython_version()  # an older MicroPython: one line, before anything else
        info = link.call("info", timeout=args.timeout)
    _out(args, format_info(info), info)
    return 1 if info.get("problems") else 0  # a problem to act on (README: exit codes)


SOURCE_REFUSED = (
    "deploy --source: refused: from .py sources the board compiles each module at its "
    "import, and the self-test's then need more heap than an ESP32-S3 has (MemoryError "
    "allocating 1536 bytes on the virtual board); deploy the compiled .mpy (no --source), "
    "or run the sources on the unix port (`make test`)")


def cmd_deploy(args) -> int:
    from . import boards as _boards
    from .deploy import deploy, device_board_name, reboot_into_app

    if args.source:
        raise CamdiagError(SOURCE_REFUSED)

    say = (lambda s: None) if args.json or args.quiet else print
    with _link(args) as link:
        version = link.micropython_version()  # refuse an older MicroPython before writing
        board = args.board
        if board is None:
            board = "sim" if args.port.startswith("sim://") else "esp32-qemu" if \
                args.port.startswith("qemu://") else device_board_name(link)
            if board is None:
                raise CamdiagError(
                    f"the board on {args.port} has no board profile yet: name one with "
                    f"--board ({', '.join(_boards.names())})"
                )
        _boards.load(board)  # validate before touching the device
        say(f"deploying camdiag {__version__} for board '{board}' to {args.port} "
            f"(MicroPython {'.'.join(map(str, version))})")
        result = deploy(link, board, source=args.source, say=say)
        if result["changed"] or result["removed"]:
            reboot_into_app(link)
            result["rebooted"] = True
        else:
            result["rebooted"] = False
    human = (
        f"{len(result['changed'])} file(s) written ({result['bytes_written']} bytes), "
        f"{result['unchanged']} unchanged, {len(result['removed'])} removed"
        + ("; board rebooted into the new firmware" if result["rebooted"] else "")
    )
    _out(args, human, result)
    return 0


def cmd_log(args) -> int:
    with _link(args) as link:
        res = link.call("log", {"last": args.last}, timeout=args.timeout)
    records = res["records"]
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    if not records:
        print("results log is empty")
    for r in records:
        print(f"{r.get('time', '?')}  {r.get('kind', '?'):10} {r.get('outcome', '?'):5} "
              f"{r.get('summary', '')}")
    for p in res.get("problems", []):
        print(f"note: {p}")
    return 0


def cmd_selftest(args) -> int:
    from .progress import spinner
    from .report import exit_code, format_record, use_color

    with _link(args) as link, spinner(args, "self-test: playing and recording"):
        rec = link.call("selftest", {"log": not args.no_log}, timeout=args.timeout)
    if args.json:
        print(json.dumps(rec, indent=2))
    else:
        print(format_record(rec, color=use_color()))
    return exit_code(rec, getattr(args, "strict", False))


def cmd_stimulus(args) -> int:
    from . import boards as _boards
    from .audio import stimulus, write_wav

    out = check_out_file(args.out)
    prof = _boards.load(args.board)
    pcm = stimulus(prof)
    save_or_rescue(lambda p: write_wav(p, pcm, prof["audio"]["rate"]), out, "the stimulus")
    frames = len(pcm) // 2
    print(f"wrote {args.out}: {frames} frames, {frames / prof['audio']['rate']:.3f} s, "
          f"16-bit mono at {prof['audio']['rate']} Hz (board '{prof['name']}')")
    return 0


def read_capture(link, timeout: float) -> tuple[bytes, int]:
    """The capture the last self-test kept (keep_capture), as 16-bit PCM, and its rate."""
    data = bytearray()
    offset = 0
    frames = None
    rate = 0
    while frames is None or offset < frames:
        chunk = link.call("capture_read", {"offset": offset, "count": 512}, timeout=timeout)
        frames, rate = chunk["frames"], chunk["rate"]
        part = bytes.fromhex(chunk["data"])
        if not part:
            break
        data += part
        offset += len(part) // 2
    return bytes(data), rate


def cmd_capture(args) -> int:
    from .audio import write_wav
    from .progress import spinner

    out = check_out_file(args.out)
    with _link(args) as link, spinner(args, "recording and reading the capture"):
        rec = link.call("selftest", {"log": False, "keep_capture": True}, timeout=args.timeout)
        if rec["verdict"] == "i2s_fault":
            note = rec["checks"][0].get("note")
            raise CamdiagError(f"no recording: the I2S bus failed ({note})", exit_code=1)
        data, rate = read_capture(link, args.timeout)
    save_or_rescue(lambda p: write_wav(p, data, rate), out, "the recording")
    print(f"wrote {args.out}: {len(data) // 2} frames at {rate} Hz (mic slot, from the end "
          f"of the warm-up); the self-test said: {rec['outcome']} ({rec['verdict']})")
    return 0


def cmd_analyze(args) -> int:
    from camdiag import diagnosis, record

    from . import boards as _boards
    from .audio import analyze_wav
    from .report import exit_code, format_record, use_color

    prof = _boards.load(args.board)
    m, plan = analyze_wav(args.wav, prof)
    checks, faults = diagnosis.diagnose(m, prof["limits"])
    dev = {"board": prof["name"], "file": str(args.wav)}
    rec = record.make("selftest", dev, checks, faults, record.outcome(checks, faults),
                      {"plan": plan, "kernels": "portable (host)",
                       "latency_ms": round(m["latency_ms"], 2) if m.get("burst_found") else None})
    if args.json:
        print(json.dumps(rec, indent=2))
    else:
        print(format_record(rec, color=use_color()))
    return exit_code(rec, getattr(args, "strict", False))


EVENT_MARKER = b"#camdiag-event# "

BUTTON_MEANING = {
    "click": "status shown on the LED", "double_click": "self-test started",
    "long_press": "no action (released before the reboot threshold)",
    "reboot_cue": "keep holding: reboot on release", "reboot": "rebooting",
    "factory_reset_armed": "fast flash: factory reset on release",
    "factory_reset": "factory reset, then reboot into setup mode",
    "stuck": "held too long: cancelled", "press": "", "release": "",
    "selftest_pass": "self-test passed", "selftest_warn": "self-test passed with warnings",
    "selftest_fail": "self-test failed: run `camdiag log` for the verdict",
}


def watch_button(port: str, baud: int, seconds: float | None, as_json: bool) -> int:
    """Follow the app's event lines on the console; the app is not interrupted."""
    import serial

    try:
        s = serial.serial_for_url(port, baudrate=baud, timeout=0.2)
    except (serial.SerialException, OSError, ValueError) as e:
        from .link import _port_error

        raise _port_error(port, str(e).splitlines()[0] if str(e) else "cannot open") from None
    if not as_json:
        until = f"for {seconds:g} s (or Ctrl-C)" if seconds else "until Ctrl-C"
        print(f"watching button events on {port} {until}", flush=True)
    end = time.monotonic() + seconds if seconds else None
    buf = b""
    count = 0
    try:
        while end is None or time.monotonic() < end:
            try:
                buf += s.read(256)
            except (serial.SerialException, OSError) as e:
                raise CamdiagError(f"lost the link to {port}: {e}") from None
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                i = line.find(EVENT_MARKER)
                if i < 0:
                    continue
                try:
                    ev = json.loads(line[i + len(EVENT_MARKER):].decode())
                except ValueError:
                    continue
                count += 1
                ev["host_time"] = time.strftime("%Y-%m-%dT%H:%M:%S%z" if as_json else
                                                "%H:%M:%S")
                if as_json:
                    print(json.dumps(ev), flush=True)
                else:
                    meaning = BUTTON_MEANING.get(ev["event"].split(":")[0], "")
                    print(f"{ev['host_time']}  {ev['event']:20} {meaning}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        s.close()
    return 0


def cmd_button(args) -> int:
    if args.watch:
        if args.port.startswith("sim://"):
            raise CamdiagError("--watch needs a board you can press: start one with "
                               "`camdiag sim` and watch its port")
        return watch_button(args.port, args.baud, args.seconds, args.json)
    with _link(args) as link:
        st = link.call("button_status", timeout=args.timeout)
    if args.json:
        print(json.dumps(st, indent=2))
    elif not st.get("app"):
        print("the application is not running: safe mode, no valid board profile, or a tool "
              "(e.g. mpremote) left the board at its REPL; `mpremote soft-reset` or the reset "
              "button starts it again")
    else:
        shown = st["led_pattern"]
        if shown == "wifi_bars":
            shown += f" ({st.get('led_bars', '?')} of 4)"
        print(f"button {'pressed' if st['pressed'] else 'released'}; LED pattern "
              f"{shown}; IRQ overflows {st['irq_overflows']}; recent actions: "
              f"{', '.join(st['recent_actions']) or 'none'}")
    return 0


def _serve_until_stopped(cleanup) -> None:
    """Keep a service (virtual board, netserver) up until Ctrl-C or SIGTERM."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    try:
        while not stop:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        cleanup()


def _parse_server(text: str) -> tuple[str, int]:
    """HOST:PORT (PORT defaults to the netserver's 5201)."""
    from .netserver import DEFAULT_PORT

    host, _, port = text.rpartition(":")
    if not host:
        return text, DEFAULT_PORT
    try:
        return host, int(port)
    except ValueError:
        raise CamdiagError(f"--server {text}: expected HOST:PORT") from None


def _print_record(args, rec: dict, extra: str = "") -> int:
    from .report import exit_code, format_record, use_color

    if args.json:
        print(json.dumps(rec, indent=2))
    else:
        print(format_record(rec, color=use_color()))
        if extra:
            print(extra)
    return exit_code(rec, getattr(args, "strict", False))


def cmd_rssi(args) -> int:
    from . import wifi_view

    with _link(args) as link:
        if args.watch:
            return wifi_view.watch(link, args.seconds, args.json)
        if args.history:
            h = link.call("rssi_history", timeout=args.timeout)
            _out(args, wifi_view.format_history(h), h)
            return 0
        call = {"log": not args.no_log}
        if args.seconds:
            call["seconds"] = int(args.seconds)
        from .progress import spinner

        with spinner(args, "sampling the Wi-Fi signal"):
            rec = link.call("rssi", call, timeout=args.timeout + (args.seconds or 0))
    w = rec["wifi"]
    extra = ""
    if w.get("rssi_mean") is not None:
        extra = (f"signal {w['rssi_mean']} dBm ({w['quality']}), {w['percent']}% "
                 f"{wifi_view.bar(w['bars'])}")
    return _print_record(args, rec, extra)


def cmd_scan(args) -> int:
    from . import wifi_view

    from .progress import spinner

    with _link(args) as link, spinner(args, "scanning Wi-Fi channels"):
        rec = link.call("scan", {"log": not args.no_log}, timeout=args.timeout)
    return _print_record(args, rec, wifi_view.format_scan(rec))


def _server_for(args, link):
    """(host, port, server or None): --server, else a netserver started here on the address
    the board can reach (its Wi-Fi route back to this machine)."""
    from .netserver import NetServer, local_address_towards

    if args.server:
        return (*_parse_server(args.server), None)
    ip = link.call("ifconfig", timeout=args.timeout)["ip"]
    if ip in ("0.0.0.0", ""):
        return "0.0.0.0", 0, None  # not connected: the board says so itself
    server = NetServer.scenario(args.scenario or "good", port=0).start()
    return local_address_towards(ip), server.port, server


def cmd_netcheck(args) -> int:
    if args.server and args.scenario:
        raise CamdiagError("--scenario impairs the netserver camdiag starts here; with "
                           "--server, start that one with `camdiag netserver --scenario ...`")
    with _link(args) as link:
        host, port, server = _server_for(args, link)
        try:
            if not args.json and server is not None:
                print(f"netserver on {host}:{port} (scenario {args.scenario or 'good'})",
                      flush=True)
            from .progress import spinner

            with spinner(args, "measuring upload and round trips"):
                rec = link.call("netcheck", {"host": host, "port": port,
                                             "log": not args.no_log}, timeout=args.timeout)
        finally:
            if server is not None:
                server.stop()
    net = rec.get("net", {})
    extra = ""
    if "upload_mbps" in net or "rtt_mean_ms" in net:
        extra = (f"talk path to {net['server']}: upload {net.get('upload_mbps', '-')} Mbit/s, "
                 f"RTT {net.get('rtt_mean_ms', '-')} ms, jitter {net.get('jitter_ms', '-')} "
                 f"ms, loss {net.get('loss_pct', '-')} %")
    return _print_record(args, rec, extra)


def cmd_netserver(args) -> int:
    from .netserver import SCENARIOS, NetServer

    kw = dict(SCENARIOS[args.scenario])
    for key in ("throttle_mbps", "drop_pct", "delay_ms", "jitter_ms"):
        v = getattr(args, key)
        if v is not None:
            kw[key] = v
    srv = NetServer(bind=args.bind, port=args.listen, seed=args.seed,
                    log=lambda m: print(f"{time.strftime('%H:%M:%S')}  {m}", flush=True), **kw)
    try:
        srv.start()
    except OSError as e:
        raise CamdiagError(f"netserver: cannot listen on {args.bind}:{args.listen} "
                           f"({e.strerror or e})") from None
    shown = ", ".join(f"{k} {v}" for k, v in kw.items()) or "no impairment"
    print(f"camdiag netserver on {args.bind}:{srv.port} (TCP upload + UDP echo; {shown}); "
          f"Ctrl-C to stop", flush=True)
    _serve_until_stopped(srv.stop)
    return 0


def cmd_flash(args) -> int:
    from . import flash
    from .deploy import deploy, reboot_into_app

    board = args.board
    flash.check(args.port, args.firmware)  # before anything is said or done
    say = (lambda m: None) if args.quiet or args.json else (lambda m: print(m, flush=True))
    say(f"writing {args.firmware} to {args.port} with esptool"
        + (" (erasing the flash first)" if args.erase else ""))
    res = flash.write(args.port, args.firmware, board, erase=args.erase, baud=args.flash_baud,
                      quiet=args.quiet or args.json, stub=not args.no_stub)
    say(f"flashed {res['bytes']} bytes at 0x{res['offset']:x}; deploying camdiag")
    time.sleep(2.0)  # the board resets into the new MicroPython
    with _link(args) as link:
        res["deploy"] = deploy(link, board, say=say)
        reboot_into_app(link)
    _out(args, f"done: MicroPython flashed, camdiag deployed "
               f"({len(res['deploy']['changed'])} file(s) written), board rebooted", res)
    return 0


def cmd_report(args) -> int:

    from . import support
    from .progress import spinner
    from .report import exit_code

    server = _parse_server(args.server) if args.server else None
    out = check_out_dir(args.out)
    with _link(args) as link, spinner(args, "report: reading device info") as sp:
        def say(step):  # the other commands' spinner, its text the step under way
            sp.text = f"report: {step}"

        rep = support.collect(link, args.port, server, args.last, args.timeout, say,
                              log=not args.no_log)
    j, h = save_or_rescue(lambda p: support.write(rep, p), out, "the report")
    if args.json:
        print(json.dumps({"outcome": rep["outcome"], "verdict": rep["verdict"],
                          "fix": rep["fix"], "json": str(j), "html": str(h)}, indent=2))
    else:
        print(f"VERDICT: {rep['outcome'].upper()} - {rep['verdict']}")
        if rep["fix"]:
            print(f"FIX TO TRY FIRST: {rep['fix']}")
        print(f"report: {j} and {h}")
    return exit_code(rep, getattr(args, "strict", False))


def cmd_factory_reset(args) -> int:
    if not args.yes:
        if not sys.stdin.isatty():
            raise CamdiagError("factory-reset erases the Wi-Fi credentials and settings: "
                               "add --yes to confirm")
        answer = input(f"Erase the Wi-Fi credentials and settings on {args.port}? "
                       "(the results log is kept) [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise CamdiagError("factory reset not confirmed: nothing changed", 1)
    show = not (args.json or args.quiet)
    tty = sys.stderr.isatty()
    seen = [-1]

    def progress(done: int, total: int) -> None:
        pct = done * 100 // total if total else 100
        if not show or pct == seen[0]:
            return
        if tty:
            bar = "#" * (pct // 5)
            sys.stderr.write(f"\rscrubbing free flash [{bar:20}] {pct:3d} % "
                             f"({done / 1e6:.1f} of {total / 1e6:.1f} MB)")
            sys.stderr.flush()
        elif pct // 10 != seen[0] // 10 or pct == 100:
            print(f"scrubbing free flash: {pct} % ({done / 1e6:.1f} of {total / 1e6:.1f} MB)",
                  file=sys.stderr)
        seen[0] = pct

    link = _link(args).open()
    try:
        link.micropython_version()
        # (each sector's progress line keeps the link alive: the fill writes the whole free
        # flash, 1-2.5 minutes on a real board, longer than the silence timeout)
        try:
            link.call("factory_reset", {"progress": True}, timeout=args.timeout,
                      on_progress=progress)
        except KeyboardInterrupt:
            # Stop the call and give the board back to its app, which finishes the reset
            # (its marker is on flash) with the LED on and then restarts.
            link.transport.serial.write(b"\x03")
            time.sleep(0.2)
            link.close(resume=True)
            raise
        if show and tty:
            sys.stderr.write("\n")
        # A chip reset, not a soft one: on an ESP32 the station stays associated across a
        # soft reset (ports/esp32/main.c does not stop Wi-Fi), with the old credentials.
        link.transport.exec_raw_no_follow("import machine\nmachine.reset()")
    finally:
        link.close(resume=False)
    res = {"done": True, "rebooted": True}
    _out(args, "factory reset done: Wi-Fi credentials and settings erased and scrubbed "
               "from flash (the results log is kept); the camera restarts in setup mode",
         res)
    return 0


def check_ssid(ssid: str) -> None:
    """802.11's limit: an SSID of 1..32 bytes."""
    n = len(ssid.encode())
    if not 1 <= n <= 32:
        raise CamdiagError(f"--ssid: {n} bytes; an SSID has 1 to 32")


def check_password(password: str | None) -> str:
    """WPA2-PSK's limit: a passphrase of 8..63 characters, or none for an open network;
    the word for the network's security."""
    if not password:
        return "open network, no password"
    if not 8 <= len(password) <= 63:
        raise CamdiagError(f"the password has {len(password)} characters; WPA2 needs 8 to 63 "
                           "(an empty one means an open network)")
    return "password stored on the board"


def cmd_wifi_setup(args) -> int:
    from .deploy import reboot_into_app

    check_ssid(args.ssid)  # at once, before asking for a password
    password = os.environ.get("CAMDIAG_WIFI_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise CamdiagError("no password: set CAMDIAG_WIFI_PASSWORD or run on a terminal "
                               "to be asked (a password on the command line would stay in "
                               "the shell history)")
        import getpass

        password = getpass.getpass(f"Wi-Fi password for {args.ssid}: ")
    security = check_password(password)
    if args.port.startswith(("sim://", "qemu://")):
        raise CamdiagError(f"wifi-setup on {args.port.split('?')[0]}: that board lives for "
                           "one command only; start one with `camdiag sim` and give its port")
    with _link(args) as link:
        res = link.call("set_config", {"ssid": args.ssid, "password": password},
                        timeout=args.timeout)
        reboot_into_app(link)
    if not args.json:
        print(f"Wi-Fi set to '{res['ssid']}' ({security}); rebooted, waiting for it to "
              f"connect (up to {args.wait:g} s) ...", flush=True)
    res.update(_wait_connected(args, args.wait))
    if args.json:
        print(json.dumps(res, indent=2))
    elif res["connected"]:
        print(f"connected to '{args.ssid}': {res['ip']}, signal {res['rssi']} dBm")
    else:
        print(f"not connected after {args.wait:g} s: {res['reason']}")
        print(f"FIX TO TRY FIRST: {res['fix']}")
    return 0 if res["connected"] else 1


def _wait_connected(args, wait_s: float) -> dict:
    """Poll the rebooted board until its link is up, or wait_s passed; what happened."""
    from camdiag.wifi_check import reason_text

    end = time.monotonic() + wait_s
    st = None
    while time.monotonic() < end:
        time.sleep(2)
        try:
            with DeviceLink(args.port, baud=args.baud, port_wait=10) as link:
                r = link.call("rssi_read", timeout=args.timeout)
                if r["status"] == 1010:
                    ip = link.call("ifconfig", timeout=args.timeout)["ip"]
                    return {"connected": True, "ip": ip, "rssi": r["rssi"]}
                st = r["status"]
        except CamdiagError:
            pass  # (still booting)
        if st in (201, 202, 210, 211, 212):  # the driver says why and will not do better
            break
    reason = reason_text(st) if st is not None else "the board did not answer"
    fix = ("check the password and run `camdiag wifi-setup` again" if st == 202 else
           "check the network name, and that the router is on and in range" if st == 201
           else "move the camera closer to the router, or check the router's security mode")
    return {"connected": False, "status": st, "reason": reason, "fix": fix}


def cmd_sim(args) -> int:
    from .simboard import HEAP_KB, VirtualBoard, check_model, check_radio

    opts = {}
    for key in ("fault", "seed", "snr", "rssi", "scan", "ssid"):
        v = getattr(args, key)
        if v is not None:
            opts[key] = str(v)
    if args.fast:
        opts["realtime"] = "0"
    # checked before the board starts, as sim:// URLs are: a misspelt fault is no healthy
    # board, and a bad value would only fail inside it
    check_radio(opts.get("rssi"), opts.get("scan"))
    check_model(opts, "camdiag sim")
    if args.flash:
        check_out_file(args.flash, "--flash", "flash.bin")
    vb = VirtualBoard(board=args.board, flash=args.flash, options=opts)
    vb.start()
    if not vb.wait_ready(timeout=15):
        vb.stop()
        raise CamdiagError(f"the virtual board did not start (log: {vb.log_path})")
    print(f"virtual board '{args.board}' running: MicroPython unix port, heap {HEAP_KB} KB")
    print(f"  serial port  {vb.port}")
    print(f"  socket       {vb.url}")
    keep = "" if args.flash else " (temporary: --flash FILE keeps it)"
    print(f"  flash image  {vb.flash}{keep}")
    print(f"  board log    {vb.log_path}")
    vb.announce()
    print(f"try: mpremote connect {vb.port} fs ls      |  camdiag info --port {vb.port}")
    print(f"     camdiag sim-control {vb.port} press 200   (the reset button, for 200 ms)")
    print("Ctrl-C to stop", flush=True)
    _serve_until_stopped(vb.stop)
    print("\nvirtual board stopped")
    return 0


def cmd_sim_control(args) -> int:
    """The hardware of a running `camdiag sim`, from another shell: the reset button."""
    from .boards import load
    from .simboard import find_running, inject, press_steps

    entry = find_running(args.port)
    pin = load(entry["board"])["button"]["pin"]
    inject(Path(entry["control"]), "pin", pin=pin,
           steps=press_steps(args.ms, args.count, args.gap_ms))
    what = f"{args.count} presses" if args.count > 1 else "a press"
    print(f"{what} of {args.ms} ms on the button (GPIO{pin}) of the virtual board at "
          f"{args.port}; `camdiag button --watch --port {args.port}` shows what it did")
    return 0


# -- the table --------------------------------------------------------------------------
def number_in(lo: float, hi: float, what: str, integer: bool = False,
              lo_open: bool = False):
    """An argparse type: a number in [lo, hi] (lo excluded with lo_open), else an error
    that says the range."""
    def parse(text: str):
        try:
            v = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: not a number ({what})") from None
        if v < lo or v > hi or (lo_open and v == lo):
            raise argparse.ArgumentTypeError(f"{text}: {what}")
        return v
    return parse


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as every other error: one line, `camdiag: ...`, exit 2."""

    def error(self, message: str):
        cmd = self.prog.split()[-1] if " " in self.prog else ""
        helptext = f"camdiag {cmd} --help" if cmd else "camdiag --help"
        sys.stderr.write(f"camdiag: {message} ({helptext} shows the options)\n")
        sys.exit(EXIT_ERROR)


def _add_port(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", "-p",
                   help="serial device, pyserial URL (socket://, rfc2217://) or sim://[?opts]; "
                        "default: the one ESP32 board attached")
    p.add_argument("--baud", type=int, default=115200, help="baud rate (default 115200)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds without a byte from the board before giving up (default 60)")


def _add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    if not any("--quiet" in a.option_strings for a in p._actions):
        p.add_argument("--quiet", "-q", action="store_true",
                       help="no progress display (it shows only on a terminal anyway)")


COMMANDS: dict[str, tuple[Callable, str, str]] = {
    "ports": (cmd_ports, "list serial ports, marking likely ESP32 boards",
              "camdiag ports"),
    "sim": (cmd_sim, "run a virtual board (real MicroPython, simulated hardware) until Ctrl-C",
            "camdiag sim --flash board.img"),
    "info": (cmd_info, "board, firmware, MicroPython version, id, reset cause, heap, flash",
             "camdiag info --port sim://"),
    "deploy": (cmd_deploy, "compile the firmware and copy changed files to the board",
               "camdiag deploy --port /dev/ttyACM0 --board esp32s3-devkit"),
    "log": (cmd_log, "read the board's results log",
            "camdiag log --port /dev/ttyACM0 --last 5"),
    "selftest": (cmd_selftest, "speaker-to-mic loopback self-test: each check, the verdict, "
                 "the fix (exit 0 pass, 1 fail, 2 error)",
                 "camdiag selftest --port 'sim://?fault=muffled'"),
    "stimulus": (cmd_stimulus, "write exactly what the self-test plays to a WAV file",
                 "camdiag stimulus --board esp32s3-devkit --out stim.wav"),
    "capture": (cmd_capture, "play the stimulus and save the mic recording as WAV",
                "camdiag capture --port /dev/ttyACM0 --out rec.wav"),
    "button": (cmd_button, "the reset button: its status, or --watch to follow its events "
               "live without interrupting the app",
               "camdiag button --port /dev/ttyACM0 --watch"),
    "rssi": (cmd_rssi, "Wi-Fi signal over a window: dBm min/mean/max/stdev, percent, bars, "
             "verdict and fix; --watch for a live bar, --history for the last 24 h",
             "camdiag rssi --port /dev/ttyACM0 --watch"),
    "scan": (cmd_scan, "Wi-Fi scan: networks by strength, channel congestion, a better channel",
             "camdiag scan --port 'sim://?ssid=lab&scan=crowded'"),
    "netcheck": (cmd_netcheck, "talk-path check: upload Mbit/s (TCP), RTT, jitter and loss "
                 "(UDP echo) against a netserver started here (or --server)",
                 "camdiag netcheck --port /dev/ttyACM0"),
    "netserver": (cmd_netserver, "the far end of netcheck: TCP upload sink + UDP echo, with "
                  "optional impairments",
                  "camdiag netserver --listen 5201 --scenario lossy"),
    "flash": (cmd_flash, "write a MicroPython .bin with esptool (offset from board.json), "
              "then deploy camdiag", "camdiag flash --port /dev/ttyACM0 --firmware "
              "ESP32_GENERIC_S3-20250415-v1.25.0.bin --erase"),
    "report": (cmd_report, "support report: self-test, Wi-Fi window, scan (and the talk path "
               "with --server), device info and the log, as report.json + report.html with "
               "plots; the verdict and the fix to try first on stdout",
               "camdiag report --port /dev/ttyACM0 --out camera-report"),
    "factory-reset": (cmd_factory_reset, "erase the Wi-Fi credentials and settings (scrubbed "
                      "from flash, the results log kept), with progress, then restart",
                      "camdiag factory-reset --port /dev/ttyACM0 --yes"),
    "wifi-setup": (cmd_wifi_setup, "store Wi-Fi credentials on the board and reboot to connect "
                   "(password asked, or $CAMDIAG_WIFI_PASSWORD)",
                   "camdiag wifi-setup --port /dev/ttyACM0 --ssid HomeNet"),
    "farm": (lambda args: _farm(args), "stand up a labgrid farm host: N virtual boards "
             "exported as places (a local coordinator unless --coordinator); --real prints "
             "the exporter YAML for the boards plugged in",
             "camdiag farm --boards 2 --fast   # then: make hil LG='--lg-reserve "
             "board=camdiag-sim --boards 2' RIG=labgrid"),
    "sim-control": (cmd_sim_control, "press the reset button of a running `camdiag sim` "
                    "(a click 120 ms, a long press 3500 ms, a factory reset 10000 ms)",
                    "camdiag sim-control /dev/pts/3 press 200 --count 2"),
    "analyze": (cmd_analyze, "run the self-test analysis on a WAV recording "
                "(16/32-bit PCM, mono/stereo)",
                "camdiag analyze rec.wav --board esp32s3-devkit --json"),
}


# One rule for --board: a connected board's own profile, read from it (deploy); where there
# is no board to ask (analyze, stimulus) or it may have none (flash), the camera's board.
# (Their audio and limits are the virtual board's too: boards/*/board.json.)
DEFAULT_BOARD = "esp32s3-devkit"
BOARD_RULE = (f"the rule: a connected board's own profile, else {DEFAULT_BOARD}, whose audio "
              "and limits the virtual board shares")
NO_BOARD_HELP = (f"board profile whose plan and limits apply (default {DEFAULT_BOARD}; "
                 + BOARD_RULE + ")")


def _farm(args) -> int:
    from .farm.host import cmd_farm

    return cmd_farm(args)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="camdiag",
        description="Audio and network diagnostics for cameras with two-way talk.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"camdiag {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (func, help_text, example) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text,
                           epilog=f"example:\n  {example}",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func)
        if name == "netserver":
            from .netserver import DEFAULT_PORT, SCENARIOS

            p.add_argument("--bind", default="0.0.0.0", help="address (default all)")
            p.add_argument("--listen", default=DEFAULT_PORT,
                           type=number_in(0, 65535, "a TCP port, 0..65535 (0: any free one)",
                                          integer=True),
                           help=f"TCP and UDP port (default {DEFAULT_PORT})")
            p.add_argument("--scenario", default="good", choices=list(SCENARIOS),
                           help="a preset impairment (default good)")
            p.add_argument("--throttle-mbps",
                           type=number_in(0, 10000, "Mbit/s above 0", lo_open=True),
                           help="read uploads at most this fast")
            p.add_argument("--drop-pct",
                           type=number_in(0, 100, "a share of echoes, 0..100 %"),
                           help="drop this share of echoes")
            p.add_argument("--delay-ms", type=number_in(0, 60000, "milliseconds, 0..60000"),
                           help="delay every echo")
            p.add_argument("--jitter-ms", type=number_in(0, 60000, "milliseconds, 0..60000"),
                           help="add 0..N ms random delay")
            p.add_argument("--seed", type=int, default=1, help="random seed")
            continue
        if name in ("ports", "stimulus"):
            if name == "ports":
                _add_json(p)
            else:
                p.add_argument("--board", default=DEFAULT_BOARD, help=NO_BOARD_HELP)
                p.add_argument("--out", "-o", required=True, help="WAV file to write")
        elif name == "analyze":
            p.add_argument("wav", help="WAV recording of the stimulus")
            p.add_argument("--board", default=DEFAULT_BOARD, help=NO_BOARD_HELP)
            _add_json(p)
        elif name == "farm":
            p.add_argument("--boards", type=int, default=2, help="virtual boards (default 2)")
            p.add_argument("--coordinator", help="HOST:PORT of a labgrid coordinator "
                           "(default: start one on 127.0.0.1)")
            p.add_argument("--prefix", default="camdiag-sim",
                           help="place names: PREFIX-1, PREFIX-2, ... (default camdiag-sim)")
            p.add_argument("--fast", action="store_true",
                           help="virtual boards run audio faster than real time")
            p.add_argument("--serial", choices=("raw", "rfc2217"), default="raw",
                           help="how places reach each board: its socket:// port (raw TCP, "
                           "default) or its pty through an RFC2217 server, as ser2net "
                           "serves a bench board")
            p.add_argument("--real", action="store_true",
                           help="print the exporter YAML for the ESP32 boards plugged in here")
        elif name == "sim-control":
            p.add_argument("port", help="the running sim's serial port or socket:// URL")
            p.add_argument("action", choices=("press",), help="what to do: press the button")
            p.add_argument("ms", type=number_in(1, 60000, "milliseconds, 1..60000",
                                                integer=True), help="how long to hold it")
            p.add_argument("--count", type=number_in(1, 10, "presses, 1..10", integer=True),
                           default=1, help="presses (default 1; 2 for a double click)")
            p.add_argument("--gap-ms", type=number_in(1, 5000, "milliseconds, 1..5000",
                                                      integer=True), default=150,
                           help="between presses (default 150)")
        elif name == "sim":
            p.add_argument("--board", default="sim", help="board profile (default sim)")
            p.add_argument("--flash", help="flash image file to use and keep between runs")
            p.add_argument("--fault", help="inject faults, comma separated (see README)")
            p.add_argument("--seed", type=int, help="random seed for repeatable runs")
            p.add_argument("--snr", type=float, help="room noise: SNR in dB (default 40)")
            p.add_argument("--rssi", help="radio scenario or a level in dBm (see README)")
            p.add_argument("--scan", help="scan table: clean or crowded")
            p.add_argument("--ssid", help="provision this Wi-Fi network (a fresh flash image)")
            p.add_argument("--fast", action="store_true",
                           help="run audio faster than real time")
        else:
            _add_port(p)
            _add_json(p)
        if name == "deploy":
            p.add_argument("--board", help="board profile (default: the board's own, read from "
                           "it; " + BOARD_RULE + ")")
            p.add_argument("--source", action="store_true",
                           help="(refused: .py sources compiled on the board leave the "
                           "self-test too little heap; says why)")
        if name == "log":
            p.add_argument("--last", type=int, default=0, help="only the last N records")
        if name in ("selftest", "rssi", "scan", "netcheck", "report"):
            p.add_argument("--no-log", action="store_true",
                           help="do not append the result to the board's log")
        if name in ("selftest", "rssi", "scan", "netcheck", "report", "analyze"):
            p.add_argument("--strict", action="store_true",
                           help="a WARN exits 1, as a failure would (for CI); default 0")
        if name == "rssi":
            p.add_argument("--seconds", type=number_in(1, 86400, "seconds, 1..86400"),
                           help="window length (default: board.json wifi.rssi_window_s); "
                                "with --watch: stop after N seconds")
            p.add_argument("--watch", action="store_true",
                           help="a live reading each second until Ctrl-C")
            p.add_argument("--history", action="store_true",
                           help="the RSSI history the app keeps (24 h)")
        if name == "netcheck":
            p.add_argument("--server", help="HOST:PORT of a running `camdiag netserver`")
            p.add_argument("--scenario", help="impairment of the netserver started here "
                           "(good, slow_upload, lossy, laggy, jittery)")
        if name == "flash":
            p.add_argument("--firmware", required=True, help="MicroPython image (.bin)")
            p.add_argument("--board", default=DEFAULT_BOARD,
                           help=f"board profile (default {DEFAULT_BOARD}: the flash may be "
                           "erased, and a blank board has no profile to read; "
                           + BOARD_RULE + ")")
            p.add_argument("--erase", action="store_true", help="erase the whole flash first")
            p.add_argument("--flash-baud", type=int, default=460800,
                           help="esptool's baud rate (default 460800)")
            p.add_argument("--no-stub", action="store_true",
                           help="esptool with the ROM loader only (slower; when the stub "
                                "flasher will not start)")
        if name == "report":
            p.add_argument("--out", "-o", required=True, help="folder for the report files")
            p.add_argument("--server", help="HOST:PORT of a `camdiag netserver`: adds the "
                           "talk-path check")
            p.add_argument("--last", type=int, default=20, help="log records included "
                           "(default 20)")
        if name == "wifi-setup":
            p.add_argument("--ssid", required=True, help="network name")
            p.add_argument("--wait", type=number_in(0, 600, "seconds, 0..600"), default=30,
                           help="seconds to wait for the board to connect (default 30)")
        if name == "factory-reset":
            p.add_argument("--yes", "-y", action="store_true",
                           help="do not ask (needed when not on a terminal)")
        if name == "button":
            p.add_argument("--watch", action="store_true", help="stream events until Ctrl-C")
            p.add_argument("--seconds", type=number_in(1, 86400, "seconds, 1..86400"),
                           help="with --watch: stop after N seconds")
        if name == "capture":
            p.add_argument("--out", "-o", required=True, help="WAV file to write")
    return parser


# What the output's glyphs become on a terminal or pipe that cannot show them
# (PYTHONIOENCODING=ascii, a latin-1 console): the measurement is printed all the same.
ASCII = {"▁": "_", "▂": "_", "▃": "-", "▄": "-", "▅": "=", "▆": "=", "▇": "#", "█": "#",
         "▮": "#", "▯": ".", "·": "."}


def _ascii_fallback(err: UnicodeEncodeError):
    text = err.object[err.start:err.end]
    return "".join(ASCII.get(c, "?") for c in text), err.end


def _output_falls_back_to_ascii() -> None:
    import codecs

    codecs.register_error("camdiag-ascii", _ascii_fallback)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="camdiag-ascii")
        except (AttributeError, ValueError):  # (not a TextIOWrapper: a test's capture)
            pass


def main(argv: list[str] | None = None) -> int:
    _output_falls_back_to_ascii()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_ERROR
    try:
        if "port" in vars(args) and args.port is None and args.func is not cmd_sim \
                and args.command != "farm":
            from .ports import auto_port

            args.port, what = auto_port()
            if not (getattr(args, "json", False) or getattr(args, "quiet", False)):
                print(f"using {args.port} ({what})", file=sys.stderr)
        return args.func(args)
    except CamdiagError as e:
        print(f"camdiag: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        from .link import INTERRUPTED

        what = ""
        if INTERRUPTED.get("call") and "stopped" in INTERRUPTED:
            what = (f" (the board's {INTERRUPTED['call']} was stopped too: nothing logged)"
                    if INTERRUPTED["stopped"] else
                    f" (the board had finished its {INTERRUPTED['call']}: its result is "
                    "in its log)")
        print(f"camdiag: interrupted{what}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: speed and memory figures, printed as a table and written to bench/results.json.

Figures are measured, never asserted: tests check behaviour, this reports numbers.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from . import ROOT
from .build import firmware_files
from .link import DeviceLink
from .simboard import HEAP_KB, VirtualBoard, micropython_binary

RUNS = 5


def _median_cli(argv: list[str]) -> tuple[float, list[float]]:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", "camdiag_host.cli", *argv],
                             capture_output=True, text=True, timeout=300)
        times.append(time.perf_counter() - t0)
        if res.returncode not in (0, 1):
            raise RuntimeError(f"camdiag {' '.join(argv)} failed: {res.stderr}")
    return statistics.median(times), times


def analysis_speed() -> dict:
    res = subprocess.run([micropython_binary(), "-X", "heapsize=4M",
                          str(ROOT / "bench" / "mp_bench.py"), str(ROOT)],
                         capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        raise RuntimeError(res.stdout + res.stderr)
    return json.loads(res.stdout.strip().splitlines()[-1])


def board_figures() -> dict:
    """One virtual board: heap after boot, self-test heap peak, bytes over the link."""
    out = {}
    with VirtualBoard(options={"seed": "1"}) as vb:
        vb.wait_ready(15)
        time.sleep(1.0)  # let main.py settle into its loop
        with DeviceLink(vb.port) as link:
            o, _ = link.exec_raw("import gc\ngc.collect()\nprint(gc.mem_alloc(), gc.mem_free())")
            alloc, free = (int(v) for v in o.split())
            out["boot_mem_alloc"] = alloc
            out["boot_mem_free"] = free
        with DeviceLink(vb.port) as link:
            c0_in, c0_out = link.counter.bytes_in, link.counter.bytes_out
            t0 = time.perf_counter()
            first = link.call("selftest", {"log": False, "measure_heap": True}, timeout=120)
            out["selftest_call_s"] = time.perf_counter() - t0
            out["selftest_bytes_in"] = link.counter.bytes_in - c0_in
            out["selftest_bytes_out"] = link.counter.bytes_out - c0_out
            out["plan_audio_ms"] = first["plan"]["audio_ms"]
            out["kernels"] = first["kernels"]
            rec = _steady_heap(link, out, first, 120)
            out["heap_phases"] = rec["heap_phases"]
        # data only (the firmware frozen into flash, where code costs no heap): each
        # phase's heap less the code of the modules it had loaded, each module's measured
        # by importing it on a board that has them all unloaded
        sets = [loaded for _p, _u, loaded in out["heap_phases"]]
        with DeviceLink(vb.port) as link:
            o, _ = link.exec_raw(_CODE_HEAP % (sets,), timeout=60)
        code = json.loads(o.decode().strip().splitlines()[-1])
        out["heap_phases_code"] = code
        out["heap_phases_data"] = [(p, used - c) for (p, used, _l), c in
                                   zip(out["heap_phases"], code, strict=True)]
        out["heap_peak_data_only"] = max(d for _p, d in out["heap_phases_data"])
    return out


def _steady_heap(link, out: dict, first: dict, timeout: float) -> dict:
    """After a first self-test measuring its heap (it interns the code's names, once): the
    steady state (code loaded from .mpy into RAM again) and the heap after gc.collect().
    Fills out's heap_peak_first_run, heap_peak_above_idle and mem_alloc_after_selftest;
    returns the second record."""
    out["heap_peak_first_run"] = first["heap_peak_above_idle"]
    rec = link.call("selftest", {"log": False, "measure_heap": True}, timeout=timeout)
    out["heap_peak_above_idle"] = rec["heap_peak_above_idle"]
    o, _ = link.exec_raw("import gc\ngc.collect()\nprint(gc.mem_alloc())")
    out["mem_alloc_after_selftest"] = int(o)
    return rec


# Runs on the board: the heap the code of each phase's modules takes, loaded together on
# their own (the self-test unloads them all when it ends).
_CODE_HEAP = """
import gc, sys, json
sets = %r
out = []
for names in sets:
    for n in names:
        sys.modules.pop(n, None)
    gc.collect()
    a = gc.mem_alloc()
    for n in names:
        try:
            __import__(n)
        except ImportError:
            pass
    gc.collect()
    out.append(gc.mem_alloc() - a)
    for n in names:
        sys.modules.pop(n, None)
print(json.dumps(out))
"""


def wifi_figures() -> dict:
    """A virtual board with Wi-Fi: device-call times, talk-path figures over loopback, the
    app's loop during a scan, and the heap before/after every Wi-Fi call."""
    from .netserver import NetServer

    out = {}
    mem = "import gc\ngc.collect()\nprint(gc.mem_alloc())"
    with VirtualBoard(options={"seed": "1", "ssid": "bench"}) as vb, \
            NetServer(bind="127.0.0.1", port=0) as srv:
        vb.wait_ready(15)
        time.sleep(1.5)
        with DeviceLink(vb.port) as link:
            out["mem_before"] = int(link.exec_raw(mem)[0])
            for name, args in (("rssi_read", {}), ("rssi", {"log": False}),
                               ("scan", {"log": False}),
                               ("netcheck", {"host": "127.0.0.1", "port": srv.port,
                                             "log": False})):
                t0 = time.perf_counter()
                rec = link.call(name, args, timeout=60)
                out[f"{name}_call_s"] = time.perf_counter() - t0
                if name == "netcheck":
                    out["net"] = rec["net"]
            tick = "import camdiag.app as a\nprint(a.STATE['ticks'])"
            t_before = int(link.exec_raw(tick)[0])
            t0 = time.perf_counter()
            link.call("scan", {"log": False}, timeout=60)
            out["scan_s"] = time.perf_counter() - t0
            out["ticks_during_scan"] = int(link.exec_raw(tick)[0]) - t_before
            out["mem_after"] = int(link.exec_raw(mem)[0])
            out["history_bytes"] = int(link.exec_raw(
                "import camdiag.app as a\nprint(len(a.STATE['history'].buf))")[0])
    return out


def sim_overhead() -> int:
    """Heap the virtual board's own ROM/REPL/sim models use, with no firmware on flash."""
    import tempfile

    from . import BOARDS_DIR

    with tempfile.TemporaryDirectory() as d:
        img = Path(d) / "empty.img"
        stage = Path(d) / "stage"
        stage.mkdir()
        subprocess.run([micropython_binary(), str(BOARDS_DIR / "sim" / "mkimage.py"), str(img),
                        "64", str(stage)], check=True, capture_output=True)
        (Path(d) / "c").write_text("")
        env = {"CAMDIAG_SIM_FLASH": str(img), "CAMDIAG_SIM_CONTROL": str(Path(d) / "c"),
               "CAMDIAG_SIM_OPTS": '{"realtime": 0}', "PATH": "/usr/bin:/bin"}
        res = subprocess.run(
            [micropython_binary(), "-X", f"heapsize={HEAP_KB}K",
             str(BOARDS_DIR / "sim" / "rom.py")],
            input=b"import gc\rgc.collect()\rprint('ALLOC', gc.mem_alloc())\r",
            capture_output=True, env=env, timeout=30)
    for line in res.stdout.decode(errors="replace").splitlines():
        if line.startswith("ALLOC"):
            return int(line.split()[1])
    raise RuntimeError(res.stdout.decode(errors="replace"))


# -- the same figures on the real ESP32 port (the QEMU board) ---------------------------
_QEMU_BENCH_MODULES = ("__init__", "compat", "profile", "plan", "kernels", "kernels_viper",
                       "kernels_portable", "capture", "analysis")


# Before bench/mp_bench.py on the QEMU board: every module it needs loaded, then the RAM
# disk freed for its buffers (the 20 KB stimulus needs a block the disk's would split).
_QEMU_BENCH_PRELUDE = """
BENCH_ROOT = '/ram'
def BENCH_LOADED():
    import sys, vfs, gc
    import camdiag.kernels_viper, camdiag.kernels_portable
    vfs.umount('/ram')
    _bd.blocks = None
    gc.collect()
"""


def qemu_figures() -> dict | None:
    """Analysis speed (viper and portable), board start and heap on the ESP32 port in QEMU:
    bench/mp_bench.py from a RAM disk on a blank board (the emulated flash costs ~10 ms per
    read). None where QEMU is not found (the table says so). QEMU is not cycle-accurate:
    its speed figures are the emulator's, read as relative (viper against portable)."""
    from . import qemuboard
    from .build import compile_module

    if qemuboard.available() is not None:
        return None
    out = {}
    t0 = time.perf_counter()
    with qemuboard.QemuBoard(deploy_firmware=False) as board:
        out["start_to_repl_s"] = time.perf_counter() - t0
        files = [(f"/ram/firmware/camdiag/{m}.mpy",
                  compile_module(ROOT / "firmware" / "camdiag" / f"{m}.py", "xtensawin"))
                 for m in _QEMU_BENCH_MODULES]
        files += [("/ram/tests/firmware/fwtest.mpy",
                   compile_module(ROOT / "tests" / "firmware" / "fwtest.py", "xtensawin")),
                  ("/ram/boards/sim/board.json", (ROOT / "boards" / "sim" / "board.json")
                   .read_bytes())]
        dirs = ["/ram/firmware", "/ram/firmware/camdiag", "/ram/tests", "/ram/tests/firmware",
                "/ram/boards", "/ram/boards/sim"]
        with DeviceLink(board.url) as link:
            t1 = time.perf_counter()
            o, _ = link.exec_raw("import gc\ngc.collect()\nprint(gc.mem_alloc(), gc.mem_free())")
            out["first_call_s"] = time.perf_counter() - t1
            out["blank_mem_alloc"], out["blank_mem_free"] = (int(v) for v in o.split())
            blocks = sum(-(-len(d) // 512) + 1 for _p, d in files) + 24
            _o, err = link.exec_raw(qemuboard.RAMDISK.format(blocks=blocks, dirs=dirs),
                                    timeout=60)
            if err:
                raise RuntimeError(err.decode(errors="replace"))
            for path, data in files:
                link.transport.fs_writefile(path, data, chunk_size=1024)
            src = (ROOT / "bench" / "mp_bench.py").read_text()
            o, err = link.exec_raw(_QEMU_BENCH_PRELUDE + src,
                                   timeout=900)
            if err:
                raise RuntimeError(err.decode(errors="replace"))
            out["analysis"] = json.loads(o.decode().strip().splitlines()[-1])
            link.close(resume=False)
    return out


def qemu_factory_figures() -> dict:
    """A QEMU board with camdiag on its LittleFS, as a factory programs it: boot to the app,
    the firmware's heap after boot, and the self-test's heap peak above idle on the real
    port's heap (the on-board acoustic model stands in for I2S)."""
    from . import qemuboard

    out = {}
    t0 = time.perf_counter()
    with qemuboard.QemuBoard() as board:
        out["boot_to_app_s"] = time.perf_counter() - t0
        with DeviceLink(board.url) as link:
            o, _ = link.exec_raw("import gc\ngc.collect()\nprint(gc.mem_alloc(), gc.mem_free())")
            out["boot_mem_alloc"], out["boot_mem_free"] = (int(v) for v in o.split())
            first = link.call("selftest", {"log": False, "measure_heap": True}, timeout=300)
            out["verdict"] = _steady_heap(link, out, first, 300)["verdict"]
    return out


# HIL files whose tests run on a labgrid place (most others need the virtual board itself;
# test_button's factory reset alone fills 6 MB of flash, minutes, so it is left out here)
FARM_SUITE = ["hil_tests/test_smoke.py", "hil_tests/test_selftest.py"]


def farm_figures(places=(1, 2, 3)) -> dict | None:
    """One board three ways: a device call's round trip (median of 20 `ping` calls in one
    session), `camdiag info` and `camdiag selftest --no-log` end to end (median of RUNS),
    over its pty, over socket:// and over RFC2217 through a labgrid place; then the time of
    the FARM_SUITE HIL files through 1, 2 and 3 places (one xdist worker each). None
    without labgrid."""
    try:
        import labgrid  # noqa: F401
    except ImportError:
        return None
    from .farm import BOARD_TAG
    from .farm.host import Farm
    from .farm.places import Places

    out: dict = {"transports": {}, "suite_s": {}, "suite": FARM_SUITE}
    with Farm(boards=1, options={"realtime": "0"}, serial="rfc2217") as farm:
        name = farm.places[0]
        lg = Places(farm.coordinator, wait_s=30)
        try:
            (place,) = lg.take(names=[name])
            vb = farm.boards[name]
            for kind, url in (("pty", vb.port), ("socket", vb.url), ("rfc2217", place.url)):
                row = {}
                t0 = time.perf_counter()
                with DeviceLink(url) as link:
                    row["open_s"] = time.perf_counter() - t0
                    times = []
                    for _ in range(20):
                        t1 = time.perf_counter()
                        link.call("ping")
                        times.append(time.perf_counter() - t1)
                    row["call_ms"] = statistics.median(times) * 1000
                row["info_s"] = _median_cli(["info", "--port", url])[0]
                row["selftest_s"] = _median_cli(["selftest", "--port", url, "--no-log"])[0]
                out["transports"][kind] = row
        finally:
            lg.release()
    for n in places:
        with Farm(boards=n, options={"realtime": "0"}) as farm:
            t0 = time.perf_counter()
            res = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FARM_SUITE,
                 "--lg-coordinator", farm.coordinator, "--lg-reserve", f"board={BOARD_TAG}",
                 "--boards", str(n), "--rig", "labgrid"],
                cwd=ROOT, capture_output=True, text=True, timeout=3600)
            tail = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""
            out["suite_s"][str(n)] = {"s": time.perf_counter() - t0, "rc": res.returncode,
                                      "summary": tail}
    return out


def main() -> int:
    results: dict = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "heap_cap_kb": HEAP_KB}
    print("measuring analysis speed on the MicroPython unix port ...", flush=True)
    results["analysis"] = analysis_speed()
    print("measuring a virtual board (heap, self-test, link bytes) ...", flush=True)
    results["board"] = board_figures()
    results["sim_overhead_bytes"] = sim_overhead()
    print("measuring Wi-Fi calls on a virtual board with a netserver over loopback ...",
          flush=True)
    results["wifi"] = wifi_figures()
    print(f"timing `camdiag info` and `camdiag selftest` over sim:// ({RUNS} runs each) ...",
          flush=True)
    results["info_e2e_s"], results["info_e2e_runs"] = _median_cli(["info", "--port", "sim://"])
    results["selftest_e2e_s"], results["selftest_e2e_runs"] = _median_cli(
        ["selftest", "--port", "sim://", "--no-log"])
    print("measuring the same on the real ESP32 port in QEMU (a few minutes) ...", flush=True)
    results["qemu"] = qemu_figures()
    if results["qemu"] is not None:
        print("... and on a QEMU board with camdiag on flash (boots in ~1 min) ...", flush=True)
        results["qemu"]["factory"] = qemu_factory_figures()
    print("measuring a labgrid farm on 127.0.0.1: transports, then the HIL files "
          f"{', '.join(Path(f).name for f in FARM_SUITE)} on 1, 2, 3 places ...", flush=True)
    results["farm"] = farm_figures()
    mpy = [f for f in firmware_files("esp32s3-devkit") if f.path.endswith(".mpy")]
    results["mpy_xtensawin_bytes"] = sum(len(f.data) for f in mpy)
    results["mpy_files"] = len(mpy)

    a = results["analysis"]
    b = results["board"]
    rows = [
        ("analysis speed, viper (unix port)", f"{a['viper']['audio_per_cpu_s']:.0f}",
         "s of audio per CPU s"),
        ("analysis speed, portable (unix port)", f"{a['portable']['audio_per_cpu_s']:.1f}",
         "s of audio per CPU s"),
        ("self-test plan audio length", f"{b['plan_audio_ms']}", "ms"),
        ("self-test heap peak above idle", f"{b['heap_peak_above_idle'] / 1024:.1f}",
         "KB (limit 32, aim 16): code loaded as .mpy into RAM"),
        ("  the same, data only (frozen firmware)", f"{b['heap_peak_data_only'] / 1024:.1f}",
         "KB (aim 16): each phase less the code of the modules it had loaded"),
        ("  the same, first run since boot", f"{b['heap_peak_first_run'] / 1024:.1f}",
         "KB (includes interning the code's names, once)"),
        ("firmware heap after boot (gc.mem_alloc)",
         f"{(b['boot_mem_alloc'] - results['sim_overhead_bytes']) / 1024:.1f}",
         f"KB (board total {b['boot_mem_alloc'] / 1024:.1f} KB incl. "
         f"{results['sim_overhead_bytes'] / 1024:.1f} KB of sim)"),
        ("heap after a self-test (back to idle?)", f"{b['mem_alloc_after_selftest'] / 1024:.1f}",
         "KB board total"),
        ("selftest --port sim:// end to end", f"{results['selftest_e2e_s']:.2f}",
         f"s (median of {RUNS})"),
        ("info --port sim:// end to end", f"{results['info_e2e_s']:.2f}", f"s (median of {RUNS})"),
        ("serial bytes per self-test call",
         f"{b['selftest_bytes_in'] + b['selftest_bytes_out']}",
         f"bytes ({b['selftest_bytes_out']} to, {b['selftest_bytes_in']} from the board)"),
        ("compiled firmware (.mpy, xtensawin)", f"{results['mpy_xtensawin_bytes']}",
         f"bytes in {results['mpy_files']} files"),
    ]
    w = results["wifi"]
    rows += [
        ("Wi-Fi call: rssi_read / rssi (5 s window)",
         f"{w['rssi_read_call_s']:.2f} / {w['rssi_call_s']:.2f}", "s"),
        ("Wi-Fi call: scan / netcheck", f"{w['scan_call_s']:.2f} / {w['netcheck_call_s']:.2f}",
         "s"),
        ("app loop ticks during a scan", f"{w['ticks_during_scan']}",
         f"ticks of 20 ms in {w['scan_s']:.2f} s (the scan runs in a thread)"),
        ("talk path over loopback", f"{w['net']['upload_mbps']:.0f}",
         f"Mbit/s up, RTT {w['net']['rtt_mean_ms']} ms, jitter {w['net']['jitter_ms']} ms"),
        ("heap before / after the Wi-Fi calls", f"{w['mem_before'] / 1024:.1f} / "
         f"{w['mem_after'] / 1024:.1f}", "KB board total (transient modules unloaded)"),
        ("RSSI history ring", f"{w['history_bytes']}", "bytes (24 h at 30 s on a board)"),
    ]
    q = results["qemu"]
    if q is None:
        from .qemuboard import available

        rows.append(("the ESP32 port in QEMU", "not run", available() or ""))
    else:
        qa = q["analysis"]
        q_ratio = qa["viper"]["audio_per_cpu_s"] / qa["portable"]["audio_per_cpu_s"]
        u_ratio = a["viper"]["audio_per_cpu_s"] / a["portable"]["audio_per_cpu_s"]
        rows += [
            ("analysis speed, viper (ESP32 port, QEMU)",
             f"{qa['viper']['audio_per_cpu_s']:.1f}",
             f"s of audio per s (unix port {a['viper']['audio_per_cpu_s']:.0f}; QEMU's "
             "speed, not the chip's)"),
            ("analysis speed, portable (ESP32 port, QEMU)",
             f"{qa['portable']['audio_per_cpu_s']:.2f}",
             f"s of audio per s (viper {q_ratio:.0f}x faster there, {u_ratio:.0f}x on unix)"),
            ("capture loop, viper / portable (QEMU)",
             f"{qa['viper']['capture_loop_s']:.2f} / {qa['portable']['capture_loop_s']:.2f}",
             f"s for {qa['audio_s']:.2f} s of audio (must stay below it)"),
            ("QEMU board start to first device call",
             f"{q['start_to_repl_s'] + q['first_call_s']:.1f}",
             "s (blank board to its REPL; with camdiag on LittleFS ~1 min: flash reads)"),
            ("heap on a blank ESP32 port (gc.mem_free)", f"{q['blank_mem_free'] / 1024:.1f}",
             f"KB free, {q['blank_mem_alloc'] / 1024:.1f} KB in use"),
        ]
        f = q["factory"]
        rows += [
            ("QEMU board with camdiag: boot to app", f"{f['boot_to_app_s']:.0f}",
             "s (LittleFS reads at ~10 ms each in QEMU)"),
            ("firmware heap after boot (QEMU, gc.mem_alloc)",
             f"{f['boot_mem_alloc'] / 1024:.1f}",
             f"KB in use, {f['boot_mem_free'] / 1024:.1f} KB free (incl. the on-board "
             "acoustic model)"),
            ("self-test heap peak above idle (QEMU)", f"{f['heap_peak_above_idle'] / 1024:.1f}",
             f"KB (unix port {b['heap_peak_above_idle'] / 1024:.1f}; first run "
             f"{f['heap_peak_first_run'] / 1024:.1f}; verdict {f['verdict']})"),
            ("heap after a self-test (QEMU)", f"{f['mem_alloc_after_selftest'] / 1024:.1f}",
             f"KB in use (after boot {f['boot_mem_alloc'] / 1024:.1f})"),
        ]
    fm = results["farm"]
    if fm is None:
        rows.append(("labgrid farm", "not run", "labgrid is not installed"))
    else:
        for kind, r in fm["transports"].items():
            rows.append((f"device call round trip over {kind}", f"{r['call_ms']:.1f}",
                         f"ms (ping; open {r['open_s']:.2f} s, info {r['info_s']:.2f} s, "
                         f"selftest {r['selftest_s']:.2f} s end to end)"))
        for n, r in fm["suite_s"].items():
            rows.append((f"HIL files on {n} place(s)", f"{r['s']:.0f}",
                         f"s ({r['summary'] or 'exit ' + str(r['rc'])})"))
    width = max(len(r[0]) for r in rows)
    print()
    for name, value, unit in rows:
        print(f"  {name:{width}}  {value:>10}  {unit}")
    out = ROOT / "bench" / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

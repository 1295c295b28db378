# camdiag boot.py: runs on every reset, before main.py.


def _carried_watchdog():
    # After a soft reset the task watchdog the app armed runs on (ports/esp32/machine_wdt.c:
    # only a chip reset stops ESP-IDF's task WDT) but the Timer that fed it is gone
    # (ports/esp32/main.c: machine_timer_deinit_all). Feed it first, before any import or
    # profile read touches flash (on the QEMU board that takes tens of seconds): camdiag.hw
    # noted the timeout in RTC memory when it armed it (hw.WDT_NOTE). A chip reset stopped
    # the watchdog, so then the note is stale and is cleared.
    import machine

    rtc = machine.RTC()
    note = rtc.memory()
    if machine.reset_cause() != machine.SOFT_RESET:
        if note:
            rtc.memory(b"")
        return None
    if not note.startswith(b"camdiag-wdt:"):
        return None
    try:
        ms = int(note[12:])
    except ValueError:
        return None
    wdt = machine.WDT(timeout=ms)
    wdt.feed()
    timer = machine.Timer(0)  # (the app's own set-up replaces both: the same WDT, timer 0)
    timer.init(mode=machine.Timer.PERIODIC, period=max(100, ms // 4),
               callback=lambda _t: wdt.feed())
    return wdt, timer


_wdt = _carried_watchdog()
del _carried_watchdog


def _mount():
    # A board whose profile asks for larger LittleFS reads (board.json storage.read_size:
    # the QEMU board, where every flash operation costs ~10 ms) remounts / with them
    # before any import reads flash. Same filesystem, same block size: only the reads grow.
    import json

    try:
        with open("/board.json") as f:
            n = json.load(f)["storage"]["read_size"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    if n in (64, 128, 256, 512, 1024):  # (what profile.py allows; 32 is the port's own)
        import vfs
        from flashbdev import bdev

        vfs.umount("/")
        try:
            vfs.mount(vfs.VfsLfs2(bdev, readsize=n, progsize=32, lookahead=32), "/")
        except OSError:
            vfs.mount(bdev, "/")  # as the port mounted it: never leave the board without /


_mount()
del _mount

import camdiag.boot  # noqa: E402

camdiag.boot.run(_wdt)
del _wdt

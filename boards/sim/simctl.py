# Virtual board state shared by the simulated peripherals: options from the supervisor,
# the flash block device, and the host's control channel (injected faults, button presses).
import os
import json
import select
import sys
import time

OPTS = json.loads(os.getenv("CAMDIAG_SIM_OPTS") or "{}")

_BLOCK = 4096
# Flash timing: an ESP32-S3 module's QSPI NOR (W25Q64JV datasheet typicals: 4 KB sector
# erase 45 ms, 256-byte page program 0.4 ms). LittleFS erases each block before it programs
# it, so a block written whole costs ~51 ms: ~80 KB/s, and the CPU waits for it (ESP-IDF
# disables the cache during flash operations). ?flash_timing=instant turns it off for
# tests that are about atomicity, not time.
ERASE_MS = 45
PAGE_US = 400
_TIMED = OPTS.get("flash_timing", "real") != "instant"


class FlashBlockDevice:
    """LittleFS block device over the flash image file (extended interface, 4 KB sectors).

    Every write goes straight to the image file, so a killed process leaves exactly the
    blocks written so far: the power-loss model. `powercut_after` (blocks) kills the board
    process on that write, as a power cut would.
    """

    def __init__(self, path, nblocks):
        self.f = open(path, "r+b")
        self.nblocks = nblocks
        self.writes = 0
        self.reads = 0  # (counted: on the QEMU board each flash operation costs ~10 ms)
        self.powercut_after = int(OPTS.get("powercut_after", 0))
        # Allocated once: the sim shares the board's heap, and a 4 KB block allocated per
        # erase would fragment it (a real flash erase costs the app no heap at all).
        self.erased = b"\xff" * _BLOCK

    def _count(self):
        try:
            CONTROL.poll()  # a power cut may have been armed just now
        except MemoryError:
            # The heap is locked: a file the GC found unreferenced is closed (and flushed)
            # by its finaliser during the sweep. A real flash write allocates nothing; the
            # host's message waits for the next write.
            pass
        self.writes += 1
        if self.powercut_after and self.writes >= self.powercut_after:
            # Power cut: nothing after this write reaches flash. $PPID is this process.
            os.system("kill -9 $PPID")
            time.sleep(10)

    def readblocks(self, block, buf, offset=0):
        self.reads += 1
        self.f.seek(block * _BLOCK + offset)
        self.f.readinto(buf)

    def writeblocks(self, block, buf, offset=None):
        if offset is None:
            # Whole-block write: erase first, as the ESP32 partition driver does.
            offset = 0
            if _TIMED:
                time.sleep_ms(ERASE_MS)
        if _TIMED:
            time.sleep_us(PAGE_US * ((len(buf) + 255) // 256))
        self.f.seek(block * _BLOCK + offset)
        self.f.write(buf)
        self.f.flush()
        self._count()

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return self.nblocks
        if op == 5:  # block size
            return _BLOCK
        if op == 6:  # erase block
            if _TIMED:
                time.sleep_ms(ERASE_MS)
            self.f.seek(arg * _BLOCK)
            self.f.write(self.erased)
            self.f.flush()
            self._count()
            return 0
        return 0


def _flash():
    path = os.getenv("CAMDIAG_SIM_FLASH")
    f = open(path, "rb")
    f.seek(0, 2)
    size = f.tell()
    f.close()
    return FlashBlockDevice(path, size // _BLOCK)


FLASH = _flash() if os.getenv("CAMDIAG_SIM_FLASH") else None  # None: a model under test


class Control:
    """Reads JSON lines the host appends to the control file (faults, button script...)."""

    def __init__(self, path):
        self.f = open(path, "r") if path else None
        if self.f is not None:
            self.f.seek(0, 2)  # messages are for the running board, not replayed at boot
        self.handlers = {}
        self.pending = ""

    def on(self, kind, handler):
        self.handlers[kind] = handler

    def poll(self):
        if self.f is None:
            return
        data = self.f.read()
        if not data:
            return
        data = self.pending + data
        lines = data.split("\n")
        self.pending = lines.pop()
        for line in lines:
            if not line.strip():
                continue
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            h = self.handlers.get(msg.get("kind"))
            if h:
                h(msg)


CONTROL = Control(os.getenv("CAMDIAG_SIM_CONTROL"))
BOOT_TICKS = time.ticks_ms()


def boot_done():
    global BOOT_TICKS
    BOOT_TICKS = time.ticks_ms()


# -- pins: the button is driven by the host's script, outputs (LEDs) are recorded --------
PINS = {}
_SCRIPT = {}  # pin id -> list of (ticks_ms, level) from the host
_OUT = {}


def pin_level(pin_id, default):
    script = _SCRIPT.get(pin_id)
    if not script:
        return default
    now = time.ticks_ms()
    level = default
    for at, lvl in script:
        if time.ticks_diff(now, at) >= 0:
            level = lvl
        else:
            break
    return level


# Outputs as a logic analyser on the bench sees them: "ticks_ms pin level" per change, in a
# file the host reads (opened now, while the host file system is still mounted).
_TRACE = open(os.getenv("CAMDIAG_SIM_OUTPUTS"), "a") if os.getenv("CAMDIAG_SIM_OUTPUTS") \
    else None


def pin_written(pin_id, level):
    if _OUT.get(pin_id) != level and _TRACE is not None:
        _TRACE.write("%d %d %d\n" % (time.ticks_ms(), pin_id, level))
        _TRACE.flush()
    _OUT[pin_id] = level


# Pin IRQs, as ports/esp32/machine_pin.c has them: the GPIO ISR only calls
# mp_sched_schedule(handler, pin), so the handler always runs soft, from the scheduler,
# between any two bytecodes of whatever the main task runs (or while it sleeps), never in a
# blocking C call. The queue holds MICROPY_SCHEDULER_DEPTH = 8 entries (ports/esp32/
# mpconfigport.h); an edge that finds it full is lost. Here a thread plays the GPIO ISR: it
# watches the host's scripted levels and hands each edge to the unix port's scheduler
# (micropython.schedule), which runs it on the main thread as the ESP32's does.
SCHED_DEPTH = 8
IRQS = {}  # pin id -> (pin, handler, trigger mask: 1 rising, 2 falling)
_IRQ_LEVEL = {}
_PENDING = []  # scheduled, not run yet: pin ids (their IRQ handler) and Timers
_IRQ_STATE = {"thread": False, "lost": 0, "scheduled": False, "in": False, "blocked": False}


def block_forever():
    """A C call that never returns (an I2S read with portMAX_DELAY and no DMA): the main
    task runs no bytecode, so the scheduler runs nothing, timers included; only the
    watchdog (its own thread here) can end it."""
    _IRQ_STATE["blocked"] = True
    while True:
        time.sleep_ms(10)


def irq_register(pin, handler, trigger=3):
    if handler is None:
        IRQS.pop(pin.id, None)
        return
    IRQS[pin.id] = (pin, handler, trigger)
    _IRQ_LEVEL[pin.id] = pin_level(pin.id, pin._level)
    _start_isr_thread()


def _start_isr_thread():
    if not _IRQ_STATE["thread"]:
        import _thread

        _IRQ_STATE["thread"] = True
        _thread.start_new_thread(_irq_thread, ())


def in_irq():
    return _IRQ_STATE["in"]


def _run_pending(_):
    # the scheduler's turn: every callback queued so far (a pin id: its IRQ handler with
    # the pin; a Timer: its callback with the timer)
    st = _IRQ_STATE
    st["scheduled"] = False
    if st["in"] or st["blocked"]:
        return
    st["in"] = True
    try:
        while _PENDING:
            item = _PENDING.pop(0)
            if isinstance(item, int):
                entry = IRQS.get(item)
                if entry is not None:
                    entry[1](entry[0])
            elif item in TIMERS and item.callback is not None:
                item.callback(item)
    finally:
        st["in"] = False


def irq_fire(pid):
    """The ISR for one edge: queue the handler, or lose the edge if the queue is full."""
    _schedule(pid)


def _schedule(item):
    """mp_sched_schedule from an ISR: into the queue of SCHED_DEPTH, or lost when full."""
    import micropython

    st = _IRQ_STATE
    if len(_PENDING) >= SCHED_DEPTH:
        st["lost"] += 1
        return
    _PENDING.append(item)
    if not st["scheduled"]:
        st["scheduled"] = True
        try:
            micropython.schedule(_run_pending, None)
        except RuntimeError:  # the unix port's own queue is full: the next hook runs it
            st["scheduled"] = False


def _irq_thread():
    while True:
        if not IRQS and not TIMERS:
            time.sleep_ms(5)
            continue
        now = time.ticks_ms()
        wait = 5
        # the timer ISR (machine_timer.c: mp_sched_schedule of the callback)
        for t in list(TIMERS):
            d = time.ticks_diff(t.due, now)
            if d <= 0:
                t.due = time.ticks_add(now, t.period)
                _schedule(t)
                d = t.period
            if d < wait:
                wait = d
        for pid in list(IRQS):
            entry = IRQS.get(pid)
            if entry is None:
                continue
            pin, _, trigger = entry
            level = pin_level(pid, pin._level)
            old = _IRQ_LEVEL.get(pid)
            if level != old:
                _IRQ_LEVEL[pid] = level
                if trigger & (1 if level else 2):
                    irq_fire(pid)
            for at, _lvl in _SCRIPT.get(pid) or ():
                d = time.ticks_diff(at, now)
                if 0 < d < wait:
                    wait = d
        time.sleep_ms(max(1, wait))


def dispatch_irqs():
    """The peripherals' hook: a scheduled pin handler or timer callback the unix
    scheduler has not run yet (its own queue was full) runs here."""
    if _PENDING:
        _run_pending(None)


def _on_pin(msg):
    # {"kind": "pin", "pin": 15, "steps": [[delay_ms, level], ...]} relative to now
    now = time.ticks_ms()
    steps = []
    for delay, level in msg.get("steps", []):
        steps.append((time.ticks_add(now, int(delay)), int(level)))
    _SCRIPT[int(msg["pin"])] = steps


CONTROL.on("pin", _on_pin)


def _on_powercut(msg):
    # {"kind": "powercut", "after": N}: the board loses power at its N-th flash write from now
    FLASH.writes = 0
    FLASH.powercut_after = int(msg["after"])


CONTROL.on("powercut", _on_powercut)

# Held at boot: {"button_held_ms": N} in the options holds the button pin low for N ms.
if OPTS.get("button_held_ms"):
    _SCRIPT[int(OPTS.get("button_pin", 15))] = [
        (time.ticks_add(time.ticks_ms(), -1), 0),
        (time.ticks_add(time.ticks_ms(), int(OPTS["button_held_ms"])), 1),
    ]

# -- watchdog ------------------------------------------------------------------------------
# A thread plays the hardware timer: it runs whatever Python is doing (a hung read included)
# and, once the watchdog starves, resets the board: the supervisor sees the marker file and
# powers the board on with reset cause WDT_RESET.
_WDT = {"timeout": 0, "fed": 0, "thread": False}


def _wdt_thread():
    while True:
        time.sleep_ms(50)
        t = _WDT["timeout"]
        if t and time.ticks_diff(time.ticks_ms(), _WDT["fed"]) > t:
            # (the host file system is not mounted any more: the shell leaves the marker)
            ready = os.getenv("CAMDIAG_SIM_READY") or "/dev/null"
            carry(soft=False)
            os.system("echo watchdog > '%s.wdt'; kill -9 $PPID" % ready)
            time.sleep(10)


def wdt_start(timeout_ms, left_ms=None):
    _WDT["timeout"] = timeout_ms
    _WDT["fed"] = time.ticks_add(time.ticks_ms(), (left_ms or timeout_ms) - timeout_ms)
    if not _WDT["thread"]:
        import _thread

        _WDT["thread"] = True
        _thread.start_new_thread(_wdt_thread, ())


def wdt_feed():
    _WDT["fed"] = time.ticks_ms()


def wdt_carry():
    """At a soft reset: the task watchdog keeps running on an ESP32 (machine_wdt.c arms the
    ESP-IDF task WDT, which only a chip reset stops; ports/esp32/main.c deinitialises the
    machine.Timers but not it). The supervisor hands this to the next interpreter."""
    t = _WDT["timeout"]
    if not t:
        return None
    return {"timeout": t, "left": t - time.ticks_diff(time.ticks_ms(), _WDT["fed"])}


if OPTS.get("wdt_carry"):  # armed before the soft reset: still counting down
    wdt_start(OPTS["wdt_carry"]["timeout"], max(1, OPTS["wdt_carry"]["left"]))


# -- RTC memory -------------------------------------------------------------------------------
# machine.RTC().memory() (ports/esp32/machine_rtc.c): up to 2048 bytes in RTC_NOINIT memory,
# kept across soft resets and chip resets; at power-on the magic word does not match and it
# reads b"". (A reset the host forces on the virtual board, chip_reset(), drops it too.)
RTC_MEM_MAX = 2048
RTC_MEM = [bytes.fromhex(OPTS.get("rtc_mem", ""))]


def carry(soft):
    """Before this interpreter exits for a reset: what the next one inherits, the RTC memory
    and, at a soft reset, the running watchdog. The supervisor hands it on (simboard.py)."""
    state = {"rtc": RTC_MEM[0].hex()}
    wdt = wdt_carry() if soft else None
    if wdt:
        state["wdt"] = wdt
    # (the host file system is unmounted: the shell writes it)
    path = (os.getenv("CAMDIAG_SIM_READY") or "/dev/null") + ".carry"
    os.system("echo '%s' > '%s'" % (json.dumps(state), path))


# -- timers: machine.Timer callbacks are soft on the ESP32: the timer ISR schedules them
# (ports/esp32/machine_timer.c), in the same queue of 8 as pin IRQs, and they run between
# bytecodes of whatever runs, never during a blocking C call. The ISR thread above plays
# the timer interrupt ------------------------------------------------------------------------
TIMERS = []


def timer_started():
    _start_isr_thread()


# -- Ctrl-C, as a board's USB/UART driver sees it ------------------------------------------
# An ESP32 checks every received byte for Ctrl-C and raises KeyboardInterrupt at the next
# safe point. The unix port only interrupts on SIGINT, and raises it asynchronously (a
# longjmp out of the signal handler), which can leave its qstr or GC mutex locked and
# deadlock the board. So the simulated peripherals look at stdin whenever the firmware
# touches them (the app does every few ms, a self-test every block): Ctrl-C raises
# KeyboardInterrupt right there, in Python; any other byte is queued for the REPL.
_STDIN = sys.stdin.buffer
_POLL = select.poll()
_POLL.register(_STDIN, select.POLLIN)
_B1 = bytearray(1)
# Bytes read while user code ran, for the REPL: the ESP32's stdin ring buffer, 260 bytes
# (ports/esp32/mphalport.c stdin_ringbuf_array). When it is full the USB CDC reads no more
# (shared/tinyusb/mp_usbd_cdc.c tud_cdc_rx_cb: the rest waits in the host's pipe), and a
# Ctrl-C empties it. Fixed, so taking a byte allocates nothing (a bytearray shifted by one
# per byte copied the rest each time: KBs of raw-paste input queued behind a busy app then
# failed with MemoryError in a fragmented heap).
_RING = bytearray(260)
_RING_AT = [0, 0]  # where the next byte is, how many there are


def input_pending():
    return _RING_AT[1]


def input_get():
    """The oldest queued input byte (input_pending() must be > 0)."""
    at, n = _RING_AT
    c = _RING[at]
    _RING_AT[0] = (at + 1) % len(_RING)
    _RING_AT[1] = n - 1
    return c
SUPERVISED = bool(os.getenv("CAMDIAG_SIM_READY"))  # a board under simboard.py's supervisor


def check_ctrl_c():
    dispatch_irqs()
    while _RING_AT[1] < len(_RING) - 1:  # (a ring buffer keeps one slot free)
        ready = False
        for _ in _POLL.ipoll(0):
            ready = True
        if not ready:
            return
        if not _STDIN.readinto(_B1):
            # The supervisor closed our stdin (it stopped, or was killed): power off, as
            # the REPL does (rom.py), not run on as an orphan nobody can reach. (These
            # models' own tests run with no supervisor, and any stdin.)
            if SUPERVISED:
                sys.exit(0)
            return
        if _B1[0] == 3:
            _RING_AT[1] = 0
            raise KeyboardInterrupt
        _RING[(_RING_AT[0] + _RING_AT[1]) % len(_RING)] = _B1[0]
        _RING_AT[1] += 1

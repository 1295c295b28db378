# The virtual board's "ROM": what the ESP32 port's C main loop does, for the unix port.
#
# Runs on the real MicroPython unix port. It mounts the board's LittleFS2 flash image at /,
# installs the simulated hardware as the `machine` and `network` modules, runs boot.py and
# (in friendly mode) main.py, then serves a REPL that speaks the same protocol as
# ports/esp32 + shared/runtime/pyexec.c: friendly REPL, raw REPL (Ctrl-A) and raw-paste
# mode (Ctrl-E A Ctrl-A). The unix port's own REPL cannot be used: it exits on Ctrl-D
# instead of soft-rebooting and never runs main.py.
#
# Soft reboot: print "MPY: soft reboot", exit with a code that tells the supervisor
# (host_tools/camdiag_host/simboard.py) to start a fresh process in the same REPL mode,
# which clears the heap and all module state as a real soft reset does.
# Ctrl-C: at a prompt it is just a byte; while code runs, the sim peripherals see it on
# stdin and raise KeyboardInterrupt (simctl.check_ctrl_c). Only code that touches no
# peripheral for 10 s gets a SIGINT from the supervisor, as a last resort.
import sys
import os
import gc

_READY = os.getenv("CAMDIAG_SIM_READY")

EXIT_SOFT_FRIENDLY = 10
EXIT_SOFT_RAW = 11
EXIT_HARD_RESET = 12

_sim_dir = sys.argv[0].rsplit("/", 1)[0] if "/" in sys.argv[0] else "."
sys.path.insert(0, _sim_dir)

import sim_machine  # noqa: E402  (simulated silicon, loaded before the host FS goes away)
import sim_network  # noqa: E402
import simctl  # noqa: E402

sys.modules["machine"] = sim_machine
sys.modules["network"] = sim_network
import sim_time  # noqa: E402  (sleeps that run timer callbacks and see Ctrl-C, as on an ESP32)

sys.modules["time"] = sim_time


class _Implementation:
    """sys.implementation with another version (sim://?micropython=1.22.0): a board that
    still runs an older MicroPython, as the host's version check sees it."""

    def __init__(self, real, version):
        self.name = real.name
        self.version = tuple(int(x) for x in version.split(".")[:3]) + ("",)
        self._mpy = real._mpy
        self._machine = real._machine


class _SysWithVersion:
    def __init__(self, real, version):
        self._real = real
        self.implementation = _Implementation(real.implementation, version)

    def __getattr__(self, name):
        return getattr(self._real, name)


if simctl.OPTS.get("micropython"):
    sys.modules["sys"] = _SysWithVersion(sys, simctl.OPTS["micropython"])

_stdin = sys.stdin.buffer
_stdout = sys.stdout


def w(s):
    _stdout.write(s)


def mount_flash():
    import vfs

    bdev = simctl.FLASH
    try:
        fs = vfs.VfsLfs2(bdev)
    except OSError:
        # As the ESP32 port's _boot.py does on a blank partition: format and mount.
        vfs.VfsLfs2.mkfs(bdev)
        fs = vfs.VfsLfs2(bdev)
    vfs.umount("/")
    vfs.mount(fs, "/")
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "/lib"]


class Repl:
    def __init__(self, raw):
        self.raw = raw
        self.g = {"__name__": "__main__"}
        self.b1 = bytearray(1)
        self.pushback = -1

    def rd(self):
        """Next input byte; 3 for Ctrl-C (delivered as KeyboardInterrupt).

        A SIGINT can land just after read() returned a byte: the interrupt is raised at
        the next bytecode boundary and that byte would be lost (mpremote's Ctrl-A, say).
        So read into a buffer cleared to 0 first, and keep a byte that came with the
        interrupt for the next call. (NUL is no REPL input; one arriving with a Ctrl-C is
        dropped.)
        """
        if self.pushback >= 0:
            c = self.pushback
            self.pushback = -1
            return c
        if simctl.input_pending():
            return simctl.input_get()
        b = self.b1
        b[0] = 0
        try:
            while simctl.TIMERS:  # wait as the ESP32's REPL does: timer callbacks still run
                ready = False
                for _ in simctl._POLL.ipoll(20):
                    ready = True
                if ready:
                    break
                simctl.dispatch_irqs()
            n = _stdin.readinto(b)
            if not n:
                # The supervisor closed our stdin: power off.
                sys.exit(0)
            return b[0]
        except KeyboardInterrupt:
            if b[0]:
                self.pushback = b[0]
            return 3

    def soft_reboot(self):
        w("MPY: soft reboot\r\n")
        simctl.carry(soft=True)
        sys.exit(EXIT_SOFT_RAW if self.raw else EXIT_SOFT_FRIENDLY)

    def execute(self, src, mode, raw_eof):
        # Returns normally, or soft-reboots on SystemExit (sys.exit, machine.soft_reset).
        err = None
        try:
            if isinstance(src, bytearray):
                src = bytes(src)  # inside the try: a MemoryError here is reported, as on a board
            code = compile(src, "<stdin>", mode)
            exec(code, self.g)
        except SystemExit as e:
            if e.args and e.args[0] == EXIT_HARD_RESET:
                simctl.carry(soft=False)
                sys.exit(EXIT_HARD_RESET)
            if raw_eof:
                w("\x04\x04")
            self.soft_reboot()
        except BaseException as e:  # noqa: B036 - a REPL reports everything
            err = e
        if raw_eof:
            w("\x04")
        if err is not None:
            sys.print_exception(err, _stdout)
        if raw_eof:
            w("\x04")

    # -- raw REPL ----------------------------------------------------------------------
    def raw_repl(self):
        w("raw REPL; CTRL-B to exit\r\n")
        while True:
            w(">")
            line = bytearray()
            while True:
                c = self.rd()
                if c == 1:  # Ctrl-A
                    if len(line) == 2 and line[0] == 5:
                        self.raw_paste()
                        line = None
                        break
                    w("raw REPL; CTRL-B to exit\r\n")
                    line = bytearray()
                    w(">")
                elif c == 2:  # Ctrl-B: friendly REPL
                    w("\r\n")
                    self.raw = False
                    return
                elif c == 3:  # Ctrl-C: clear line
                    line = bytearray()
                elif c == 4:  # Ctrl-D: end of input
                    break
                else:
                    line.append(c)
            if line is None:
                continue
            w("OK")
            if not line:
                w("\r\n")
                self.soft_reboot()
            self.execute(bytes(line), "exec", True)

    def raw_paste(self):
        # shared/runtime/pyexec.c (mp_reader_new_stdin): the window is half of
        # MICROPY_REPL_STDIN_BUFFER_MAX (256; ports/esp32 keeps the default), and the
        # reply is the window size then one 0x01: two windows free at the start
        window = 128
        w("R\x01")
        _stdout.write(bytes((window & 0xFF, window >> 8)))
        w("\x01")
        data = bytearray()
        remain = window
        while True:
            c = self.rd()
            if c == 4:
                w("\x04")
                break
            if c == 3:
                w("\x04")
                return
            if data is not None:
                try:
                    data.append(c)
                except MemoryError:
                    data = None  # keep reading to the end, then report it
            remain -= 1
            if remain == 0:
                remain = window
                w("\x01")
        if data is None:
            w("\x04")
            sys.print_exception(MemoryError("raw paste too large for the heap"), _stdout)
            w("\x04")
            return
        self.execute(data, "exec", True)

    # -- friendly REPL -----------------------------------------------------------------
    def banner(self):
        v = sys.modules.get("sys", sys).implementation.version
        date = sys.version.split(" on ")[-1] if " on " in sys.version else ""
        w(
            "MicroPython v%d.%d.%d on %s; camdiag virtual board (unix port) with ESP32S3\r\n"
            'Type "help()" for more information.\r\n' % (v[0], v[1], v[2], date)
        )

    def readline(self, prompt):
        w(prompt)
        line = bytearray()
        while True:
            c = self.rd()
            if c in (13, 10):
                w("\r\n")
                return line.decode()
            if c == 1 and not line:
                return 1
            if c == 2 and not line:
                w("\r\n")
                self.banner()
                w(prompt)
            elif c == 3:
                w("\r\n")
                return None
            elif c == 4 and not line:
                w("\r\n")
                return 4
            elif c == 5 and not line:
                return 5
            elif c in (8, 127):
                if line:
                    line.pop()
                    w("\x08 \x08")
            elif c == 27:  # escape sequence (arrow keys): skip it
                c = self.rd()
                if c == 91:
                    while True:
                        c = self.rd()
                        if 64 <= c <= 126:
                            break
            elif c >= 32 or c == 9:
                line.append(c)
                _stdout.write(bytes((c,)))

    @staticmethod
    def needs_more(src):
        s = src.rstrip()
        if s.endswith(":") or s.endswith("\\"):
            return True
        depth = 0
        for ch in s:
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
        return depth > 0

    def paste_mode(self):
        w("\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ")
        buf = bytearray()
        while True:
            c = self.rd()
            if c == 3:
                w("\r\n")
                return
            if c == 4:
                w("\r\n")
                break
            buf.append(c)
            if c == 13:
                w("\r\n=== ")
            else:
                _stdout.write(bytes((c,)))
        self.execute(bytes(buf).replace(b"\r", b"\n"), "exec", False)

    def friendly_repl(self):
        self.banner()
        while True:
            line = self.readline(">>> ")
            if line == 1:
                w("\r\n")
                self.raw = True
                return
            if line == 4:
                self.soft_reboot()
            if line == 5:
                self.paste_mode()
                continue
            if line is None or not line.strip():
                continue
            src = line
            if self.needs_more(line):
                while True:
                    more = self.readline("... ")
                    if more is None:
                        src = None
                        break
                    if not isinstance(more, str) or not more.strip():
                        break
                    src += "\n" + more
                if src is None:
                    continue
                src += "\n"
            self.execute(src, "single", False)

    def run(self):
        while True:
            try:
                if self.raw:
                    self.raw_repl()
                else:
                    self.friendly_repl()
            except KeyboardInterrupt:
                # Ctrl-C that landed between reads (e.g. while a prompt was printed).
                if not self.raw:
                    w("\r\n")
            except MemoryError as e:
                # The REPL itself ran out of heap (e.g. a raw-REPL line): say so, stay up.
                sys.print_exception(e, _stdout)


def run_file(name):
    try:
        os.stat(name)
    except OSError:
        return True
    try:
        with open(name) as f:
            src = f.read()
        exec(compile(src, name, "exec"), {"__name__": "__main__"})
    except SystemExit as e:
        if e.args and e.args[0] == EXIT_HARD_RESET:
            simctl.carry(soft=False)
            sys.exit(EXIT_HARD_RESET)
        w("MPY: soft reboot\r\n")
        simctl.carry(soft=True)
        sys.exit(EXIT_SOFT_FRIENDLY)
    except BaseException as e:  # noqa: B036 - as pyexec_file does: report and go on
        sys.print_exception(e, _stdout)
    return True


def signal_ready():
    # Tell the supervisor that Ctrl-C (SIGINT) can be delivered from now on: every
    # KeyboardInterrupt below is caught. Must run before the host FS is unmounted.
    if _READY:
        with open(_READY, "w") as f:
            f.write("1")


def signal_booted():
    # boot.py is done (safe-mode sampling included): for the supervisor's power_cycle().
    # The host FS is unmounted by now: the shell leaves the marker.
    if _READY:
        os.system("touch '%s.boot'" % _READY)


_FENCES = []


def split_heap():
    """The ESP32 port's GC heap: one area of MICROPY_GC_INITIAL_HEAP_SIZE (64 KB on the
    S3, ports/esp32/mpconfigport.h) at boot; when an allocation fails, py/gc.c
    gc_try_add_heap adds another area from the ESP-IDF heap (doubling the total, or as
    large as that allocation), and no block can span two areas. The unix port's heap is one
    region, so a pinned fence splits the firmware's share of it: area 1 holds the first
    heap_area1_kb of free space (64 KB in the unix port's wider objects), wherever the
    sim's own objects left it, and the rest lies beyond the fence."""
    kb = int(simctl.OPTS.get("heap_area1_kb", 0))
    if not kb:
        return
    gc.collect()
    chunks = []
    got = 0
    top = 0
    while got < kb * 1024:  # first fit: the free space from the bottom up
        c = bytearray(240)  # 256 bytes with its header
        chunks.append(c)
        got += 256
        top = max(top, id(c) + 256)
    while True:  # then one small block just past it: the fence
        f = bytearray(16)
        _FENCES.append(f)
        if id(f) >= top:
            break
    chunks = None
    gc.collect()


def main():
    raw = simctl.OPTS.get("mode") == "raw"
    signal_ready()
    mount_flash()
    gc.collect()
    split_heap()
    simctl.boot_done()
    try:
        try:
            run_file("boot.py")
        finally:
            signal_booted()
        if not raw:
            run_file("main.py")
    except KeyboardInterrupt:
        w("\r\n")
    repl = None
    while True:
        try:
            if repl is None:
                repl = Repl(raw)
            repl.run()
        except KeyboardInterrupt:
            pass


try:
    main()
except KeyboardInterrupt:
    # Interrupted in the few instructions between boot and the REPL: start the REPL.
    Repl(simctl.OPTS.get("mode") == "raw").run()

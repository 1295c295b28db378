# Run firmware test modules on MicroPython: the unix port, or the ESP32 port in QEMU.
#   micropython tests/mp_runner.py ROOT test_fw_profile [test_fw_... ...]
# or, on a board: import mp_runner; mp_runner.run(ROOT, ["test_fw_profile", ...]).
# Prints one line per failure and a closing "N passed, M failed" line.
import sys


def run(root, modules):
    sys.path.insert(0, root + "/tests/firmware")
    sys.path.insert(0, root + "/firmware")
    sys.path.insert(0, root + "/tests/sim")  # the virtual board's models (boards/sim)
    sys.path.insert(0, root + "/boards/sim")
    sys.path.insert(0, root + "/boards/esp32-qemu")  # the QEMU board's I2S on that model
    passed = 0
    failed = 0
    skipped = 0
    for modname in modules:
        mod = __import__(modname)
        for name in sorted(dir(mod)):
            if not name.startswith("test_"):
                continue
            fn = getattr(mod, name)
            try:
                fn()
                passed += 1
            except Exception as e:  # report every failure, keep going
                if type(e).__name__ == "Skip":  # fwtest.skip(): a feature this port lacks
                    skipped += 1
                    print("SKIP %s.%s: %s" % (modname, name, e))
                    continue
                failed += 1
                print("FAIL %s.%s: %s: %s" % (modname, name, type(e).__name__, e))
                sys.print_exception(e)
        del sys.modules[modname]  # a board's heap holds one test module at a time
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return failed


if __name__ == "__main__":
    sys.exit(1 if run(sys.argv[1], sys.argv[2:]) else 0)

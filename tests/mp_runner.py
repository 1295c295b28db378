# Run firmware test modules on the MicroPython unix port:
#   micropython tests/mp_runner.py ROOT test_fw_profile [test_fw_... ...]
# Prints one line per failure and a closing "N passed, M failed" line.
import sys

root = sys.argv[1]
sys.path.insert(0, root + "/tests/firmware")
sys.path.insert(0, root + "/firmware")
sys.path.insert(0, root + "/tests/sim")  # the virtual board's models (boards/sim)
sys.path.insert(0, root + "/boards/sim")

passed = 0
failed = 0
for modname in sys.argv[2:]:
    mod = __import__(modname)
    for name in sorted(dir(mod)):
        if not name.startswith("test_"):
            continue
        fn = getattr(mod, name)
        try:
            fn()
            passed += 1
        except Exception as e:  # report every failure, keep going
            failed += 1
            print("FAIL %s.%s: %s: %s" % (modname, name, type(e).__name__, e))
            sys.print_exception(e)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)

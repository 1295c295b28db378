# Helpers for firmware tests that run under pytest (CPython) and tests/mp_runner.py
# (the MicroPython unix port): plain asserts, no pytest imports.


def raises(exc_type, fn, *args, **kwargs):
    """Call fn; assert it raises exc_type; return the exception."""
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError("%s not raised by %s" % (exc_type.__name__, fn))


def board_json(name):
    import json

    base = __file__.rsplit("/", 3)[0] if "/" in __file__ else "../.."
    with open(base + "/boards/%s/board.json" % name) as f:
        return json.loads(f.read())

"""camdiag: on-device audio and network diagnostics for cameras with two-way talk.

Logic modules in this package import no hardware; only ``hw`` touches ``machine``/``network``.
"""

VERSION = "0.1.0"
RECORD_SCHEMA = 1

# Data that outlives a device call's modules (they are unloaded after each call): the
# self-test's last capture, when `camdiag capture` asked to keep it, and the kernels' sine
# table (built once, while the heap is whole).
KEPT = {"capture": None, "frames": 0, "rate": 0, "sin": None}


def unload(names):
    """Forget modules (e.g. "camdiag.plan") so their code and data can be collected: both the
    sys.modules entry and the package attribute hold a module alive."""
    import gc
    import sys

    pkg = sys.modules[__name__]
    for name in names:
        sys.modules.pop(name, None)
        short = name.rsplit(".", 1)[-1]
        if short in pkg.__dict__:
            delattr(pkg, short)
    gc.collect()


def unload_new(before):
    """Unload every camdiag module loaded since `before` (a list of sys.modules names), except
    the viper kernels: relocated native code is never freed, so reloading it would leak."""
    import sys

    unload([m for m in sys.modules if m.startswith("camdiag.") and m not in before
            and m != "camdiag.kernels_viper"])

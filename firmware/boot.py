# camdiag boot.py: runs on every reset, before main.py.
import camdiag.hw  # noqa: F401  (records the boot time for uptime)

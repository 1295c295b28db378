"""camdiag: on-device audio and network diagnostics for cameras with two-way talk.

Logic modules in this package import no hardware; only ``hw`` touches ``machine``/``network``.
"""

VERSION = "0.1.0"
RECORD_SCHEMA = 1

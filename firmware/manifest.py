# Freeze camdiag into a MicroPython firmware image (frozen code costs no heap):
#   make -C ports/esp32 BOARD=ESP32_GENERIC_S3 \
#        FROZEN_MANIFEST=/path/to/camdiag/firmware/manifest.py
# boot.py, main.py and board.json stay on the filesystem (camdiag deploy writes them).
include("$(PORT_DIR)/boards/manifest.py")  # noqa: F821 - manifest builtins
package("camdiag")  # noqa: F821 - paths are relative to this file

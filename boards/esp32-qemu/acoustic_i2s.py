# I2S for the QEMU board: the virtual board's acoustic model (boards/sim/acoustic.py)
# running on the ESP32 port itself.
#
# Espressif's QEMU emulates no I2S (constructing machine.I2S RX raises OSError(-258) and a
# TX write() never returns: ../shared/esp32-qemu/README.md), so this board's profile
# (boards/esp32-qemu/board.json, audio.driver "model") takes its I2S class from here:
# firmware/camdiag/hw.py. The model then runs in the real port's heap, with 32-bit viper
# integers, and so do the firmware's capture loop, kernels, float32 analysis and diagnosis.
#
# The model's options (fault, seed, snr, realtime, mic_slot, sd_float) are /model.json,
# written into the flash image from the qemu:// URL (host_tools/camdiag_host/qemuboard.py).
# A host session may change the faults while the board runs, as a rig cutting a wire:
#   import acoustic_i2s; acoustic_i2s.set_faults(["speaker_silent"])
# They take effect at the next I2S start.
import json

import acoustic

try:
    from machine import Pin  # the ESP32 port's: the model ignores the pins it is given
except ImportError:  # the unix port (this model's tests there): pins are numbers
    Pin = int


def _options():
    try:
        with open("/model.json") as f:
            opts = json.load(f)
        return opts if isinstance(opts, dict) else {}
    except (OSError, ValueError):
        return {}


_OPTS = _options()
# The TX DMA pool: what this board's profile needs (TX ibuf 4096: 8 buffers of 256 frames),
# not the virtual board's 16 KB, out of the ESP32 port's own heap.
_OPTS.setdefault("dma_pool", 4096)
# Present from power-on (the app imports this module at boot, before it reserves the
# self-test's buffers): as the sim's, the model's rings are the board's hardware.
_AIR = acoustic.Air(_OPTS, int(_OPTS.get("rate", 16000)))


class I2S(acoustic.I2S):
    AIR = _AIR
    MIC_SLOT = str(_OPTS.get("mic_slot", "left"))


def set_faults(faults):
    _AIR.set_faults(faults)

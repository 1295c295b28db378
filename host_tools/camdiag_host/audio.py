"""Host-side audio: the stimulus as WAV, WAV capture I/O, and the firmware's analysis on files.

`analyze` runs the firmware's own modules (camdiag.plan/capture/analysis/diagnosis) on
CPython, so a file gets exactly the verdict the board would give.
"""

from __future__ import annotations

import struct
import wave
from array import array
from pathlib import Path

from camdiag import kernels
from camdiag.analysis import Analyzer
from camdiag.kernels import Kernels
from camdiag.plan import Plan

from .errors import CamdiagError


def stimulus(profile: dict) -> bytes:
    """Exactly what the self-test plays: int16 LE mono at the board's rate."""
    return bytes(Plan(profile).stimulus(Kernels(viper=False)))


def write_wav(path: str | Path, pcm16: bytes, rate: int, channels: int = 1) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm16)


def read_wav(path: str | Path) -> tuple[int, int, int, bytes]:
    """(rate, channels, sample bytes, frames) of a PCM WAV; CamdiagError if unusable."""
    try:
        with wave.open(str(path), "rb") as w:
            rate = w.getframerate()
            ch = w.getnchannels()
            width = w.getsampwidth()
            frames = w.readframes(w.getnframes())
    except FileNotFoundError:
        raise CamdiagError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CamdiagError(f"{path}: a directory, not a WAV file") from None
    except PermissionError:
        raise CamdiagError(f"{path}: not readable (permission denied)") from None
    except (wave.Error, EOFError, struct.error) as e:
        raise CamdiagError(f"{path}: not a PCM WAV file ({e})") from None
    if width not in (2, 4):
        raise CamdiagError(f"{path}: {8 * width}-bit samples; use 16- or 32-bit PCM")
    if ch not in (1, 2):
        raise CamdiagError(f"{path}: {ch} channels; use mono or stereo")
    return rate, ch, width, frames


def wav_to_rx_frames(frames: bytes, channels: int, width: int) -> bytearray:
    """WAV samples as the ESP32 RX reads them: 32-bit stereo words, data left-justified."""
    n = len(frames) // (channels * width)
    out = bytearray(8 * n)
    if width == 2:
        src = array("h")
        src.frombytes(frames[: n * channels * 2])
        words = [(v & 0xFFFF) << 16 for v in src]
    else:
        src = array("i")
        src.frombytes(frames[: n * channels * 4])
        words = [v & 0xFFFFFFFF for v in src]
    dst = array("I", bytes(8 * n))
    if channels == 2:
        dst[:] = array("I", words)
    else:
        for i, w in enumerate(words):
            dst[2 * i] = w
    out[:] = dst.tobytes()
    return out


def analyze_wav(path: str | Path, profile: dict) -> tuple[dict, dict]:
    """Run the firmware analysis on a recording. Returns (measurements, plan description)."""
    rate, ch, width, frames = read_wav(path)
    plan = Plan(profile)
    if rate != plan.rate:
        raise CamdiagError(
            f"{path}: recorded at {rate} Hz but board '{profile['name']}' plays at "
            f"{plan.rate} Hz; record at {plan.rate} Hz or pick the matching --board")
    rx = wav_to_rx_frames(frames, ch, width)
    nframes = len(rx) // 8
    # A recording of the whole stimulus starts with TX frame 0; a camdiag capture starts
    # after the device's warm-up, with the TX DMA ring's lead (plan.origin).
    full = nframes >= plan.total
    origin = 0 if full else plan.origin()
    usable = nframes
    needed = plan.tx_end - plan.burst_start + 64 + 1024
    if usable < needed:
        raise CamdiagError(
            f"{path}: {usable / rate:.2f} s of audio; the stimulus needs "
            f"at least {needed / rate:.2f} s")
    kern = Kernels(viper=False)
    cap = kernels.samples(usable)
    stats = kernels.new_stats()
    kern.deinterleave(rx, usable, plan.slot if ch == 2 else 0, plan.shift,
                      cap, 0, stats)
    if ch == 1:
        plan.data_bits = 16 if width == 2 else plan.data_bits
    elif width == 2:
        plan.data_bits = 16
    m = Analyzer(plan, kern).analyze(cap, stats, usable, search=(0, usable), origin=origin)
    if ch == 1:
        m["slot_ratio"] = 0.0  # a mono file has no second slot to check
        m["other_slot_mean_abs"] = 0.0
    return m, plan.describe()

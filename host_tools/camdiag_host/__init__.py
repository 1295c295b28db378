"""Host tools for camdiag: the `camdiag` command, device link, virtual board, reports."""

from pathlib import Path

from camdiag import VERSION  # the firmware's version is the product's version

__version__ = VERSION


def _find_root() -> Path:
    """The checkout (firmware/, boards/): host tools run from it, installed editable."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "boards").is_dir() and (parent / "firmware" / "camdiag").is_dir():
            return parent
    raise RuntimeError("camdiag: cannot find the firmware/ and boards/ folders")


ROOT = _find_root()
FIRMWARE_DIR = ROOT / "firmware"
BOARDS_DIR = ROOT / "boards"

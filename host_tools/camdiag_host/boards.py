"""Board profiles on the host: the firmware's own loader, over boards/<name>/board.json."""

from __future__ import annotations

from pathlib import Path

from camdiag import profile as _profile

from . import BOARDS_DIR
from .errors import CamdiagError


def names() -> list[str]:
    return sorted(p.parent.name for p in BOARDS_DIR.glob("*/board.json"))


def path(name: str) -> Path:
    p = Path(name)
    if p.suffix == ".json" and p.exists():
        return p
    candidate = BOARDS_DIR / name / "board.json"
    if not candidate.exists():
        raise CamdiagError(f"unknown board '{name}': known boards are {', '.join(names())}")
    return candidate


def load(name: str) -> dict:
    p = path(name)
    try:
        return _profile.load(str(p))
    except _profile.ProfileError as e:
        raise CamdiagError(str(e)) from None

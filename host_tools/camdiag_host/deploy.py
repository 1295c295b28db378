"""Deploy: write the compiled firmware and board profile to a board, skipping unchanged files."""

from __future__ import annotations

import json
from typing import Callable

from . import build
from .errors import DeviceError, LinkError
from .link import DeviceLink

# Runs on the board: sha256 of each path (None when missing) and the package folder.
_HASH_SNIPPET = """
import os, hashlib, binascii, json
def _h(p):
    try:
        d = hashlib.sha256()
        with open(p, 'rb') as f:
            while True:
                b = f.read(512)
                if not b:
                    break
                d.update(b)
        return binascii.hexlify(d.digest()).decode()
    except OSError:
        return None
_r = {p: _h(p) for p in %s}
try:
    _r['/lib/camdiag/'] = os.listdir('/lib/camdiag')
except OSError:
    _r['/lib/camdiag/'] = None
print(json.dumps(_r))
"""


def device_board_name(link: DeviceLink) -> str | None:
    out, _ = link.exec_raw(
        "import json\ntry:\n print(json.load(open('/board.json'))['name'])\n"
        "except Exception:\n print('')\n"
    )
    name = out.decode(errors="replace").strip()
    return name or None


def deploy(link: DeviceLink, board: str, source: bool = False,
           say: Callable[[str], None] = print) -> dict:
    files = build.firmware_files(board, source)
    out, err = link.exec_raw(_HASH_SNIPPET % json.dumps([f.path for f in files]), timeout=60)
    if err:
        raise DeviceError(f"{link.port}: cannot read the board's files: "
                          f"{err.decode(errors='replace').strip().splitlines()[-1]}")
    try:
        remote = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise LinkError(f"{link.port}: garbled file listing from the board") from None

    t = link.transport
    if remote["/lib/camdiag/"] is None:
        for d in ("/lib", "/lib/camdiag"):
            link.exec_raw(f"import os\ntry:\n os.mkdir('{d}')\nexcept OSError:\n pass\n")
    changed, unchanged = [], []
    total = len(files)
    for i, f in enumerate(files, 1):
        if remote.get(f.path) == f.sha256:
            unchanged.append(f.path)
            continue
        say(f"  [{i}/{total}] write {f.path} ({len(f.data)} bytes)")
        t.fs_writefile(f.path, f.data, chunk_size=256)  # mpremote's default: small heaps
        changed.append(f.path)
    wanted = {f.path.rsplit("/", 1)[1] for f in files if f.path.startswith("/lib/camdiag/")}
    removed = []
    for name in remote["/lib/camdiag/"] or []:
        if name not in wanted:
            link.exec_raw(f"import os\nos.remove('/lib/camdiag/{name}')\n")
            removed.append("/lib/camdiag/" + name)
            say(f"  remove stale /lib/camdiag/{name}")
    return {
        "board": board,
        "changed": changed,
        "unchanged": len(unchanged),
        "removed": removed,
        "bytes_written": sum(len(f.data) for f in files if f.path in changed),
    }


def reboot_into_app(link: DeviceLink) -> None:
    """Soft-reset in the friendly REPL so boot.py and main.py run the new firmware, and end
    the session (the reboot already returns the board to its application)."""
    t = link.transport
    t.exit_raw_repl()
    t.serial.write(b"\x04")
    t.serial.flush()
    link.close(resume=False)

# camdiag boot.py: runs on every reset, before main.py.


def _mount():
    # A board whose profile asks for larger LittleFS reads (board.json storage.read_size:
    # the QEMU board, where every flash operation costs ~10 ms) remounts / with them
    # before any import reads flash. Same filesystem, same block size: only the reads grow.
    import json

    try:
        with open("/board.json") as f:
            n = json.load(f)["storage"]["read_size"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    if n in (64, 128, 256, 512, 1024):  # (what profile.py allows; 32 is the port's own)
        import vfs
        from flashbdev import bdev

        vfs.umount("/")
        try:
            vfs.mount(vfs.VfsLfs2(bdev, readsize=n, progsize=32, lookahead=32), "/")
        except OSError:
            vfs.mount(bdev, "/")  # as the port mounted it: never leave the board without /


_mount()
del _mount

import camdiag.boot  # noqa: E402

camdiag.boot.run()

# Build a virtual board's flash image: format LittleFS2 and copy a staging folder into it,
# as a factory programs a board. Usage: micropython mkimage.py IMAGE BLOCKS STAGING_DIR
import sys
import os
import vfs

_BLOCK = 4096


class FileBlockDevice:
    def __init__(self, f, nblocks):
        self.f = f
        self.nblocks = nblocks
        self.erases = 0

    def readblocks(self, block, buf, offset=0):
        self.f.seek(block * _BLOCK + offset)
        self.f.readinto(buf)

    def writeblocks(self, block, buf, offset=0):
        self.f.seek(block * _BLOCK + (offset or 0))
        self.f.write(buf)

    def ioctl(self, op, arg):
        if op == 4:
            return self.nblocks
        if op == 5:
            return _BLOCK
        if op == 6:
            self.erases += 1
            self.f.seek(arg * _BLOCK)
            self.f.write(b"\xff" * _BLOCK)
        return 0


def copy_tree(src, dst, stage):
    """Copy src into dst: each file written whole into the staging folder first, then
    renamed into place, so every directory's metadata log holds one short commit per file
    instead of each file's create, write and close (LittleFS keeps superseded entries in
    the log until it compacts). A lookup walks that log in the mount's 128-byte reads:
    on the QEMU board every flash read costs ~10 ms (Espressif's QEMU stalls the other
    core for each SPI flash operation), and a long log made a listdir take 40 s there."""
    for name, kind, *_ in os.ilistdir(src):
        s = src + "/" + name
        d = dst + "/" + name
        if kind == 0x4000:
            try:
                os.mkdir(d)
            except OSError:
                pass
            copy_tree(s, d, stage)
        else:
            tmp = stage + "/f"
            with open(s, "rb") as fi, open(tmp, "wb") as fo:
                fo.write(fi.read())
            os.rename(tmp, d)
    compact(dst)


def compact(path):
    """Have LittleFS compact path's metadata log into one commit of its live entries: a
    dummy entry renamed back and forth fills the log until LittleFS compacts it (it erases
    the pair's other block for that), then goes. Lookups then walk 30 bytes or so per file."""
    global BDEV
    a, b = path + "/.c0", path + "/.c1"
    with open(a, "wb"):
        pass
    start = BDEV.erases
    n = 0
    while BDEV.erases == start and n < 2000:
        os.rename(a, b)
        a, b = b, a
        n += 1
    os.remove(a)


def main():
    image, blocks, stage = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    f = open(image, "w+b")
    erased = b"\xff" * _BLOCK
    for _ in range(blocks):
        f.write(erased)
    global BDEV
    bdev = BDEV = FileBlockDevice(f, blocks)
    vfs.VfsLfs2.mkfs(bdev)
    vfs.mount(vfs.VfsLfs2(bdev), "/flash")
    os.mkdir("/flash/.stage")
    copy_tree(stage, "/flash", "/flash/.stage")
    os.rmdir("/flash/.stage")
    vfs.umount("/flash")
    f.close()


main()

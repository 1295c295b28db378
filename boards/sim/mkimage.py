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
            self.f.seek(arg * _BLOCK)
            self.f.write(b"\xff" * _BLOCK)
        return 0


def copy_tree(src, dst):
    for name, kind, *_ in os.ilistdir(src):
        s = src + "/" + name
        d = dst + "/" + name
        if kind == 0x4000:
            try:
                os.mkdir(d)
            except OSError:
                pass
            copy_tree(s, d)
        else:
            with open(s, "rb") as fi, open(d, "wb") as fo:
                fo.write(fi.read())


def main():
    image, blocks, stage = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    f = open(image, "w+b")
    erased = b"\xff" * _BLOCK
    for _ in range(blocks):
        f.write(erased)
    bdev = FileBlockDevice(f, blocks)
    vfs.VfsLfs2.mkfs(bdev)
    vfs.mount(vfs.VfsLfs2(bdev), "/flash")
    copy_tree(stage, "/flash")
    vfs.umount("/flash")
    f.close()


main()

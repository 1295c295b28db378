"""On-flash store: board profile, config, results log.

Results log: one JSON record per line, written with a single write and closed, so a power
cut loses at most the record being written; a torn last line is skipped when read.
"""

import json
import os

BOARD_PATH = "/board.json"
CONFIG_PATH = "/config.json"
LOG_PATH = "/results.log"
LOG_OLD_PATH = "/results.1.log"
LOG_MAX_BYTES = 16384
RECORD_ROOM = 2048  # a logged record is ~1 KB: rotate before one might not fit
SELFTEST_RUNNING = "/selftest.running"  # there while a self-test's audio runs
SELFTEST_RETRIED = "/selftest.retried"  # the power-on self-test is a retry after a cut

DEFAULT_CONFIG = {"wifi": {"ssid": "", "password": ""}, "name": ""}

# Problems found while loading (corrupt files...), reported by `info`.
PROBLEMS = []


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


_PROFILE = {}  # path -> the validated profile: loaded once per boot, not per device call


def load_profile(path=BOARD_PATH):
    """The board profile, or None (with a problem noted) when missing or invalid.

    Validated once per boot and kept: on the board the loader's spec tables (~15 KB of
    heap) are dropped right after, and a device call must not need them again (a heap
    fragmented by months of running may not find that much). A new board.json comes with
    a deploy, which reboots.
    """
    if path in _PROFILE:
        return _PROFILE[path]
    from camdiag import profile
    from camdiag.compat import MICROPYTHON

    try:
        prof = profile.load(path)
    except profile.ProfileError as e:
        note(str(e))
        prof = None
    finally:
        if MICROPYTHON:
            import camdiag

            profile = None  # noqa: F841
            camdiag.unload(("camdiag.profile",))
    if MICROPYTHON:  # (host tests load many profiles from one path: no cache there)
        _PROFILE[path] = prof
    return prof


def profile_or_raise():
    prof = load_profile()
    if prof is None:
        raise ValueError("no valid board profile: " + "; ".join(PROBLEMS))
    return prof


def wifi_ssid():
    """The configured Wi-Fi network ('' when none: setup mode)."""
    return (load_config().get("wifi") or {}).get("ssid") or ""


def mark(path):
    """A marker file (its existence is the message: e.g. a self-test is running)."""
    with open(path, "w") as f:
        f.write("1")


def take_mark(path):
    """True (and the marker gone) if it was there."""
    try:
        os.remove(path)
        return True
    except OSError:
        return False


def note(problem):
    if problem not in PROBLEMS:
        PROBLEMS.append(problem)


def load_config(path=CONFIG_PATH):
    if not _exists(path):
        return dict(DEFAULT_CONFIG)
    try:
        with open(path) as f:
            cfg = json.loads(f.read())
        if not isinstance(cfg, dict):
            raise ValueError("not an object")
        return cfg
    except (OSError, ValueError) as e:
        note("%s: unreadable, using defaults (%s)" % (path, e))
        return dict(DEFAULT_CONFIG)


def append_record(record, path=LOG_PATH):
    # Streamed into the file, not built as one string first: a record's line is ~1 KB,
    # and a heap split by the day's work may have no such block (a self-test's log write
    # failed with MemoryError on the virtual board). A cut mid-line leaves a garbled line,
    # which read_records skips.
    try:
        size = os.stat(path)[6]
    except OSError:
        size = 0
    if size + RECORD_ROOM > LOG_MAX_BYTES:
        try:
            os.remove(LOG_OLD_PATH)
        except OSError:
            pass
        os.rename(path, LOG_OLD_PATH)
    with open(path, "a") as f:
        json.dump(record, f)
        f.write("\n")


def read_records(last=0):
    """Records oldest first; unreadable lines are skipped and counted in PROBLEMS."""
    out = []
    bad = 0
    for path in (LOG_OLD_PATH, LOG_PATH):
        if not _exists(path):
            continue
        with open(path, "rb") as f:  # bytes: a garbled line must not stop the others
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    out.append(json.loads(line.decode()))
                except ValueError:  # (UnicodeError is one too)
                    bad += 1
    if bad:
        note("results log: %d unreadable record(s) skipped" % bad)
    if last and len(out) > last:
        out = out[-last:]
    return out


def flash_usage(path="/"):
    st = os.statvfs(path)
    total = st[0] * st[2]
    free = st[0] * st[3]
    return {"total_kb": total // 1024, "used_kb": (total - free) // 1024, "free_kb": free // 1024}


# -- factory reset -------------------------------------------------------------------------
# Power-loss safe on LittleFS (rename is atomic; FAT's is not):
#   1 marker file          a reset is under way; at boot a marker means "finish it"
#   2 defaults -> temp     the new config, complete before anything old is touched
#   3 scrub secrets        overwrite each secret file's bytes, then remove it
#   4 rename temp -> config
#   5 fill free space      LittleFS is copy-on-write: a freed block keeps its old bytes
#                          until reused, so write zeros over every free block once
#   6 remove the marker
# Each step can be redone, so a reset cut anywhere finishes at the next boot. The results
# log (diagnostics) and the hardware identity are kept.
RESET_MARKER = "/factory_reset.marker"
SECRET_FILES = (CONFIG_PATH,)
_FILL_PATH = "/scrub.fill"
_TMP_CONFIG = "/config.json.new"


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _scrub_file(path):
    try:
        size = os.stat(path)[6]
    except OSError:
        return
    zeros = bytes(256)
    with open(path, "r+b") as f:
        left = size
        while left > 0:
            n = min(left, 256)
            f.write(zeros[:n])
            left -= n
    os.remove(path)


FILL_CHUNK = 4096  # a flash sector: one erase + 16 page programs per write
_FILL_SYNC = 64  # commit the fill file every 256 KB: a resumed fill keeps what was done


def _fill_free_space(feed=None):
    """Zeros over every free block. On a 6 MB filesystem at ~80 KB/s this takes well over a
    minute: feed(done, total) runs after every sector (the watchdog, the LED, progress).
    An interrupted fill is resumed (the file is appended to), not started again."""
    zeros = bytes(FILL_CHUNK)
    st = os.statvfs("/")
    total = st[0] * st[3]  # free bytes now (a resumed fill's part is not free any more)
    done = 0
    try:
        with open(_FILL_PATH, "ab") as f:
            while True:
                f.write(zeros)
                done += FILL_CHUNK
                if (done // FILL_CHUNK) % _FILL_SYNC == 0:
                    f.flush()  # lfs_file_sync: the size so far survives a power cut
                if feed is not None:
                    feed(min(done, total), total)
    except OSError:
        pass  # ENOSPC: every free block now holds zeros
    if feed is not None:
        feed(total, total)
    _remove(_FILL_PATH)


_META_PATH = "/scrub.meta"
_META_COMMITS = 400


def _compact_root(feed=None):
    """Commit to the root directory's metadata pair until LittleFS has compacted both of its
    blocks: a secret once stored inline (a small file: config.json written by an older
    firmware or a factory tool) lives in an old commit there, where no fill reaches it.
    Each small write + close is a commit of ~40 bytes; 400 of them fill a 4 KB block four
    times over, so both blocks of the pair are erased and rewritten at least once."""
    for i in range(_META_COMMITS):
        with open(_META_PATH, "w") as f:
            f.write("x" if i & 1 else "y")
        if feed is not None and i % 16 == 0:
            feed(None, None)
    _remove(_META_PATH)


def factory_reset(feed=None):
    """Erase Wi-Fi credentials and user settings (scrubbed), keep identity and the log.
    feed(done, total): called through the free-space fill (see _fill_free_space), and with
    (None, None) while the root metadata is compacted."""
    with open(RESET_MARKER, "w") as f:
        f.write("1")
    with open(_TMP_CONFIG, "w") as f:
        f.write(json.dumps(DEFAULT_CONFIG))
    for path in SECRET_FILES:
        _scrub_file(path)
    os.rename(_TMP_CONFIG, CONFIG_PATH)
    _fill_free_space(feed)
    _compact_root(feed)
    os.remove(RESET_MARKER)


def reset_pending():
    return _exists(RESET_MARKER)


def finish_interrupted_reset(feed=None):
    """At boot: a marker left by a reset cut short (power loss, a reset, a host's Ctrl-C)
    means: finish it, going on with the fill where it stopped."""
    if not _exists(RESET_MARKER):
        _remove(_FILL_PATH)  # a fill file without a marker: a cut at the very end
        _remove(_META_PATH)
        return False
    _remove(_TMP_CONFIG)
    factory_reset(feed)
    return True


# LittleFS keeps a small file inline in its directory's metadata log, where old versions
# outlive the file and no free-space fill reaches them. A file of at least this size always
# gets data blocks of its own, which the scrub overwrites: secrets are padded to it.
SECRET_MIN_BYTES = 1024


def save_config(cfg):
    """Replace the config atomically (temp file + rename); padded out of inline storage."""
    text = json.dumps(cfg)
    with open(_TMP_CONFIG, "w") as f:
        f.write(text)
        if len(text) < SECRET_MIN_BYTES:
            f.write(" " * (SECRET_MIN_BYTES - len(text)))  # JSON allows trailing space
    os.rename(_TMP_CONFIG, CONFIG_PATH)

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

DEFAULT_CONFIG = {"wifi": {"ssid": "", "password": ""}, "name": ""}

# Problems found while loading (corrupt files...), reported by `info`.
PROBLEMS = []


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def load_profile(path=BOARD_PATH):
    """The board profile, or None (with a problem noted) when missing or invalid."""
    from camdiag import profile

    try:
        return profile.load(path)
    except profile.ProfileError as e:
        note(str(e))
        return None


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
    line = json.dumps(record) + "\n"
    try:
        size = os.stat(path)[6]
    except OSError:
        size = 0
    if size + len(line) > LOG_MAX_BYTES:
        try:
            os.remove(LOG_OLD_PATH)
        except OSError:
            pass
        os.rename(path, LOG_OLD_PATH)
    with open(path, "a") as f:
        f.write(line)


def read_records(last=0):
    """Records oldest first; unreadable lines are skipped and counted in PROBLEMS."""
    out = []
    bad = 0
    for path in (LOG_OLD_PATH, LOG_PATH):
        if not _exists(path):
            continue
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    out.append(json.loads(line))
                except ValueError:
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

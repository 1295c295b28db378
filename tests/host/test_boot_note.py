"""/boot.py reads the watchdog note camdiag.hw writes to RTC memory: one text for both
(/boot.py cannot import camdiag.hw for it: that import reads flash, slow on a QEMU board,
before the carried watchdog is fed)."""

from pathlib import Path

from camdiag import hw

BOOT = Path(__file__).resolve().parents[2] / "firmware" / "boot.py"


def test_boot_py_reads_the_note_hw_writes():
    src = BOOT.read_text()
    assert f"note.startswith({hw.WDT_NOTE!r})" in src
    assert f"int(note[{len(hw.WDT_NOTE)}:])" in src
    # first thing: before any camdiag import
    assert src.index("_carried_watchdog()") < src.index("import camdiag")

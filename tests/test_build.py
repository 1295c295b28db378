"""Every firmware and board module compiles for the ESP32-S3 (xtensawin) and the unix port."""

from pathlib import Path

import pytest

from camdiag_host.build import compile_module, firmware_files

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(
    [*ROOT.glob("firmware/**/*.py"), *ROOT.glob("boards/**/*.py")], key=str
)


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
@pytest.mark.parametrize("arch", ["xtensawin", "x64"])
def test_compiles(src, arch):
    mpy = compile_module(src, arch)
    assert mpy[:1] == b"M" and len(mpy) > 4  # .mpy header


def test_firmware_file_set_for_esp32s3():
    files = firmware_files("esp32s3-devkit")
    paths = {f.path for f in files}
    assert {"/boot.py", "/main.py", "/board.json", "/lib/camdiag/service.mpy"} <= paths
    assert all(not p.endswith(".py") for p in paths if p.startswith("/lib/"))


def test_mip_package_lists_every_module():
    import json

    pkg = json.loads((ROOT / "firmware" / "package.json").read_text())
    listed = {dest for dest, _src in pkg["urls"]}
    wanted = {f"camdiag/{p.name}" for p in (ROOT / "firmware" / "camdiag").glob("*.py")}
    assert wanted | {"boot.py", "main.py"} == listed, \
        "regenerate it: python -m camdiag_host.build"
    from camdiag import VERSION

    assert pkg["version"] == VERSION

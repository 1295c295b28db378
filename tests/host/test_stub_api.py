"""The hardware glue uses the real ESP32 APIs, and the sim offers the same ones.

Checked against micropython-esp32-stubs: every keyword argument hw.py passes to a
constructor exists in the stub's signature, every constant it names exists, and the
virtual board's classes have every method the stubs declare that the firmware may call.
"""

import ast
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _stub(module: str) -> ast.Module:
    site = Path(sysconfig.get_paths()["purelib"])
    path = site / f"{module}.pyi"
    if not path.exists():
        pytest.fail(f"{path} missing: install micropython-esp32-stubs (make setup)")
    return ast.parse(path.read_text())


def _class(tree: ast.Module, name: str) -> ast.ClassDef:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    raise AssertionError(f"stub has no class {name}")


def _params(cls: ast.ClassDef, method: str) -> set[str]:
    names = set()
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and node.name == method:
            a = node.args
            names |= {x.arg for x in a.args + a.kwonlyargs + a.posonlyargs}
    return names


def _members(cls: ast.ClassDef) -> set[str]:
    out = set()
    for node in cls.body:
        if isinstance(node, ast.FunctionDef):
            out.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out.add(node.target.id)
        elif isinstance(node, ast.Assign):
            out |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return out


def _calls(path: Path, func: str) -> list[ast.Call]:
    tree = ast.parse(path.read_text())
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and getattr(n.func, "id", getattr(n.func, "attr", None)) == func]


def test_hw_i2s_pin_wdt_calls_match_the_stubs():
    machine = _stub("machine")
    hw = ROOT / "firmware" / "camdiag" / "hw.py"
    i2s = _class(machine, "I2S")
    allowed = _params(i2s, "__init__")
    calls = _calls(hw, "I2S")
    assert calls, "hw.py builds no machine.I2S"
    for call in calls:
        used = {k.arg for k in call.keywords}
        assert used <= allowed, used - allowed
        assert "mck" not in used  # not accepted on ESP32
    for const in ("TX", "RX", "MONO", "STEREO"):
        assert const in _members(i2s)
    pin = _class(machine, "Pin")
    for const in ("IN", "OUT", "PULL_UP", "IRQ_FALLING", "IRQ_RISING"):
        assert const in _members(pin)
    assert "timeout" in _params(_class(machine, "WDT"), "__init__")


def test_wlan_api_matches_the_stubs():
    network = _stub("network")
    names = {n.targets[0].id if isinstance(n, ast.Assign) else n.target.id
             for n in network.body if isinstance(n, (ast.Assign, ast.AnnAssign))}
    assert "STA_IF" in names
    wlan = _members(_class(network, "WLAN"))
    for m in ("active", "connect", "disconnect", "isconnected", "status", "config", "scan"):
        assert m in wlan
    # every WLAN method or constant the firmware touches (on the objects it names wlan)
    used = set()
    for path in (ROOT / "firmware" / "camdiag").glob("*.py"):
        for n in ast.walk(ast.parse(path.read_text())):
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and \
                    n.value.id == "wlan":
                used.add(n.attr)
    assert {"status", "scan", "config", "active", "connect", "PM_NONE"} <= used, used
    assert used <= wlan, f"not in the stubs' WLAN: {used - wlan}"
    sim = _members(_class(ast.parse((ROOT / "boards" / "sim" / "sim_network.py").read_text()),
                          "WLAN"))
    assert used <= sim, f"the virtual board's WLAN lacks {used - sim}"


@pytest.mark.parametrize("stub_mod,sim_mod,cls,methods", [
    # (the I2S class is the acoustic model's, shared with the QEMU board; sim_machine hooks it)
    ("machine", "acoustic", "I2S", ["readinto", "write", "deinit", "irq", "shift"]),
    ("machine", "sim_machine", "Pin", ["value", "on", "off", "irq", "init"]),
    ("machine", "sim_machine", "WDT", ["feed"]),
    ("network", "sim_network", "WLAN", ["active", "connect", "disconnect", "isconnected",
                                        "status", "config", "scan", "ifconfig"]),
])
def test_sim_offers_what_the_stubs_declare(stub_mod, sim_mod, cls, methods):
    stub = _members(_class(_stub(stub_mod), cls))
    sim = _members(_class(ast.parse((ROOT / "boards" / "sim" / f"{sim_mod}.py").read_text()),
                          cls))
    for m in methods:
        assert m in stub, f"{cls}.{m} is not in the stubs"
        assert m in sim, f"the virtual board's {cls} lacks {m}"

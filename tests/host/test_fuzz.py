"""Fuzzing the parsers that meet the outside world: the device's result line, board.json,
WAV files. Any input ends in a result or one clean error, never a crash or a hang.

HYPOTHESIS_PROFILE=thorough (400 examples) or FUZZ_EXAMPLES=N for a long run, e.g.
`FUZZ_EXAMPLES=20000 pytest tests/host/test_fuzz.py`."""

import json
import os
import struct

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from camdiag import profile
from camdiag_host.audio import analyze_wav, read_wav
from camdiag_host.errors import CamdiagError, DeviceError, LinkError
from camdiag_host.link import MARKER, parse_result

N = int(os.environ.get("FUZZ_EXAMPLES", "0")) or None
FUZZ = settings(max_examples=N, deadline=None,
                suppress_health_check=[HealthCheck.too_slow]) if N else settings(deadline=None)

_ROWS = set()


def _row(case, what):
    """This test's line in the fault table (written once per run)."""
    if case not in _ROWS:
        _ROWS.add(case)
        from camdiag_host.faulttable import record

        record("fuzzing", case + " (hypothesis; FUZZ_EXAMPLES=N for long runs)", what)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(), kids, max_size=4),
    max_leaves=20)


@FUZZ
@given(st.binary(max_size=400), st.binary(max_size=200))
@example(b"", b"")
@example(MARKER.encode() + b'{"ok": true, "result": 1}\r\n', b"\xff\x00garbage")
def test_result_line_parser_on_garbage(before, after):
    _row("random bytes around the device's result line", "LinkError/DeviceError, one line")
    try:
        parse_result(before + after, "info")
    except (LinkError, DeviceError) as e:
        assert "\n" not in str(e).strip()


@FUZZ
@given(json_values, st.binary(max_size=100), st.binary(max_size=100))
@example({"ssid": "#camdiag# "}, b"", b"")  # found by this test: a result holding the marker
def test_result_line_parser_finds_the_result_among_noise(value, noise, tail):
    noise = noise.replace(b"\n", b" ").replace(MARKER.encode()[:3], b"")
    tail = tail.replace(MARKER.encode()[:3], b"")
    line = MARKER.encode() + json.dumps({"ok": True, "call": "x", "result": value}).encode()
    # the board printed logs before the result line, and junk after it on the next line
    assert parse_result(noise + b"\r\n" + line + b"\r\n" + tail.replace(b"\n", b" "),
                        "x") == value


@FUZZ
@given(st.text(max_size=300))
@example('{"name": "x", "chip": "esp32s3", "arch": "xtensawin"}')
def test_board_json_loader_on_any_text(text):
    _row("board.json: any text", "loads, or one ProfileError naming the file")
    try:
        p = profile.loads(text, "fuzz/board.json")
    except profile.ProfileError as e:
        msg = str(e)
        assert msg.startswith("fuzz/board.json") and "\n" not in msg
    else:
        assert isinstance(p, dict) and p["name"]


def _valid():
    with open(os.path.join(os.path.dirname(__file__), "../../boards/sim/board.json")) as f:
        return json.load(f)


paths = st.lists(st.sampled_from(["audio", "rx", "tx", "slot", "rate", "button", "pin",
                                  "leds", "limits", "wifi", "timings", "name", "chip"]),
                 min_size=1, max_size=3)


@FUZZ
@given(paths, json_values)
def test_board_json_loader_on_mutated_profiles(path, value):
    """A valid profile with one key replaced by anything: loads, or one error naming a key."""
    _row("board.json: any value at any key of a valid profile",
         "loads, or one ProfileError naming the file and key")
    doc = _valid()
    node = doc
    for key in path[:-1]:
        nxt = node.get(key) if isinstance(node, dict) else None
        if not isinstance(nxt, dict):
            break
        node = nxt
    if isinstance(node, dict):
        node[path[-1]] = value
    try:
        profile.validate(doc, "fuzz/board.json")
    except profile.ProfileError as e:
        assert str(e).startswith("fuzz/board.json: ") and "\n" not in str(e)


def _wav_header(channels, rate, bits, data_len, fmt=1):
    block = channels * bits // 8
    return (b"RIFF" + struct.pack("<I", 36 + data_len) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, fmt, channels, rate, rate * block, block, bits) +
            b"data" + struct.pack("<I", data_len))


@FUZZ
@given(st.one_of(
    st.binary(max_size=300),
    st.builds(lambda c, r, b, n, f, body: _wav_header(c, r, b, n, f) + body,
              st.integers(0, 8), st.integers(0, 96000), st.sampled_from([0, 8, 16, 24, 32]),
              st.integers(0, 2 ** 32 - 37), st.integers(0, 3), st.binary(max_size=200))))
def test_wav_reader_on_any_file(tmp_path_factory, data):
    _row("WAV file: random bytes, random headers", "read, or one CamdiagError naming the file")
    path = tmp_path_factory.mktemp("fuzz") / "x.wav"
    path.write_bytes(data)
    try:
        rate, channels, width, frames = read_wav(path)
    except CamdiagError as e:
        assert str(e).startswith(str(path)) and "\n" not in str(e)
        return
    assert channels in (1, 2) and width in (2, 4)
    try:
        analyze_wav(path, _profile_sim())
    except CamdiagError as e:
        assert "\n" not in str(e)


_SIM = []


def _profile_sim():
    if not _SIM:
        _SIM.append(profile.validate(_valid(), "boards/sim/board.json"))
    return _SIM[0]


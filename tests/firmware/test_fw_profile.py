# Board profile loader: the same tests on CPython and the MicroPython unix port.
import json

from camdiag import profile
from fwtest import board_json, raises


def test_shipped_boards_load_with_defaults():
    for name in ("esp32s3-devkit", "sim"):
        p = profile.validate(board_json(name), name)
        assert p["audio"]["rate"] == 16000
        assert p["timings"]["factory_reset_ms"] == 10000
        assert p["limits"]["warmup_ms"] >= 300
        assert p["wifi"]["rssi_warn_dbm"] == -67


def test_error_names_file_and_key_path():
    bad = board_json("esp32s3-devkit")
    bad["audio"]["rx"]["slot"] = "middle"
    e = raises(profile.ProfileError, profile.validate, bad, "boards/x/board.json")
    assert str(e).startswith("boards/x/board.json: audio.rx.slot:"), str(e)
    assert "middle" in str(e)


def test_missing_required_key():
    bad = board_json("esp32s3-devkit")
    del bad["audio"]["tx"]["sck"]
    e = raises(profile.ProfileError, profile.validate, bad, "b.json")
    assert "audio.tx.sck: missing" in str(e), str(e)


def test_unknown_key_is_an_error():
    bad = board_json("esp32s3-devkit")
    bad["limits"]["snr_min"] = 3
    e = raises(profile.ProfileError, profile.validate, bad, "b.json")
    assert "limits.snr_min: unknown key" in str(e), str(e)


def test_wrong_type_and_range():
    bad = board_json("esp32s3-devkit")
    bad["audio"]["rate"] = "16000"
    assert "audio.rate: expected an integer" in str(raises(profile.ProfileError,
                                                           profile.validate, bad))
    bad = board_json("esp32s3-devkit")
    bad["leds"][0]["pin"] = 99
    assert "leds[0].pin: 99 is outside 0..48" in str(raises(profile.ProfileError,
                                                            profile.validate, bad))
    bad = board_json("esp32s3-devkit")
    bad["button"]["active_low"] = 1
    assert "button.active_low: expected true or false" in str(
        raises(profile.ProfileError, profile.validate, bad))


def test_loopback_needs_two_controllers():
    bad = board_json("esp32s3-devkit")
    bad["audio"]["rx"]["id"] = 0
    assert "two I2S controllers" in str(raises(profile.ProfileError, profile.validate, bad))


def test_timings_must_be_ordered():
    bad = board_json("esp32s3-devkit")
    bad["timings"]["factory_reset_ms"] = 2000
    assert "timings.factory_reset_ms" in str(raises(profile.ProfileError, profile.validate, bad))


def test_not_json():
    e = raises(profile.ProfileError, profile.loads, "{not json", "f.json")
    assert str(e).startswith("f.json: not valid JSON"), str(e)
    e = raises(profile.ProfileError, profile.loads, "[1, 2]", "f.json")
    assert "expected an object" in str(e)


def test_round_trip_is_stable():
    p = profile.validate(board_json("sim"))
    assert profile.validate(json.loads(json.dumps(p))) == p

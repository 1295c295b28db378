"""The text report's measurement column reads as a technician would say it (issue #16)."""

from camdiag_host.report import _value


def m(name, value, unit):
    return {"name": name, "value": value, "unit": unit}


def test_wifi_codes_show_their_names():
    assert _value(m("status", 1010, "code")) == "status connected (1010)"
    assert _value(m("status", 200, "code")) == "status beacon timeout (AP out of range) (200)"


def test_a_unit_that_repeats_the_name_is_not_printed_twice():
    assert _value(m("bars", 1, "bars")) == "bars 1"


def test_negative_zero_reads_as_zero():
    assert _value(m("dc", -0.0, "FS")) == "dc 0.0 FS"


def test_a_capped_ratio_is_said_in_words():
    text = _value(m("silent_slot_ratio", 1000000.0, "ratio"))
    assert "1000000" not in text and "no signal" in text
    assert _value(m("silent_slot_ratio", 0.0002, "ratio")) == "silent_slot_ratio 0.0002"


def test_the_history_span_is_said_in_minutes_and_seconds():
    from camdiag_host.wifi_view import format_history

    h = {"running": True, "values": [-60] * 78, "period_s": 2, "capacity": 2880,
         "count": 78}
    assert "last 2 min 36 s" in format_history(h)  # (78 readings of 2 s were "last 0 min")
    h["values"] = [-60] * 20
    assert "last 40 s" in format_history(h)


def test_a_warn_names_its_finding_and_its_fix_and_strict_makes_it_exit_1():
    from camdiag_host.report import exit_code, format_record

    rec = {"kind": "selftest", "outcome": "warn", "verdict": "healthy",
           "diagnosis": "no fault found; warning: dc_offset: mic line offset", "advice": "",
           "faults": [], "device": {"board": "sim"},
           "checks": [{"name": "dc_offset", "outcome": "warn",
                       "measurements": [m("dc", 0.08, "FS")]},
                      {"name": "noise", "outcome": "pass", "measurements": []}]}
    text = format_record(rec)
    verdict = [ln for ln in text.splitlines() if ln.startswith("VERDICT")][0]
    assert verdict == "VERDICT: WARN - dc_offset: mic line offset"
    assert "FIX TO TRY FIRST: a DC offset on the mic line" in text
    assert exit_code(rec) == 0 and exit_code(rec, strict=True) == 1
    rec["outcome"] = "pass"
    assert exit_code(rec, strict=True) == 0

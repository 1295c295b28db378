"""Hypothesis over the button state machine (CPython; the LCG-driven twin of these checks
runs on the MicroPython unix port in tests/firmware/test_fw_button.py)."""

import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "firmware"))
import test_fw_button as T  # noqa: E402

DEB = T.TIMINGS["debounce_ms"]
THRESHOLDS = [T.TIMINGS[k] for k in ("click_max_ms", "hold_reboot_ms", "factory_reset_ms",
                                      "stuck_ms")]
hold = st.one_of(st.integers(DEB + 1, 32000),
                 st.sampled_from(THRESHOLDS).flatmap(lambda t: st.integers(t - 300, t + 300)))
press = st.tuples(st.integers(DEB + 1, 1500), hold)
chatter = st.lists(st.integers(1, DEB - 1), max_size=6).map(
    lambda c: c[: len(c) // 2 * 2])  # even: each burst ends on the level it started from


@settings(deadline=None, max_examples=300)  # cheap: a few ms each
@given(st.lists(st.tuples(press, chatter), min_size=1, max_size=4),
       st.integers(0, (1 << 30) - 1))
def test_gestures_match_the_model_anywhere_on_the_clock(seq, start):
    presses = [p for p, _ in seq]
    bursts = [c for _, c in seq]
    ev = T.check_sequence(presses, bursts, start=start)
    # no factory reset unless a press was held past the threshold continuously
    if T.B.FACTORY_RESET in ev:
        assert any(h + sum(c) >= T.TIMINGS["factory_reset_ms"] for (_, h), c in seq)


@settings(deadline=None)
@given(st.lists(st.integers(1, DEB - 1), max_size=60), st.integers(0, (1 << 30) - 1))
def test_bounces_shorter_than_debounce_never_make_an_event(bounces, start):
    steps = [(100, False)] + [(d, i % 2 == 0) for i, d in enumerate(bounces)] + [(1, False)]
    assert T.run(steps, start=start) == []

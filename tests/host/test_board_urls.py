"""Board URL options are checked before a board starts: a misspelt fault would pass as a
healthy board, a bad number would fail inside the board."""

import pytest

from camdiag_host.errors import CamdiagError
from camdiag_host.qemuboard import parse_qemu_url
from camdiag_host.simboard import model_faults, parse_sim_url


def test_the_model_faults_are_read_from_the_model():
    assert {"speaker_silent", "muffled", "i2s_hang"} <= set(model_faults())


@pytest.mark.parametrize("parse,scheme", [(parse_sim_url, "sim"), (parse_qemu_url, "qemu")])
@pytest.mark.parametrize("query,word", [
    ("fault=mufled", "unknown fault 'mufled'"),
    ("fault=muffled,bogus", "unknown fault 'bogus'"),
    ("seed=x", "bad seed=x"),
    ("snr=abc", "bad snr=abc"),
    ("realtime=maybe", "bad realtime=maybe"),
    ("mic_slot=middle", "bad mic_slot=middle"),
])
def test_a_bad_model_option_is_refused_with_the_valid_ones(parse, scheme, query, word):
    with pytest.raises(CamdiagError) as e:
        parse(f"{scheme}://?{query}")
    assert word in str(e.value)
    if "fault" in query:
        assert "speaker_silent" in str(e.value)  # the list of valid names


@pytest.mark.parametrize("parse,scheme", [(parse_sim_url, "sim"), (parse_qemu_url, "qemu")])
def test_good_model_options_pass(parse, scheme):
    opts = parse(f"{scheme}://?fault=muffled,dc&seed=3&snr=30&realtime=0&mic_slot=right")
    assert opts["fault"] == "muffled,dc" and opts["seed"] == "3"


@pytest.mark.parametrize("icount", ["shift=3", "shift=10", "auto", "off"])
def test_the_qemu_clock_options_pass(icount):
    assert parse_qemu_url(f"qemu://?icount={icount}")["icount"] == icount


@pytest.mark.parametrize("icount", ["shift=11", "3", "fast", ""])
def test_a_bad_qemu_clock_is_refused_with_the_valid_ones(icount):
    with pytest.raises(CamdiagError) as e:
        parse_qemu_url(f"qemu://?icount={icount}")
    assert f"icount={icount} in" in str(e.value) and "icount=off" in str(e.value)

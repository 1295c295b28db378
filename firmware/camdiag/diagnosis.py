"""Diagnosis: measurements + limits -> checks, faults (primary first) and one fix each.

Fault classes (shared/REFERENCE.md taxonomy), in the order they explain each other: a
dead link hides everything after it, so only the first applicable ones are reported.
"""

from camdiag.record import check
from camdiag.record import meas as _meas

FAULT_ORDER = ("i2s_fault", "mic_dead", "wrong_slot", "speaker_silent", "dropouts", "muffled",
               "distorted", "noisy")
# muffled and distorted come before noisy: a blocked port or a clipping amp lowers the tone
# and with it the SNR, while noise alone neither weakens the high band nor adds harmonics.

# One plain-language fix per fault, cheapest first (power-cycle before re-add before
# factory reset before replace).
ADVICE = {
    "i2s_fault": "Unplug the camera for 15 s and plug it back in; if the audio bus still "
                 "fails, reseat the audio board cable, then replace the audio board.",
    "mic_dead": "Unplug the camera for 15 s and retry; if the mic still sends stuck data, "
                "reseat the mic cable, then replace the microphone.",
    "wrong_slot": "The mic answers on the other I2S slot: set audio.rx.slot to the other "
                  "side in board.json and redeploy, or fix the mic's L/R pin.",
    "speaker_silent": "The mic hears no test tones: check the speaker plug and that the "
                      "amp is powered; if both are fine, replace the speaker.",
    "dropouts": "Audio samples are being lost: unplug the camera for 15 s and retry; if "
                "it repeats, update the firmware, then replace the board.",
    "noisy": "Too much noise to hear the tones clearly: retest in a quiet room away from "
             "fans and TVs; if still noisy, check the mic's ground wire.",
    "distorted": "The tones come back distorted: check the speaker is screwed tight and "
                 "nothing rattles; if it persists, replace the speaker.",
    "muffled": "High tones come back weak: clean the speaker and mic openings (dust, paint, "
               "a sticker or a case covering them).",
}

DIAGNOSIS = {
    "i2s_fault": "the I2S audio bus did not deliver data",
    "mic_dead": "the microphone sends stuck data",
    "wrong_slot": "the microphone's data is in the other I2S slot",
    "speaker_silent": "the speaker plays nothing the mic can hear",
    "dropouts": "samples are lost or repeated between the mic and the CPU",
    "noisy": "the signal-to-noise ratio is too low",
    "distorted": "the speaker-to-mic path distorts",
    "muffled": "the high band is much weaker than expected",
}


def _check(name, outcome, measurements, fault=None, note=None):
    return check(name, outcome, measurements, fault, DIAGNOSIS.get(fault),
                 ADVICE.get(fault), note)


def _r(v, nd=2):
    return round(v, nd) if isinstance(v, float) else v


def diagnose(m, limits, error=None):
    """Return (checks, faults). m: analysis measurements (None when capture failed)."""
    checks = []
    faults = []

    def fail(fault):
        if fault not in faults:
            faults.append(fault)

    if error is not None:
        checks.append(_check("i2s_capture", "error", [], "i2s_fault", note=error))
        return checks, ["i2s_fault"]
    checks.append(_check("i2s_capture", "pass", [_meas("captured", m["frames"], "frames")]))

    # Slot first: an active slot with no data while the other carries it is not a dead mic.
    other = m["other_slot_mean_abs"]
    ratio = m["slot_ratio"]
    slot_meas = [_meas("silent_slot_ratio", _r(min(ratio, 1e6), 4), "ratio",
                       hi=limits["slot_ratio_max"])]
    floating = m.get("other_slot_floating", False)
    own_floating = m.get("slot_floating", False)
    # The mic on the other slot: that slot carries audio, louder than ours or ours floats.
    if other > 4 and not floating and (ratio > 1.0 or own_floating):
        checks.append(_check("slot", "fail", slot_meas, "wrong_slot"))
        fail("wrong_slot")
        return checks, faults
    data_meas = [_meas("data_bits_toggling", m["data_bits_toggling"], "bits"),
                 _meas("all_zero", m["data_zero"], "bool"),
                 _meas("constant", m["data_constant"], "bool"),
                 _meas("lsb_stuck", m["data_lsb_stuck"], "bool")]
    if m["mic_stuck"]:
        checks.append(_check("mic_data", "fail", data_meas, "mic_dead"))
        fail("mic_dead")
        return checks, faults
    if floating and own_floating:
        # Both slots random: the SD line itself floats (mic unwired or unpowered); it is
        # not a room too loud to hear the speaker in.
        checks.append(_check("mic_data", "fail", data_meas, "mic_dead",
                             note="the mic's data line floats: random bits in both slots"))
        fail("mic_dead")
        return checks, faults
    checks.append(_check("mic_data", "pass", data_meas))
    if floating:
        checks.append(_check("slot", "pass", slot_meas,
                             note="the unused slot floats (no pull-down on SD): not judged"))
    else:
        checks.append(_check("slot", "pass" if ratio <= limits["slot_ratio_max"] else "warn",
                             slot_meas,
                             note=None if ratio <= limits["slot_ratio_max"] else
                             "crosstalk on the unused slot"))

    dc = m["dc_fs"]
    checks.append(_check("dc_offset", "pass" if abs(dc) <= limits["dc_max_fs"] else "warn",
                         [_meas("dc", _r(dc, 4), "FS", hi=limits["dc_max_fs"])],
                         note=None if abs(dc) <= limits["dc_max_fs"] else
                         "mic DC offset above the limit"))

    if not m.get("burst_found"):
        checks.append(_check("speaker_to_mic", "fail", [_meas("rms", _r(m["rms_dbfs"]), "dBFS")],
                             "speaker_silent", note="no test burst found in the recording"))
        fail("speaker_silent")
        return checks, faults

    ref = m["ref_dbfs"]
    noise = m["noise_dbfs"]
    heard = m["tone_detect_db"]
    lvl = [_meas("ref_tone_level", _r(ref), "dBFS", lo=limits["tone_min_dbfs"]),
           _meas("tone_above_bin_noise", _r(heard), "dB", lo=limits["tone_detect_db"])]
    conf = m["latency_confidence"]
    tol = limits["spacing_tol_samples"]
    sp = m["burst_spacing_error_max"]
    train = [_meas("burst_spacing_error", _r(sp), "samples", hi=tol),
             _meas("bursts_missing", m["bursts_missing"], "count", hi=0)]
    timing_ok = conf >= limits["latency_conf_min"]
    if heard < limits["tone_detect_db"]:
        if timing_ok and (sp > tol or m["bursts_missing"] > 0):
            # The first burst came back clearly but the train behind it broke: samples were
            # lost (an RX DMA overrun), and the tone windows, placed from the first burst,
            # miss their tones. The speaker works.
            checks.append(_check("dropouts", "fail", train, "dropouts",
                                 note="samples lost before the tones: not judged"))
            fail("dropouts")
            return checks, faults
        checks.append(_check("speaker_to_mic", "fail", lvl, "speaker_silent"))
        fail("speaker_silent")
        return checks, faults
    checks.append(_check("speaker_to_mic", "pass" if ref >= limits["tone_min_dbfs"] else "warn",
                         lvl, note=None if ref >= limits["tone_min_dbfs"] else
                         "speaker quieter than expected"))
    checks.append(_check("tone_levels", "pass",
                         [_meas("level_%d_hz" % f, lv, "dBFS")
                          for f, lv in zip(m["tone_hz"], m["tone_dbfs"])]))

    snr = m["snr_db"]
    noisy = snr < limits["snr_min_db"]
    checks.append(_check("noise", "fail" if noisy else "pass",
                         [_meas("noise_floor", _r(noise), "dBFS"),
                          _meas("snr", _r(snr), "dB", lo=limits["snr_min_db"])],
                         "noisy" if noisy else None))

    # Dropouts: burst spacing, missing bursts, phase jumps and envelope dips on the tone.
    glitch = m["glitch_phase_pi"]
    env = m["envelope_min_ratio"]
    # Each part is judged only where its measurement is trustworthy: burst timing needs a
    # confident correlation, the phase estimate needs SNR >= 12 dB.
    glitch_ok = snr >= 12.0
    dropout = (timing_ok and (sp > tol or m["bursts_missing"] > 0)) or (
        glitch_ok and (glitch > limits["glitch_phase_pi"] or env < 0.6))
    if dropout:
        drop_outcome = "fail"
    elif timing_ok or glitch_ok:
        drop_outcome = "pass"
    else:
        drop_outcome = "skip"
    checks.append(_check(
        "dropouts", drop_outcome,
        train + [_meas("phase_error", _r(glitch, 3), "pi", hi=limits["glitch_phase_pi"]),
                 _meas("envelope_min", _r(env, 3), "ratio", lo=0.6)],
        "dropouts" if dropout else None,
        note=None if (timing_ok and glitch_ok) or dropout else
        "signal too weak or noisy to judge %s" % (
            "burst timing" if not timing_ok and glitch_ok else
            "tone phase" if timing_ok else "burst timing or tone phase")))
    if dropout:
        fail("dropouts")

    checks.append(_check("latency", "pass" if conf >= limits["latency_conf_min"] else "warn",
                         [_meas("latency", _r(m["latency_ms"]), "ms"),
                          _meas("confidence", _r(conf, 3), "ratio",
                                lo=limits["latency_conf_min"])]))

    thd = m["thd_pct"]
    thd_lim = limits["thd_max_pct"]
    clips = m["clipped_samples"]
    clip_lim = limits["clip_max_samples"]
    thd_meas = [_meas("thd", _r(thd), "%", hi=thd_lim),
                _meas("clipped_samples", clips, "samples", hi=clip_lim)]
    floor = m["thd_floor_pct"]  # what the noise alone adds to the harmonic bins
    if thd > thd_lim and thd > 3 * floor or clips > clip_lim:
        checks.append(_check("distortion", "fail", thd_meas, "distorted"))
        fail("distorted")
    elif floor > thd_lim / 3:
        checks.append(_check("distortion", "skip", thd_meas,
                             note="noise too high to vouch for THD below the limit"))
    else:
        checks.append(_check("distortion", "pass", thd_meas))

    hi = m["high_minus_ref_db"]
    muffled = hi < limits["high_minus_ref_min_db"]
    checks.append(_check("response", "fail" if muffled else "pass",
                         [_meas("high_minus_ref", _r(hi), "dB",
                                lo=limits["high_minus_ref_min_db"]),
                          _meas("low_minus_ref", _r(m["low_minus_ref_db"]), "dB")],
                         "muffled" if muffled else None))
    if muffled:
        fail("muffled")
    if noisy:
        fail("noisy")
    faults.sort(key=FAULT_ORDER.index)
    return checks, faults

# Analysis speed on the MicroPython unix port: micropython bench/mp_bench.py ROOT
# (or on a board, run with BENCH_ROOT and BENCH_LOADED set before it: camdiag_host.bench).
# Prints one JSON line: seconds of audio analysed per second, viper and portable kernels.
import sys
import time
import json

ROOT = globals().get("BENCH_ROOT") or sys.argv[1]
sys.path.insert(0, ROOT + "/firmware")
sys.path.insert(0, ROOT + "/tests/firmware")
from camdiag import profile  # noqa: E402
from camdiag.analysis import Analyzer  # noqa: E402
from camdiag.capture import LoopbackCapture  # noqa: E402
from camdiag.kernels import Kernels  # noqa: E402
from camdiag.plan import Plan  # noqa: E402
from fwtest import FakeRx, FakeTx, board_json  # noqa: E402

prof = profile.validate(board_json("sim"))
plan = Plan(prof)
# a board runs this from a RAM disk, which it frees here for the buffers (camdiag_host.bench)
globals().get("BENCH_LOADED", lambda: None)()
audio_s = plan.capture_frames / plan.rate
out = {"audio_s": audio_s}
for name in ("viper", "portable"):
    kern = Kernels(viper=(name == "viper"))
    cap = LoopbackCapture(plan, kern)
    t0 = time.ticks_us()
    cap.run(FakeTx(), FakeRx())
    t_cap = time.ticks_diff(time.ticks_us(), t0) / 1e6
    # a realistic capture for the analysis: the real stimulus, delayed, as the mic hears it
    from camdiag import kernels

    stim = plan.stimulus(kern)
    d = 200
    buf = kernels.samples(plan.capture_frames)
    for i in range(plan.capture_frames):
        j = i + plan.warmup - d
        kernels.put16(buf, i, (kernels.get16(stim, j) >> 1) + ((i * 7) % 5 - 2))
    an = Analyzer(plan, kern)
    runs = 3
    t0 = time.ticks_us()
    for _ in range(runs):
        m = an.analyze(buf, cap.stats, plan.capture_frames)
    t_an = time.ticks_diff(time.ticks_us(), t0) / 1e6 / runs
    out[name] = {"capture_loop_s": t_cap, "analysis_s": t_an,
                 "audio_per_cpu_s": audio_s / t_an, "latency_frames": m.get("latency_frames")}
print(json.dumps(out))

# Button state machine on CPython and the MicroPython unix port: gestures, bounce, boot,
# stuck, the IRQ ring, and the ESP32's ticks wrap-around (period 2**30) on any port.
from camdiag import button as B
from fwtest import profile

PERIOD = 1 << 30


def esp32_diff(a, b):
    """time.ticks_diff of the ESP32 port (period 2**30), whatever port runs the test."""
    return ((a - b + (PERIOD >> 1)) & (PERIOD - 1)) - (PERIOD >> 1)


TIMINGS = profile()["timings"]


def run(steps, start=1000, pressed_at_boot=False, step_ms=10, tail_ms=2000):
    """steps: [(duration_ms, pressed)...] of the raw contact, then released for tail_ms;
    returns the event names. Times are offset by `start` and wrapped to 2**30, so a start
    near the wrap tests it."""
    m = B.ButtonMachine(TIMINGS, start % PERIOD, pressed_at_boot, ticks_diff=esp32_diff)
    t = start
    level = pressed_at_boot
    for dur, pressed in steps:
        if pressed != level:
            m.edge(t % PERIOD, pressed)
            level = pressed
        end = t + dur
        while t < end:
            t = min(end, t + step_ms)
            m.update(t % PERIOD)
    if level:
        m.edge(t % PERIOD, False)
    end = t + tail_ms
    while t < end:
        t += step_ms
        m.update(t % PERIOD)
    return [e for e, _ in m.take()]


def gestures(events):
    return [e for e in events if e not in (B.PRESS, B.RELEASE)]


def test_click_and_double_click():
    assert gestures(run([(100, False), (120, True), (50, False)])) == [B.CLICK]
    assert gestures(run([(100, False), (120, True), (150, False), (120, True)])) == \
        [B.DOUBLE_CLICK]
    # a second click after the window is two clicks
    assert gestures(run([(100, False), (120, True), (600, False), (120, True)])) == \
        [B.CLICK, B.CLICK]


def test_long_press_reboot_and_factory_reset_act_on_release():
    assert gestures(run([(50, False), (1500, True)])) == [B.LONG_PRESS]
    ev = gestures(run([(50, False), (3500, True)]))
    assert ev == [B.REBOOT_CUE, B.REBOOT]
    ev = gestures(run([(50, False), (10500, True)]))
    assert ev == [B.REBOOT_CUE, B.RESET_ARMED, B.FACTORY_RESET]
    # still held: armed, nothing executed yet
    m = B.ButtonMachine(TIMINGS, 0, ticks_diff=esp32_diff)
    m.edge(100, True)
    for t in range(100, 10500, 10):
        m.update(t)
    assert [e for e, _ in m.take()] == [B.PRESS, B.REBOOT_CUE, B.RESET_ARMED]


def test_stuck_button_is_cancelled():
    ev = gestures(run([(50, False), (31000, True)]))
    assert ev == [B.REBOOT_CUE, B.RESET_ARMED, B.STUCK]
    assert B.FACTORY_RESET not in ev and B.REBOOT not in ev


def test_bounces_shorter_than_debounce_make_no_event():
    bounce = []
    for _ in range(5):
        bounce += [(5, True), (5, False)]
    assert run([(100, False)] + bounce) == []
    # a bouncy press is one click
    press = [(3, True), (2, False), (4, True), (3, False), (120, True), (2, False),
             (3, True), (200, False)]
    assert gestures(run([(100, False)] + press)) == [B.CLICK]


def test_held_at_boot_is_ignored_until_released_once():
    assert run([(20000, True), (500, False)], pressed_at_boot=True) == []
    ev = gestures(run([(4000, True), (500, False), (120, True)], pressed_at_boot=True))
    assert ev == [B.CLICK]


def test_boot_ignore_window():
    t = dict(TIMINGS, boot_ignore_ms=4000)
    m = B.ButtonMachine(t, 0, ticks_diff=esp32_diff)
    m.edge(100, True)
    for x in range(100, 3000, 10):
        m.update(x)
    m.edge(3000, False)
    for x in range(3000, 6000, 10):
        m.update(x)
    assert m.take() == []


def test_same_events_across_the_wrap():
    seq = [(100, False), (120, True), (150, False), (120, True), (700, False),
           (3500, True), (800, False), (10200, True)]
    plain = run(seq, start=1000)
    for start in (PERIOD - 5, PERIOD - 3000, PERIOD - 9000):
        assert run(seq, start=start) == plain, start
    assert gestures(plain) == [B.DOUBLE_CLICK, B.REBOOT_CUE, B.REBOOT, B.REBOOT_CUE,
                               B.RESET_ARMED, B.FACTORY_RESET]


def test_edge_ring_counts_overflow_and_drains_in_order():
    ring = B.EdgeRing(8)
    for i in range(10):
        ring.push(1000 + i * 100, i % 2)
    assert len(ring) == 7 and ring.overflows == 3
    m = B.ButtonMachine(TIMINGS, 0, ticks_diff=esp32_diff)
    ring = B.EdgeRing(8)
    ring.push(100, 0)  # active low: 0 = pressed
    ring.push(250, 1)
    m.drain(ring)
    m.update(2000)
    assert gestures([e for e, _ in m.take()]) == [B.CLICK] and len(ring) == 0


def test_ring_push_allocates_nothing():
    from fwtest import is_micropython, skip

    if not is_micropython():
        skip("micropython.heap_lock() exists only on MicroPython")
    import micropython

    ring = B.EdgeRing(16)
    micropython.heap_lock()
    try:
        for i in range(40):
            ring.push(123456 + i, i & 1)
    finally:
        micropython.heap_unlock()
    assert ring.overflows == 40 - 15


# -- properties over random sequences (driven by an LCG here, by hypothesis on CPython) --
def bouncy(presses, bounce_runs):
    """Build raw contact steps from true (gap_ms, hold_ms) presses: before each change of
    level the contact chatters (runs of alternating levels, each shorter than debounce)."""
    steps = []
    for (gap, hold), chatter in zip(presses, bounce_runs):
        steps.append((gap, False))
        for k, d in enumerate(chatter):
            steps.append((d, k % 2 == 0))
        steps.append((hold, True))
        for k, d in enumerate(chatter):
            steps.append((d, k % 2 == 1))
    return steps


def expected_counts(presses):
    """What a user did, per true press: the hold is measured between the last edge of the
    press chatter and the first... of the release: chatter before the release ends in the
    released level, so the hold ends at the release chatter's last edge."""
    t = TIMINGS
    counts = {B.FACTORY_RESET: 0, B.REBOOT: 0, B.STUCK: 0, B.LONG_PRESS: 0, "short": 0}
    for _gap, hold in presses:
        h = hold  # the chatter after it belongs to the release and is added below
        counts["short" if h < t["click_max_ms"] else
               B.LONG_PRESS if h < t["hold_reboot_ms"] else
               B.REBOOT if h < t["factory_reset_ms"] else
               B.FACTORY_RESET if h < t["stuck_ms"] else B.STUCK] += 1
    return counts


def check_sequence(presses, chatter, start=1000):
    """The machine's gestures match the true presses; returns the events."""
    # the release chatter lengthens the held time by its total duration
    effective = [(g, h + sum(c)) for (g, h), c in zip(presses, chatter)]
    ev = run(bouncy(presses, chatter), start=start)
    want = expected_counts(effective)
    got = gestures(ev)
    for key in (B.FACTORY_RESET, B.REBOOT, B.STUCK, B.LONG_PRESS):
        assert got.count(key) == want[key], (key, got, effective)
    assert got.count(B.CLICK) + 2 * got.count(B.DOUBLE_CLICK) == want["short"], (got, effective)
    assert ev.count(B.PRESS) == len(presses) and ev.count(B.RELEASE) == len(presses)
    return ev


def lcg_sequences(n, seed=12345):
    x = seed
    def rnd(lo, hi):
        nonlocal_x[0] = (nonlocal_x[0] * 1103515245 + 12345) & 0x7FFFFFFF
        return lo + (nonlocal_x[0] >> 12) % (hi - lo + 1)  # the low bits of an LCG cycle
    nonlocal_x = [x]
    deb = TIMINGS["debounce_ms"]
    t = TIMINGS
    # around every threshold, where an off-by-some bug would show
    edges = (t["click_max_ms"], t["hold_reboot_ms"], t["factory_reset_ms"], t["stuck_ms"])
    for _ in range(n):
        k = rnd(1, 4)
        presses = []
        chatter = []
        for _ in range(k):
            hold = edges[rnd(0, len(edges) - 1)] + rnd(-300, 300)
            if rnd(0, 3) == 0:
                hold = rnd(deb + 1, 1000)
            presses.append((rnd(deb + 1, 800), hold))
            chatter.append([rnd(1, deb - 1) for _ in range(2 * rnd(0, 3))])
        yield presses, chatter


def test_random_bouncy_sequences_match_the_model_and_survive_the_wrap():
    for presses, chatter in lcg_sequences(30):
        ev = check_sequence(presses, chatter)
        assert check_sequence(presses, chatter, start=PERIOD - 2500) == ev


def test_chatter_alone_is_silent():
    deb = TIMINGS["debounce_ms"]
    steps = [(100, False)]
    for i in range(40):
        steps.append(((i * 7) % (deb - 1) + 1, i % 2 == 0))
    steps.append((5, False))
    assert run(steps) == []

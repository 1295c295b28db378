"""Talk-path check: what the two-way-talk guides ask owners to test by hand.

Against `camdiag netserver` (or anything speaking the same two tiny protocols on host:port):
- upload: TCP, a line ``CAMDIAG UP <n> <ms>\\n`` then bytes, as iperf3 times a test: for
  about ms milliseconds or n bytes, whichever comes first. The server times its own
  reading (first to last byte), answers one JSON line {"bytes", "seconds"} and drains the
  rest; the board stops sending when the answer arrives. Timing at the receiver is what
  counts: the sender's clock only sees its socket buffer fill. (A fixed 256 KB crossed a
  fast LAN or loopback in "0.0 s": no rate can be read off that.)
- round trip: UDP echo of voice-sized packets (160 B of G.711 + 12 B RTP header) every
  20 ms; each carries its sequence number and send time (ticks_us), so RTT, jitter (mean
  difference of consecutive RTTs, RFC 3550 style) and loss come out of the echoes.
Verdict against the board's limits (>= 2 Mbit/s up, RTT < 100 ms, jitter, loss <= 1 %).
Loaded for the call and dropped afterwards.
"""

import json
import socket
import struct
import time

from camdiag import record, wifi
from camdiag.record import meas as _meas

ADVICE = {
    "net_slow_upload": "Upload is too slow for video and talk: pause other uploads (cloud "
                       "backups, video calls), check the internet plan's upload speed, then "
                       "move the camera closer to the router.",
    "net_high_rtt": "Replies take too long: restart the router; if the delay stays, turn off "
                    "any VPN on the router and ask the internet provider.",
    "net_jitter": "The delay jumps around: stop large downloads and uploads during calls, "
                  "and turn on QoS on the router if it has it.",
    "net_lossy": "Packets are being lost: move the camera closer to the router or change the "
                 "router's 2.4 GHz channel, then restart the router.",
}
DIAGNOSIS = {
    "net_slow_upload": "upload throughput is below what two-way talk and video need",
    "net_high_rtt": "the round-trip time is too long for a conversation",
    "net_jitter": "the delay varies too much for smooth audio",
    "net_lossy": "packets are lost on the way",
}
FAULT_ORDER = ("wifi_down", "net_slow_upload", "net_lossy", "net_high_rtt", "net_jitter")

CHUNK = 1024
PACKET_MS = 20
STRAGGLER_MS = 1000
_US_MASK = 0x3FFFFFFF  # how long to wait for echoes after the last packet


def _addr(host, port, kind):
    return socket.getaddrinfo(host, port, 0, kind)[0][-1]


def upload(host, port, nbytes, ms=3000, timeout_s=30):
    """Returns (Mbit/s, bytes, seconds as the server measured): an upload of about ms
    milliseconds or nbytes, whichever ends first."""
    import select

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout_s)
        s.connect(_addr(host, port, socket.SOCK_STREAM))
        s.write(("CAMDIAG UP %d %d\n" % (nbytes, ms)).encode())
        buf = bytearray(CHUNK)
        for i in range(CHUNK):
            buf[i] = i & 0xFF
        mv = memoryview(buf)
        poll = select.poll()
        poll.register(s, select.POLLIN)
        sent = 0
        while sent < nbytes:
            if poll.poll(0):  # the server's answer: its window is over
                break
            k = min(CHUNK, nbytes - sent)
            s.write(mv[:k])
            sent += k
        line = s.readline()
    finally:
        s.close()
    if not line:
        raise OSError("the netserver closed without an answer")
    ans = json.loads(line)
    secs = max(ans["seconds"], 1e-6)
    return ans["bytes"] * 8 / secs / 1e6, ans["bytes"], secs


def echo(host, port, count, size, wait_ms=STRAGGLER_MS):
    """UDP echo: returns (rtt list in ms, None for lost, in sequence order)."""
    import select

    addr = _addr(host, port, socket.SOCK_DGRAM)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtt = [None] * count
    try:
        poll = select.poll()
        poll.register(u, select.POLLIN)
        pkt = bytearray(size)
        nxt = time.ticks_ms()
        sent = 0
        end = None
        while True:
            now = time.ticks_ms()
            if sent < count and time.ticks_diff(now, nxt) >= 0:
                struct.pack_into("<II", pkt, 0, sent, time.ticks_us() & _US_MASK)
                u.sendto(pkt, addr)
                sent += 1
                nxt = time.ticks_add(nxt, PACKET_MS)
                if sent == count:
                    end = time.ticks_add(now, wait_ms)
            if end is not None and (time.ticks_diff(now, end) >= 0 or None not in rtt):
                break
            left = time.ticks_diff(end if end is not None else nxt, now)
            for _ in poll.ipoll(max(0, min(left, PACKET_MS))):
                data = u.recv(size + 16)
                if len(data) >= 8:
                    seq, t0 = struct.unpack_from("<II", data, 0)
                    if seq < count and rtt[seq] is None:
                        # masked to 30 bits: the ESP32's ticks_us period, and what fits
                        # the packet's 32-bit field on a 64-bit port too
                        rtt[seq] = ((time.ticks_us() & _US_MASK) - t0 & _US_MASK) / 1000
    finally:
        u.close()
    return rtt


def echo_stats(rtt):
    """(mean RTT ms, max RTT ms, jitter ms, loss %) of an echo run (None for no replies)."""
    got = [r for r in rtt if r is not None]
    loss = 100.0 * (len(rtt) - len(got)) / len(rtt) if rtt else 100.0
    if not got:
        return None, None, None, loss
    diffs = [abs(b - a) for a, b in zip(got, got[1:])]
    jitter = sum(diffs) / len(diffs) if diffs else 0.0
    return sum(got) / len(got), max(got), jitter, loss


def _c(name, ok, meas, fault):
    if ok:
        return record.check(name, "pass", meas)
    return record.check(name, "fail", meas, fault, DIAGNOSIS[fault], ADVICE[fault])


def checks_for(lim, up, rtt_stats, errors):
    """Checks and faults from the measurements (up: (mbps, bytes, s) or None)."""
    checks = []
    faults = []
    if up is not None:
        ok = up[0] >= lim["upload_min_mbps"]
        checks.append(_c("net_upload", ok, [
            _meas("upload", round(up[0], 2), "Mbit/s", lo=lim["upload_min_mbps"]),
            _meas("bytes", up[1], "B"), _meas("seconds", round(up[2], 3), "s")],
            "net_slow_upload"))
        if not ok:
            faults.append("net_slow_upload")
    if rtt_stats is not None:
        mean, mx, jit, loss = rtt_stats
        ok = loss <= lim["loss_max_pct"]
        checks.append(_c("net_loss", ok, [_meas("loss", round(loss, 1), "%",
                                                hi=lim["loss_max_pct"])], "net_lossy"))
        if not ok:
            faults.append("net_lossy")
        if mean is not None:
            ok = mean < lim["rtt_max_ms"]
            checks.append(_c("net_rtt", ok, [
                _meas("rtt_mean", round(mean, 1), "ms", hi=lim["rtt_max_ms"]),
                _meas("rtt_max", round(mx, 1), "ms")], "net_high_rtt"))
            if not ok:
                faults.append("net_high_rtt")
            ok = jit <= lim["jitter_max_ms"]
            checks.append(_c("net_jitter", ok, [_meas("jitter", round(jit, 1), "ms",
                                                      hi=lim["jitter_max_ms"])], "net_jitter"))
            if not ok:
                faults.append("net_jitter")
    for name, err in errors:
        checks.append(record.check(name, "error", [], note=err))
    return checks, faults


def service_netcheck(host, port=5201, upload_bytes=None, packets=None, log=False,
                     upload_ms=None):
    from camdiag import hw, store

    prof = store.profile_or_raise()
    lim = prof["wifi"]
    st, dbm = wifi.read(hw.wlan())
    summary = {"server": "%s:%d" % (host, port), "wifi_status": st, "rssi": dbm}
    if dbm is None:  # no link: say why, as the RSSI check would
        from camdiag import wifi_check
        from camdiag.wifi_info import link_state

        reason = wifi_check.down_reason([st], link_state() or {})
        c = record.check("wifi_link", "fail", [_meas("status", st, "code")], "wifi_down",
                         wifi_check.DIAGNOSIS["wifi_down"],
                         wifi_check.down_advice(reason, bool(store.wifi_ssid())))
        return record.finish("netcheck", prof, [c], ["wifi_down"], FAULT_ORDER,
                             {"net": summary}, log)
    up = stats = None
    errors = []
    try:
        up = upload(host, port, upload_bytes or lim["upload_bytes"],
                    upload_ms or lim["upload_ms"])
    except (OSError, ValueError, KeyError) as e:
        errors.append(("net_upload", "could not reach the netserver at %s:%d over TCP (%s)"
                       % (host, port, e)))
    try:
        rtt = echo(host, port, packets or lim["echo_packets"], lim["echo_bytes"])
        stats = echo_stats(rtt)
        rtt = None
        if stats[0] is None:  # not one echo: nobody answering, not a lossy network
            stats = None
            errors.append(("net_echo", "no UDP echo from %s:%d: is `camdiag netserver` "
                           "running there?" % (host, port)))
    except OSError as e:
        errors.append(("net_echo", "UDP echo to %s:%d failed (%s)" % (host, port, e)))
    checks, faults = checks_for(lim, up, stats, errors)
    if up is not None:
        summary["upload_mbps"] = round(up[0], 2)
    if stats is not None:
        summary.update({"rtt_mean_ms": stats[0] and round(stats[0], 1),
                        "rtt_max_ms": stats[1] and round(stats[1], 1),
                        "jitter_ms": stats[2] and round(stats[2], 1),
                        "loss_pct": round(stats[3], 1)})
    return record.finish("netcheck", prof, checks, faults, FAULT_ORDER, {"net": summary}, log)

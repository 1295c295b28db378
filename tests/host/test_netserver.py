"""The netserver's timed upload (iperf3's way: a time, not a size), as the firmware's
netcheck.upload speaks it: the server answers when its window is over and drains the rest,
so the sender, polling for that answer between writes, stops there."""

import json
import socket
import threading

import pytest

from camdiag_host.netserver import NetServer


def _upload(port, head, stop_at_answer=True, limit=64 << 20):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(head)
    chunk = bytes(4096)
    sent = 0
    answer = b""
    s.setblocking(False)
    while sent < limit:
        try:
            answer += s.recv(256)
            if stop_at_answer and answer.endswith(b"\n"):
                break
        except BlockingIOError:
            pass
        try:
            sent += s.send(chunk)
        except BlockingIOError:
            threading.Event().wait(0.001)
    s.setblocking(True)
    while not answer.endswith(b"\n"):
        answer += s.recv(256)
    s.close()
    return json.loads(answer), sent


@pytest.mark.parametrize("window_ms", [300, 800])
def test_a_throttled_upload_ends_with_its_window_not_its_size(window_ms):
    with NetServer(bind="127.0.0.1", port=0, throttle_mbps=1.0) as srv:
        ans, sent = _upload(srv.port, b"CAMDIAG UP 67108864 %d\n" % window_ms)
    # 1 Mbit/s read for the window: its bytes, timed by the server, within a read or two
    assert ans["seconds"] <= window_ms / 1000 + 0.1, ans
    assert ans["bytes"] * 8 / ans["seconds"] / 1e6 == pytest.approx(1.0, rel=0.15), ans
    assert ans["bytes"] < sent < 64 << 20  # the sender stopped at the answer


def test_an_unthrottled_upload_ends_at_its_byte_count():
    with NetServer(bind="127.0.0.1", port=0) as srv:
        ans, _sent = _upload(srv.port, b"CAMDIAG UP 1048576 30000\n", stop_at_answer=False,
                             limit=1048576)
    assert ans["bytes"] == 1048576 and 0 < ans["seconds"] < 30, ans


def test_the_untimed_form_still_reads_n_bytes():
    with NetServer(bind="127.0.0.1", port=0) as srv:
        ans, _sent = _upload(srv.port, b"CAMDIAG UP 65536\n", stop_at_answer=False,
                             limit=65536)
    assert ans["bytes"] == 65536, ans


@pytest.mark.parametrize("head", [b"CAMDIAG UP 1000 0\n", b"CAMDIAG UP 1000 99999\n",
                                  b"CAMDIAG DOWN 1000\n"])
def test_a_bad_upload_request_is_closed_without_an_answer(head):
    with NetServer(bind="127.0.0.1", port=0) as srv:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(head)
        assert s.recv(256) == b""
        s.close()

"""The read-ahead socket under paho: bytes come out in order and in the sizes asked for, pending()
tells paho's loop what is still buffered, and an empty socket still says 'try later'."""

from __future__ import annotations

import socket

import pytest

from collectors.mqtt.fastclient import _BufferedSocket, ack_all


def test_reads_are_served_from_one_read_ahead_in_order() -> None:
    a, b = socket.socketpair()
    a.setblocking(False)
    try:
        wrapped = _BufferedSocket(a)
        b.sendall(b"\x30\x05hello\x40\x02\x00\x07")
        assert wrapped.recv(1) == b"\x30"
        assert wrapped.pending() == 10
        assert wrapped.recv(1) == b"\x05"
        assert wrapped.recv(5) == b"hello"
        assert wrapped.recv(100) == b"\x40\x02\x00\x07"  # never more than what is buffered
        assert wrapped.pending() == 0
        with pytest.raises(BlockingIOError):
            wrapped.recv(1)
        assert wrapped.fileno() == a.fileno()  # everything else is the socket's
    finally:
        a.close()
        b.close()


def test_ack_all_falls_back_to_one_ack_per_message() -> None:
    class Plain:
        def __init__(self) -> None:
            self.acks: list[tuple[int, int]] = []

        def ack(self, mid: int, qos: int) -> None:
            self.acks.append((mid, qos))

    client = Plain()
    ack_all(client, [3, 4])
    assert client.acks == [(3, 1), (4, 1)]

"""paho's Client with two costs per message taken out (profiled with py-spy, bench/mqtt_ingest.py).

- Reads: paho asks the socket for each packet's header byte, length bytes and body in turn, a
  system call each. On plain TCP the socket is read 64 KiB at a time and served from memory;
  `pending()` tells paho's loop not to wait in select() while the buffer holds bytes (the same
  hook paho uses for TLS sockets, which keep their own buffer).
- Acks: `ack()` queues one 4-byte PUBACK and wakes paho's thread, and that thread writes it with
  a system call of its own. `ack_many()` queues a stored batch's PUBACKs as one write.

Both use paho internals (`_create_socket`, `_packet_queue`); when they are missing (another paho
version) the client falls back to paho's own behaviour.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt

_PUBACK = 0x40
_PUBACK_PACKET = struct.Struct("!BBH")
_READ_SIZE = 65536


class _BufferedSocket:
    """Delegates everything to the socket except recv(), which is served from a read-ahead buffer."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0

    def recv(self, size: int) -> bytes:
        if self._pos >= len(self._buf):
            data: bytes = self._sock.recv(max(size, _READ_SIZE))  # raises BlockingIOError when empty
            if len(data) <= size:
                return data
            self._buf, self._pos = data, 0
        start = self._pos
        self._pos = min(start + size, len(self._buf))
        return self._buf[start : self._pos]

    def pending(self) -> int:
        return len(self._buf) - self._pos

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class FastClient(mqtt.Client):
    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if self._ssl or self._transport != "tcp" or not hasattr(sock, "recv"):
            return sock
        return _BufferedSocket(sock)

    def ack_many(self, mids: Sequence[int]) -> None:
        """PUBACK for each QoS 1 message id, queued as one write (manual_ack mode)."""
        queue = getattr(self, "_packet_queue", None)
        if len(mids) == 1 or queue is None:
            for mid in mids:
                self.ack(mid, 1)
            return
        if mids:
            packet = b"".join(_PUBACK_PACKET.pack(_PUBACK, 2, mid) for mid in mids)
            queue(_PUBACK, packet, 0, 0)


def ack_all(client: Any, mids: Sequence[int]) -> None:
    """Ack QoS 1 messages: in one write on a FastClient, one by one on any other client."""
    ack_many = getattr(client, "ack_many", None)
    if ack_many is not None:
        ack_many(mids)
        return
    for mid in mids:
        client.ack(mid, 1)

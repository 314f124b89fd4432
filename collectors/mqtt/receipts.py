"""Receipts: exactly-once storage of readings without a payload timestamp across a crash.

A QoS 1 message is acked only after its reading is committed. If the agent dies between the
commit and the ack reaching the broker, the broker delivers the message again, flagged DUP,
with the same packet id, to the next process. A reading whose timestamp came from the payload
is then the same observation and the database skips it; a bare number ("4.2") would get a new
receive time and be stored twice. So the subscriber hands the packet's identity (client id,
packet id, a digest of topic and payload) to the sink with the reading, the sink commits both
together, and at start the subscriber reads the recent receipts back: a DUP delivery that
matches one is a copy, acked and not stored.

A packet id is reused by the broker only after its ack, and a reuse is a new delivery (no DUP
flag), which replaces the receipt; a DUP copy of a reused id with the very same topic and
payload, never seen by us before a crash, is the one case this can misjudge.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from collectors.sink import Receipt

# client id -> the receipts stored by earlier runs (recent ones; see agent/storage/receipts.py)
ReceiptLoader = Callable[[str], Sequence[Receipt]]


def receipt_digest(topic: str, payload: bytes) -> str:
    """Stable across processes (unlike hash()): 32 hex characters."""
    h = hashlib.blake2b(digest_size=16)
    h.update(topic.encode("utf-8", "surrogateescape"))
    h.update(b"\x00")
    h.update(payload)
    return h.hexdigest()


def receipt_key(digest: str, mid: int) -> int:
    """The subscriber's dedupe key for a message without a payload timestamp."""
    return hash((digest, mid))

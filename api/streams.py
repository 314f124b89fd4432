"""How many live event streams may be open: in total and per user or token. Each stream holds a
connection and a queue in memory, so one client opening thousands must not starve the rest."""

from __future__ import annotations

import threading
from collections import Counter

from rules.views import Principal


def stream_key(principal: Principal) -> str:
    return f"token:{principal.token_id}" if principal.via == "token" else f"user:{principal.username}"


class StreamSlots:
    def __init__(self, *, total: int, per_principal: int) -> None:
        self.total = total
        self.per_principal = per_principal
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def take(self, key: str) -> str | None:
        """None when a slot was taken; otherwise why not."""
        with self._lock:
            if self._open[key] >= self.per_principal:
                return f"at most {self.per_principal} live streams per user or token are open at once; close one"
            if sum(self._open.values()) >= self.total:
                return "the server has as many live streams open as it allows; try again in a minute"
            self._open[key] += 1
            return None

    def give_back(self, key: str) -> None:
        with self._lock:
            self._open[key] -= 1
            if self._open[key] <= 0:
                del self._open[key]

    def open_count(self) -> int:
        with self._lock:
            return sum(self._open.values())

"""Alert severities, ordered so that a rise can be compared."""

from __future__ import annotations

from enum import IntEnum


class Severity(IntEnum):
    INFO = 1
    WARNING = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}; use info, warning or critical") from None

    def raised(self) -> Severity:
        """One step up, stopping at critical (escalation)."""
        return Severity(min(self + 1, Severity.CRITICAL))

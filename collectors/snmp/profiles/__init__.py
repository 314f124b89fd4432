"""Built-in SNMP profiles, by the name used in config."""

from __future__ import annotations

from collectors.snmp.profiles.base import Profile
from collectors.snmp.profiles.generic import GenericProfile
from collectors.snmp.profiles.printer import PrinterProfile
from collectors.snmp.profiles.ups import UpsProfile


def profile_for(name: str) -> Profile:
    profiles: dict[str, Profile] = {
        "printer": PrinterProfile(),
        "ups": UpsProfile(),
        "generic": GenericProfile(),
    }
    try:
        return profiles[name]
    except KeyError:
        raise ValueError(f"unknown SNMP profile {name!r}; use printer, ups or generic") from None


__all__ = ["Profile", "profile_for"]

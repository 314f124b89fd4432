"""Recorded SNMP walks the demo serves with snmpsim (package data)."""

"""Helpers shared by the tests: waiting on conditions, isolated databases, private brokers and SNMP peers."""

"""Adapters that turn the wire (SNMP, MQTT) into rules.Reading values.

collectors/ imports rules/ and its own libraries, never api/ or agent/.
"""

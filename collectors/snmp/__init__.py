"""SNMP collector: polls printers, UPSes and other equipment and turns the answers into Readings."""

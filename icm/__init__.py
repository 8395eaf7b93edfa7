"""Intelligent Contact Management: devices, live calls and CDRs, routing data, the switch driver."""
